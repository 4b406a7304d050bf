"""The map's labels, scale bar and accuracy rings, rendered offscreen: a crowd of callers,
body cams and drones whose labels must neither hide each other nor fall off the edge, a
scale bar as long as the map's own metres per pixel say, and a 10 m ring still seen when
zoomed out. Geometry is read back from the items Qt Quick drew, pixels from the widget's
own grab."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QImage
from PySide6.QtQuick import QQuickItem

from media.live.feed import Feed, FeedKind
from media.telemetry.geo import distance_m, offset
from tests.maps import placed_feed, view_pixel
from widgets.map.labels import Box, Mark, count_text, place_labels, scale_bar
from widgets.map.panel import MapPanel, MapSetup
from widgets.theme import KIND_COLOURS

CENTRE = (53.9590, -1.0815)
SIZE = (460, 520)


def show(qtbot: object, feeds: list[Feed], zoom: float, note: str = "") -> MapPanel:
    panel = MapPanel(lambda: feeds, MapSetup(note=note, centre=CENTRE, zoom=zoom))
    qtbot.addWidget(panel)  # type: ignore[attr-defined]
    panel.resize(*SIZE)
    panel.show()
    qtbot.waitExposed(panel)  # type: ignore[attr-defined]
    return panel


def items(panel: MapPanel) -> Iterator[QQuickItem]:
    """Every item Qt Quick holds in the map's scene, by the visual tree (a Repeater's and
    a MapItemView's delegates are not QObject children of anything one could search)."""
    root = panel.root_object()
    assert isinstance(root, QQuickItem)
    stack = [root]
    while stack:
        item = stack.pop()
        yield item
        stack.extend(item.childItems())


def drawn_labels(panel: MapPanel) -> dict[str, QRectF]:
    """The labels on screen, in the view's pixels, by their object names."""
    root = panel.root_object()
    assert isinstance(root, QQuickItem)
    found = {}
    for item in items(panel):
        if item.objectName().startswith("label:") and item.isVisible():
            corner = item.mapToItem(root, QPointF(0, 0))
            found[item.objectName()] = QRectF(corner.x(), corner.y(), item.width(), item.height())
    return found


def crowd() -> list[Feed]:
    """Three callers, four body cams and a drone within 80 m of each other (the demo's
    York walk), a drone far off and a body cam where the view's right edge cuts a label."""
    feeds = [
        placed_feed("Caller · Priya N", FeedKind.CALLER, *offset(*CENTRE, 20, -30), accuracy_m=17),
        placed_feed("Caller · Ana R", FeedKind.CALLER, *offset(*CENTRE, -40, -60), accuracy_m=6),
        placed_feed("Caller · Tom H", FeedKind.CALLER, *offset(*CENTRE, -15, 25), accuracy_m=21),
    ]
    feeds += [
        placed_feed(f"BWV-45{n}1", FeedKind.BODYCAM, *offset(*CENTRE, 30 - 20 * n, -20 + 25 * n))
        for n in range(4)
    ]
    feeds.append(placed_feed("Drone Alpha", FeedKind.DRONE, *offset(*CENTRE, -10, 10)))
    feeds.append(placed_feed("Drone Bravo", FeedKind.DRONE, *offset(*CENTRE, 200, 450)))
    return feeds


@pytest.mark.parametrize("zoom", [14.0, 15.0, 16.5, 18.0])
def test_crowded_labels_never_overlap_and_stay_inside(qtbot, tmp_path: Path, zoom: float):
    """In: the crowd, and a body cam 4 px from the view's right edge, at ZOOM.
    Out: the labels Qt Quick drew are exactly those placed; no two intersect, none covers
    a marker's dot, all lie inside the view below the tile note; every marker on view is
    named by its own label or counted in a group's ("3 body cams"); each label's text is
    really drawn in the widget's grab."""
    feeds = crowd()
    panel = show(qtbot, feeds, zoom, note="No map tiles configured: a coordinate grid.")
    view = panel.view
    root = panel.root_object()
    assert root is not None
    centre = root.property("mapCentre")
    # Where the right edge is, in degrees: this body cam sits 4 px inside it.
    edge_lon = centre.longitude() + (view.width() / 2 - 4) / (256 * 2**zoom) * 360
    feeds.append(placed_feed("BWV-4999", FeedKind.BODYCAM, centre.latitude(), edge_lon))
    panel.refresh()
    qtbot.waitUntil(lambda: len(drawn_labels(panel)) >= 2, timeout=5000)
    qtbot.wait(200)  # one more frame, so the grab shows what the items say
    labels = drawn_labels(panel)
    placed = panel.bridge.placed_labels
    assert len(labels) == len(placed)
    for label in placed:
        key = "label:" + (label.members[0] if len(label.members) == 1 else label.text)
        box = labels[key]
        assert (box.x(), box.y(), box.width(), box.height()) == pytest.approx(
            (label.box.x, label.box.y, label.box.w, label.box.h), abs=0.5
        )
    rects = list(labels.items())
    for n, (name, rect) in enumerate(rects):
        for other, second in rects[n + 1 :]:
            assert not rect.intersects(second), f"{name} overlaps {other}"
    note = next(item for item in items(panel) if item.objectName() == "tileNote")
    top = note.y() + note.height()
    inside = QRectF(0, top, view.width(), view.height() - top)
    for name, rect in rects:
        assert inside.contains(rect), f"{name} at {rect} is not inside {inside}"
    named: set[str] = set()
    for label in placed:
        named.update(label.members)
        if len(label.members) > 1:
            assert re.fullmatch(
                r"\d+ [a-z ]+( · \d+ [a-z ]+)*|[a-z ]+( \+ [a-z ]+)+", label.text
            ), label.text
    on_view = set()
    for feed in feeds:
        assert feed.location is not None
        at = view_pixel(panel, feed.location.lat, feed.location.lon)
        if 0 <= at.x() < view.width() and top <= at.y() < view.height():
            on_view.add(feed.name)
            for name, rect in rects:
                assert not rect.contains(QPointF(at)), f"{name} covers {feed.name}'s dot"
    assert on_view <= named, f"unnamed: {on_view - named}"
    assert "BWV-4999" in named
    image = panel.view.grabFramebuffer()
    image.save(str(tmp_path / f"map-{zoom}.png"))
    for name, rect in rects:
        assert bright_pixels(image, rect) > 20, f"{name}: no text drawn in {rect}"


def bright_pixels(image: QImage, rect: QRectF) -> int:
    return sum(
        1
        for x in range(int(rect.left()) + 2, int(rect.right()) - 2)
        for y in range(int(rect.top()) + 2, int(rect.bottom()) - 2)
        if image.pixelColor(x, y).lightness() > 150
    )


def test_a_crowd_too_close_to_name_collapses_to_a_count(qtbot):
    """In: five body cams within 10 m of each other at zoom 14 (a few pixels apart).
    Out: one label, "5 body cams", drawn beside them."""
    feeds = [
        placed_feed(f"BWV-46{n}0", FeedKind.BODYCAM, *offset(*CENTRE, 2 * n, 2 * n))
        for n in range(5)
    ]
    panel = show(qtbot, feeds, 14.0)
    qtbot.waitUntil(lambda: "label:5 body cams" in drawn_labels(panel), timeout=5000)
    assert list(drawn_labels(panel)) == ["label:5 body cams"]


def test_the_scale_bar_is_a_round_length_at_the_maps_own_scale(qtbot):
    """In: the map at zoom 15, then 12.6. Out: the bar, bottom left, reads a round length
    (1, 2 or 5 times a power of ten, in m or km) and is that many metres long at the map's
    metres per pixel (measured on the WGS84 ellipsoid across 100 pixels at the centre:
    within 1 %); it is between 40 and 140 pixels long."""
    for zoom in (15.0, 12.6):
        panel = show(qtbot, [], zoom)
        root = panel.root_object()
        assert root is not None
        assert root.property("mapZoom") == pytest.approx(zoom)
        bar = next(item for item in items(panel) if item.objectName() == "scaleBar")
        text = next(item for item in items(panel) if item.objectName() == "scaleText")
        qtbot.waitUntil(lambda t=text, p=panel: t.property("text") == p.bridge.scale.text)
        found = re.fullmatch(r"([125])(0*) (m|km)", text.property("text"))
        assert found, text.property("text")
        metres = int(found.group(1) + found.group(2)) * (1000 if found.group(3) == "km" else 1)
        centre = root.property("mapCentre")
        lat, lon = centre.latitude(), centre.longitude()
        degrees_per_px = 360 / (256 * 2**zoom)
        metres_per_px = distance_m(lat, lon, lat, lon + 100 * degrees_per_px) / 100
        assert bar.width() * metres_per_px == pytest.approx(metres, rel=0.01)
        assert 40 <= bar.width() <= 140
        corner = bar.mapToItem(root, QPointF(0, bar.height()))
        assert corner.x() < 24
        assert panel.view.height() - corner.y() < 48


def ring_pixels(image: QImage, at: tuple[int, int], radius: float, colour: QColor) -> int:
    """How many of 72 points on a circle of `radius` around `at` (checked a pixel either
    side) show something near `colour` (its hue, at least half its saturation)."""
    hits = 0
    for step in range(72):
        angle = math.radians(step * 5)
        for r in (radius - 1, radius, radius + 1):
            x = round(at[0] + r * math.cos(angle))
            y = round(at[1] + r * math.sin(angle))
            if not (0 <= x < image.width() and 0 <= y < image.height()):
                continue
            seen = image.pixelColor(x, y)
            if abs(seen.hslHue() - colour.hslHue()) <= 12 and seen.hslSaturation() > 120:
                hits += 1
                break
    return hits


def test_accuracy_rings_stay_visible_zoomed_out_and_true_zoomed_in(qtbot):
    """In: a caller with a 10 m fix at zoom 12 (38 m a pixel: the true circle is a quarter
    of a pixel), then one with 60 m at zoom 17.5 (0.54 m a pixel). Out: at zoom 12 a ring
    is drawn at the minimum radius around the dot, most of the way round (what a label
    covers aside), and is never smaller than the fix; at zoom 17.5 the ring is the fix's
    true size (111 px), not the minimum."""
    caller = placed_feed("Caller · Sam", FeedKind.CALLER, *CENTRE, accuracy_m=10)
    panel = show(qtbot, [caller], 12.0)
    ring = next(item for item in items(panel) if item.objectName() == "accuracy:Caller · Sam")
    minimum = panel.root_object().property("minRing")  # type: ignore[union-attr]
    assert ring.property("drawnRadius") == minimum
    assert ring.property("drawnRadius") >= ring.property("trueRadius")
    at = view_pixel(panel, *CENTRE)
    orange = KIND_COLOURS[FeedKind.CALLER]
    qtbot.waitUntil(
        lambda: ring_pixels(panel.view.grabFramebuffer(), (at.x(), at.y()), minimum, orange) > 40,
        timeout=5000,
    )

    big = placed_feed("Caller · Lee", FeedKind.CALLER, *CENTRE, accuracy_m=60)
    panel = show(qtbot, [big], 17.5)
    ring = next(item for item in items(panel) if item.objectName() == "accuracy:Caller · Lee")
    true_px = 60 / (40075016.686 * math.cos(math.radians(CENTRE[0])) / (256 * 2**17.5))
    assert ring.property("drawnRadius") == pytest.approx(true_px, rel=0.001)
    at = view_pixel(panel, *CENTRE)
    qtbot.waitUntil(
        lambda: ring_pixels(panel.view.grabFramebuffer(), (at.x(), at.y()), true_px, orange) > 40,
        timeout=5000,
    )
    assert ring_pixels(panel.view.grabFramebuffer(), (at.x(), at.y()), minimum, orange) < 10


def test_placing_labels_geometry():
    """In: plain marks. Out: a lone mark's label goes east of it; at the right edge, west;
    two marks on one spot get one label each or a count; a count says kinds in words."""
    width = lambda text: 7.0 * len(text)  # noqa: E731
    area = Box(0, 0, 400, 300)
    (east,) = place_labels([Mark("A", "drone", 100, 100, "Drone A")], area, width)
    assert east.box.x > 100
    assert abs(east.box.y + east.box.h / 2 - 100) < 1
    (west,) = place_labels([Mark("B", "drone", 396, 100, "Drone B")], area, width)
    assert west.box.right < 396
    assert count_text(["bodycam"] * 3) == "3 body cams"
    assert count_text(["bodycam", "drone", "bodycam"]) == "2 body cams · 1 drone"
    assert count_text(["drone", "caller"]) == "caller + drone"
    assert scale_bar(2.8).text == "200 m"
    assert scale_bar(38.0).text == "5 km"
    assert scale_bar(38.0).pixels == pytest.approx(5000 / 38.0)

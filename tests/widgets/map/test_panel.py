"""The map panel, rendered offscreen: tiles and markers where Web Mercator puts them.

The tiles come from an MBTiles file the test draws (tests/maps.py), served by Vigil's own
loopback tile server, so the whole path from file to pixel is the real one.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest

from app.map.tile_server import TileServer
from app.map.tiles import MBTiles
from media.live.feed import Feed, FeedKind, Location
from media.telemetry.geo import bearing_deg, distance_m, offset, world_pixel
from media.telemetry.klv import DroneTelemetry
from tests.maps import colour_close, make_mbtiles, placed_feed, tile_colour, view_pixel
from widgets.map.markers import FADED_OPACITY, TRAIL_S, fix_age_text, fix_opacity
from widgets.map.panel import MapPanel, MapSetup
from widgets.theme import KIND_COLOURS

CENTRE = (53.9590, -1.0815)
ZOOM = 15
SIZE = (720, 540)


def grab(panel: MapPanel) -> QImage:
    return panel.view.grabFramebuffer()


@pytest.fixture
def tiles(qapp: object, tmp_path: Path) -> Iterator[TileServer]:
    server = TileServer(MBTiles(make_mbtiles(tmp_path / "county.mbtiles", CENTRE, range(14, 17))))
    server.start()
    yield server
    server.close()


def show(qtbot: object, feeds: list[Feed], setup: MapSetup) -> MapPanel:
    panel = MapPanel(lambda: feeds, setup)
    qtbot.addWidget(panel)  # type: ignore[attr-defined]
    panel.resize(*SIZE)
    panel.show()
    qtbot.waitExposed(panel)  # type: ignore[attr-defined]
    return panel


def test_tiles_and_markers_land_where_web_mercator_puts_them(qtbot, tiles, tmp_path):
    """In: an MBTiles file of coloured tiles around York served on loopback; a caller, a body
    cam and a drone at known coordinates a few hundred metres apart; the map centred on York
    at zoom 15. Out: the pixel under each coordinate is its marker's kind colour, and open
    map shows the colour of exactly the tile Web Mercator says lies there."""
    caller = placed_feed(
        "Caller · Priya", FeedKind.CALLER, *offset(*CENTRE, 250, -300), accuracy_m=8
    )
    officer = placed_feed("BWV-4521", FeedKind.BODYCAM, *offset(*CENTRE, -200, 150))
    drone = placed_feed("Drone Alpha", FeedKind.DRONE, *offset(*CENTRE, 120, 350), heading_deg=90)
    setup = MapSetup(tile_url=tiles.url, centre=CENTRE, zoom=ZOOM, cache_dir=tmp_path / "qt")
    panel = show(qtbot, [caller, officer, drone], setup)

    # Open map, away from every marker: the south-west quarter of the view.
    probe_lat, probe_lon = offset(*CENTRE, -150, -400)
    probe = view_pixel(panel, probe_lat, probe_lon)
    x, y = (int(v // 256) for v in world_pixel(probe_lat, probe_lon, ZOOM))
    want_tile = tile_colour(ZOOM, x, y)
    qtbot.waitUntil(lambda: colour_close(grab(panel).pixelColor(probe), want_tile), timeout=10_000)

    image = grab(panel)
    for f in (caller, officer, drone):
        assert f.location is not None
        at = view_pixel(panel, f.location.lat, f.location.lon)
        assert colour_close(image.pixelColor(at), KIND_COLOURS[f.kind]), (
            f"{f.name}: {image.pixelColor(at).name()} at {at}, want {KIND_COLOURS[f.kind].name()}"
        )
    assert tiles.status()["served"] > 0
    assert tiles.status()["refused"] == 0


def test_no_tiles_draws_a_labelled_grid_and_says_so(qtbot):
    """In: no tile source. Out: the panel says so in words, draws grid lines at round
    latitudes (each found line lies within a pixel of a multiple of 0.001°), and markers are
    still drawn where they belong."""
    note = "No map tiles configured: a coordinate grid stands in."
    officer = placed_feed("BWV-4533", FeedKind.BODYCAM, *offset(*CENTRE, 90, 60))
    panel = show(qtbot, [officer], MapSetup(note=note, centre=CENTRE, zoom=ZOOM))
    root = panel.root_object()
    assert root is not None
    banner = root.findChild(QObject, "tileNote")
    assert banner is not None
    assert banner.property("visible") is True
    assert panel.bridge.tileNote == note
    background = QColor("#1a1f26")
    x = 300  # a column clear of the labels

    def line_rows() -> list[float]:
        """Centres of the horizontal lines crossing column x (antialiased over two rows)."""
        image = grab(panel)
        weights = [
            (y, image.pixelColor(x, y).lightness() - background.lightness())
            for y in range(60, image.height() - 30)
        ]
        lines: list[list[tuple[int, int]]] = []
        for y, w in weights:
            if w > 4:
                if lines and lines[-1][-1][0] == y - 1:
                    lines[-1].append((y, w))
                else:
                    lines.append([(y, w)])
        return [sum((y + 0.5) * w for y, w in run) / sum(w for _, w in run) for run in lines]

    qtbot.waitUntil(lambda: len(line_rows()) >= 3, timeout=10_000)
    rows = line_rows()
    image = grab(panel)
    world = 256 * 2**ZOOM
    _, cy = world_pixel(*CENTRE, ZOOM)
    px_per_degree = world / 360 / math.cos(math.radians(CENTRE[0]))
    for y in rows:
        world_y = cy + y - panel.view.height() / 2
        lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * world_y / world))))
        nearest = round(lat / 0.001) * 0.001
        assert abs(lat - nearest) * px_per_degree <= 1.0, f"line at y={y:.1f} is {lat:.5f}°"
    at = view_pixel(panel, officer.location.lat, officer.location.lon)  # type: ignore[union-attr]
    assert colour_close(image.pixelColor(at), KIND_COLOURS[FeedKind.BODYCAM])


def test_tapping_a_marker_names_its_feed_and_tapping_the_map_measures(qtbot, tiles):
    """In: a tap on the drone's marker, then a tap on open map with the drone selected.
    Out: `feed_clicked` names the drone; the measure line reads the distance and bearing
    media/geo computes from the tapped point to the drone (to the metre and degree)."""
    drone = placed_feed("Drone Bravo", FeedKind.DRONE, *offset(*CENTRE, 100, 100))
    panel = show(qtbot, [drone], MapSetup(tile_url=tiles.url, centre=CENTRE, zoom=ZOOM))
    at = view_pixel(panel, drone.location.lat, drone.location.lon)  # type: ignore[union-attr]
    qtbot.waitUntil(
        lambda: colour_close(grab(panel).pixelColor(at), KIND_COLOURS[FeedKind.DRONE]),
        timeout=10_000,
    )
    with qtbot.waitSignal(panel.feed_clicked, timeout=3000) as clicked:
        QTest.mouseClick(panel.view, Qt.MouseButton.LeftButton, pos=at)
    assert clicked.args == ["Drone Bravo"]

    panel.select("Drone Bravo")  # selecting a feed brings it to the middle of the map
    fix = drone.location
    assert fix is not None
    middle = QPoint(panel.view.width() // 2, panel.view.height() // 2)
    qtbot.waitUntil(
        lambda: colour_close(grab(panel).pixelColor(middle), KIND_COLOURS[FeedKind.DRONE]),
        timeout=3000,
    )
    tap = QPoint(middle.x() - 200, middle.y() + 150)
    QTest.mouseClick(panel.view, Qt.MouseButton.LeftButton, pos=tap)
    qtbot.waitUntil(lambda: panel.measure_text.startswith("To Drone Bravo"), timeout=3000)
    # The tapped point, back from pixels through Web Mercator around the drone.
    cx, cy = world_pixel(fix.lat, fix.lon, ZOOM)
    world = 256 * 2**ZOOM
    lon = (cx + tap.x() - middle.x()) / world * 360 - 180
    wy = cy + tap.y() - middle.y()
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * wy / world))))
    metres = distance_m(lat, lon, fix.lat, fix.lon)
    bearing = bearing_deg(lat, lon, fix.lat, fix.lon)
    found = re.fullmatch(r"To Drone Bravo: (\d+) m, bearing (\d{3})°", panel.measure_text)
    assert found, panel.measure_text
    assert abs(int(found.group(1)) - metres) <= 3  # within a pixel (2.8 m at zoom 15)
    assert abs(int(found.group(2)) - bearing) <= 1
    panel.clear_measure()
    assert panel.measure_text == ""


def test_follow_keeps_the_selected_feed_in_the_middle(qtbot):
    """In: "Follow selected" on, a body cam selected, then its position moves 300 m east.
    Out: after the next refresh the map's centre is the new position."""
    officer = placed_feed("BWV-4607", FeedKind.BODYCAM, *CENTRE)
    panel = show(qtbot, [officer], MapSetup(centre=CENTRE, zoom=ZOOM))
    panel.select("BWV-4607")
    panel.set_following(True)
    moved = offset(*CENTRE, 0, 300)
    officer.location = Location(*moved, 5.0, time.time())
    panel.refresh()
    root = panel.root_object()
    assert root is not None

    def centre() -> tuple[float, float]:
        c = root.property("mapCentre")
        return c.latitude(), c.longitude()

    qtbot.waitUntil(lambda: distance_m(*centre(), *moved) < 1.0, timeout=3000)
    middle = QPoint(panel.view.width() // 2, panel.view.height() // 2)
    qtbot.waitUntil(
        lambda: colour_close(grab(panel).pixelColor(middle), KIND_COLOURS[FeedKind.BODYCAM]),
        timeout=3000,
    )


def test_trail_keeps_ten_minutes_and_fixes_fade_after_thirty_seconds(qtbot):
    """In: a walker's fixes every 30 s for 15 minutes (and one 1 m jitter fix).
    Out: the trail holds only the last 10 minutes' fixes, skips the jitter; a fix fades
    from full at 30 s to FADED_OPACITY at 5 minutes, and its age reads in seconds then
    minutes."""
    from widgets.map.markers import MarkerModel

    walker = placed_feed("Caller · Tom", FeedKind.CALLER, *CENTRE, accuracy_m=10)
    model = MarkerModel()
    start = 1_000_000.0
    for n in range(31):
        lat, lon = offset(*CENTRE, n * 40.0, 0)
        walker.location = Location(lat, lon, 10.0, start + n * 30)
        model.refresh([walker], now=start + n * 30)
    jitter = offset(*CENTRE, 30 * 40.0 + 1.0, 0)
    walker.location = Location(*jitter, 10.0, start + 30 * 30 + 5)
    model.refresh([walker], now=start + 30 * 30 + 5)
    trail = model.trail_of("Caller · Tom")
    assert trail[0][0] >= start + 30 * 30 + 5 - TRAIL_S
    # Fixes at 330 s .. 900 s are within 10 minutes of 905 s; the 1 m jitter adds none.
    assert [t - start for t, _, _ in trail] == [30.0 * n for n in range(11, 31)]
    assert fix_opacity(10) == 1.0
    assert fix_opacity(30) == 1.0
    assert FADED_OPACITY < fix_opacity(120) < 1.0
    assert fix_opacity(300) == FADED_OPACITY
    assert fix_opacity(3600) == FADED_OPACITY
    assert [fix_age_text(a) for a in (4.4, 59, 61, 7200)] == ["4 s", "59 s", "1 min", "2.0 h"]


def test_drone_footprint_and_frame_centre_come_from_telemetry(qtbot):
    """In: a drone whose telemetry gives a frame centre and four ground corners.
    Out: the marker model carries them for the map; a body cam carries none."""
    from widgets.map.markers import MarkerModel

    drone = placed_feed("Drone Alpha", FeedKind.DRONE, *CENTRE, heading_deg=45)
    corners = ((53.961, -1.083), (53.961, -1.080), (53.958, -1.080), (53.958, -1.083))
    drone.telemetry = DroneTelemetry(
        heading_deg=45.0, frame_centre_lat=53.9595, frame_centre_lon=-1.0815, corners=corners
    )
    officer = placed_feed("BWV-4718", FeedKind.BODYCAM, *offset(*CENTRE, 50, 50))
    model = MarkerModel()
    model.refresh([drone, officer])
    roles = {bytes(v).decode(): k for k, v in model.roleNames().items()}
    drone_row, officer_row = model.index(0, 0), model.index(1, 0)
    footprint = model.data(drone_row, roles["footprint"])
    assert [(c.latitude(), c.longitude()) for c in footprint] == list(corners)
    centre = model.data(drone_row, roles["frameCentre"])
    assert (centre.latitude(), centre.longitude()) == (53.9595, -1.0815)
    assert model.data(drone_row, roles["heading"]) == 45.0
    assert model.data(officer_row, roles["footprint"]) == []
    assert not model.data(officer_row, roles["frameCentre"]).isValid()
    assert model.data(officer_row, roles["heading"]) == -1.0

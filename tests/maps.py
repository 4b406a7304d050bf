"""Map material the tests make themselves (MBTiles files whose tiles are drawn with
QPainter), and the helpers that read a rendered map back.

Each tile is filled with a colour computed from its (zoom, x, y), carries its address as
text and a one-pixel border, so a rendered map can be checked pixel by pixel: the colour
under a point says which tile the map drew there.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint
from PySide6.QtGui import QColor, QImage, QPainter

from media.live.feed import Feed, FeedKind, FeedSpec, Location
from media.telemetry.geo import tile_of, world_pixel
from widgets.map.panel import MapPanel
from widgets.theme import KIND_COLOURS

TILE = 256


def tile_colour(zoom: int, x: int, y: int) -> QColor:
    """A colour unique enough per tile, and far from every marker colour (pale and bluish)."""
    return QColor(40 + (x * 37 + zoom * 11) % 60, 60 + (y * 53) % 60, 150 + (x + y) % 60)


def tile_png(zoom: int, x: int, y: int) -> bytes:
    image = QImage(TILE, TILE, QImage.Format.Format_RGB32)
    image.fill(tile_colour(zoom, x, y))
    painter = QPainter(image)
    painter.setPen(QColor("#ffffff"))
    painter.drawText(12, 24, f"{zoom}/{x}/{y}")
    painter.setPen(QColor("#20252c"))
    painter.drawRect(0, 0, TILE - 1, TILE - 1)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # PySide6 takes str here
    return bytes(data.data())


def make_mbtiles(
    path: Path,
    centre: tuple[float, float],
    zooms: range = range(12, 17),
    radius: int = 3,
    *,
    name: str = "Test county",
    fmt: str = "png",
) -> Path:
    """An MBTiles file covering `radius` tiles around `centre` at each zoom (TMS rows)."""
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE metadata (name TEXT, value TEXT);"
        "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,"
        " tile_data BLOB);"
        "CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);"
    )
    lat, lon = centre
    db.executemany(
        "INSERT INTO metadata VALUES (?, ?)",
        [
            ("name", name),
            ("format", fmt),
            ("minzoom", str(zooms.start)),
            ("maxzoom", str(zooms.stop - 1)),
            ("center", f"{lon},{lat},{zooms.start + len(zooms) // 2}"),
            ("attribution", "Test tiles drawn by the suite"),
        ],
    )
    for zoom in zooms:
        cx, cy = tile_of(lat, lon, zoom)
        for x in range(cx - radius, cx + radius + 1):
            for y in range(cy - radius, cy + radius + 1):
                row = (1 << zoom) - 1 - y
                db.execute(
                    "INSERT INTO tiles VALUES (?, ?, ?, ?)", (zoom, x, row, tile_png(zoom, x, y))
                )
    db.commit()
    db.close()
    return path


# -- reading a rendered map back -----------------------------------------------------------


def placed_feed(name: str, kind: FeedKind, lat: float, lon: float, **fix: Any) -> Feed:
    """A feed (no source) whose latest fix is (lat, lon), taken now."""
    feed = Feed(FeedSpec(name, kind, "udp://127.0.0.1:9"))
    accuracy = fix.pop("accuracy_m", None)
    feed.location = Location(lat, lon, accuracy, time.time(), **fix)
    return feed


def view_pixel(panel: MapPanel, lat: float, lon: float) -> QPoint:
    """Where Web Mercator puts (lat, lon) in the panel's map view, from the map's own
    centre and zoom."""
    root = panel.root_object()
    assert root is not None
    centre, zoom = root.property("mapCentre"), root.property("mapZoom")
    cx, cy = world_pixel(centre.latitude(), centre.longitude(), zoom)
    px, py = world_pixel(lat, lon, zoom)
    view = panel.view
    return QPoint(round(view.width() / 2 + px - cx), round(view.height() / 2 + py - cy))


def colour_close(a: QColor, b: QColor, tolerance: int = 6) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a.getRgb()[:3], b.getRgb()[:3], strict=True))


def shows_kind(panel: MapPanel, at: QPoint, kind: FeedKind) -> bool:
    """The map view shows the kind's marker colour at `at`."""
    return colour_close(panel.view.grabFramebuffer().pixelColor(at), KIND_COLOURS[kind])

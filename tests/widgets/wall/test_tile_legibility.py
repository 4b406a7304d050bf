"""Text on a tile is legible from a wall's viewing distance (issue 14, item 12): measured on
the fonts the tile paints with, at the sizes a 3x3 wall on a 1080p screen gives it, and on
the pixels it paints."""

import numpy as np
import pytest
from PySide6.QtGui import QFontMetricsF
from pytestqt.qtbot import QtBot

from media.live.feed import Connection, Feed, FeedKind, FeedSpec, FeedState
from tests.pictures import solid_picture
from widgets.wall.tile import HEADER_H, TEXT_PT, Tile


@pytest.fixture
def wall_cell(qtbot: QtBot) -> Tile:
    """A tile the size of one cell of a 3x3 wall filling a 1920x1080 screen."""
    feed = Feed(FeedSpec("Cam 7 Market St", FeedKind.CAMERA, "udp://127.0.0.1:9"))
    feed.set_connection(Connection(FeedState.LIVE))
    tile = Tile(feed)
    tile.resize(640, 360)
    qtbot.addWidget(tile)
    tile.show()
    qtbot.waitExposed(tile)
    return tile


def cap_px(tile: Tile, role: str) -> float:
    return QFontMetricsF(tile._font(tile.text_points(role), bold=True)).capHeight()


def test_a_3x3_cells_name_and_state_have_capitals_a_wall_can_read(wall_cell: Tile) -> None:
    """In: a live camera's tile at 640x360 (a 3x3 wall on 1080p). Out: the name's capitals
    are at least 14 px tall, the state's and the kind badge's at least 12, the footer's
    (size, codec, delay; GPS) at least 11; the header bar holds the state pill's line."""
    assert cap_px(wall_cell, "name") >= 14
    assert cap_px(wall_cell, "state") >= 12
    assert cap_px(wall_cell, "badge") >= 12
    assert cap_px(wall_cell, "footer") >= 11
    scale = wall_cell.height() / 300
    pill_line = QFontMetricsF(wall_cell._font(wall_cell.text_points("state"), bold=True)).height()
    assert round(HEADER_H * scale) - round(8 * scale) >= pill_line - 1


def test_the_text_grows_and_shrinks_with_the_tile(qtbot: QtBot, wall_cell: Tile) -> None:
    """In: the same tile at 480x270 (4x4 on 1080p) and at 960x540 (2x2). Out: every text's
    size follows the tile's height, in the same proportions as at 640x360."""
    at_360 = {role: wall_cell.text_points(role) for role in TEXT_PT}
    wall_cell.resize(480, 270)
    small = {role: wall_cell.text_points(role) for role in TEXT_PT}
    wall_cell.resize(960, 540)
    big = {role: wall_cell.text_points(role) for role in TEXT_PT}
    for role in TEXT_PT:
        assert small[role] < at_360[role] < big[role]
        assert small[role] / at_360[role] == pytest.approx(270 / 360)


def test_the_painted_name_is_as_tall_as_its_font_says(wall_cell: Tile) -> None:
    """In: the tile at 640x360 over a black picture. Out: in the header bar, the rows
    holding the name's light text span at least 14 px (its capitals, painted)."""
    wall_cell.feed.slot.put(solid_picture(640, 360, (0, 0, 0)))
    image = wall_cell.grab().toImage()
    bar = round(HEADER_H * wall_cell.height() / 300)
    pixels = np.array(
        [[image.pixelColor(x, y).lightness() for x in range(160, 420)] for y in range(bar)]
    )
    rows = np.nonzero((pixels > 200).any(axis=1))[0]
    assert rows.size
    assert rows[-1] - rows[0] + 1 >= 14

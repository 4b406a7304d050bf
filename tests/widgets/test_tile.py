"""A tile paints its feed's picture, and makes trouble (stalled, reconnecting) obvious."""

import sys
import time

import numpy as np
import pytest
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from media.feed import Connection, Feed, FeedKind, FeedSpec, FeedState
from tests.pictures import solid_picture
from widgets.tile import Tile


def grab_array(tile: Tile) -> np.ndarray:
    image = tile.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    width, height = image.width(), image.height()
    data = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    # Copied: the view would outlive the QImage that owns the memory.
    return data.reshape(height, image.bytesPerLine() // 4, 4)[:, :width, :3].copy()  # BGR


@pytest.fixture
def tile(qtbot: QtBot) -> Tile:
    feed = Feed(FeedSpec("BWV-4521", FeedKind.BODYCAM, "udp://127.0.0.1:9"))
    widget = Tile(feed)
    widget.resize(480, 270)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_tile_asks_for_pictures_at_its_own_size(tile: Tile) -> None:
    assert tile.feed.display_size == (480, 270)
    tile.hide()
    assert tile.feed.display_size == (0, 0), "a hidden tile costs no colour conversion"


def test_live_picture_is_painted_centre_and_counted(tile: Tile) -> None:
    """A pure green 480x270 picture goes in the slot; the middle of the tile shows green."""
    tile.feed.set_connection(Connection(FeedState.LIVE))
    tile.feed.stats.on_frame(480, 270, 0.001, time.monotonic())
    tile.feed.slot.put(solid_picture(480, 270, (0, 200, 0)))
    tile.refresh(time.monotonic())
    pixels = grab_array(tile)
    b, g, r = pixels[135, 240]
    assert (b, g, r) == (0, 200, 0)
    assert tile.painted_frames == 1


def test_stalled_feed_dims_its_last_picture(tile: Tile) -> None:
    feed = tile.feed
    feed.set_connection(Connection(FeedState.LIVE))
    feed.stats.on_frame(480, 270, 0.001, time.monotonic())
    feed.slot.put(solid_picture(480, 270, (0, 200, 0)))
    tile.refresh(time.monotonic())
    live = grab_array(tile)[200, 60].astype(int)
    feed.stats.last_frame_at = time.monotonic() - 4.2  # nothing for 4.2 s
    assert feed.state() is FeedState.STALLED
    tile.refresh(time.monotonic() + 1)
    stalled = grab_array(tile)[200, 60].astype(int)
    assert stalled[1] < live[1] * 0.6, "the last picture is dimmed"


def test_reconnecting_without_picture_shows_text(tile: Tile) -> None:
    """No picture and RECONNECTING: the tile is not blank, it carries (red) text."""
    tile.feed.set_connection(
        Connection(FeedState.RECONNECTING, "Connection refused", time.monotonic() + 2)
    )
    tile.refresh(time.monotonic() + 1)
    pixels = grab_array(tile)
    red_text = (pixels[:, :, 2] > 180) & (pixels[:, :, 1] < 90)
    assert red_text[60:220].sum() > 100


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12 on")
def test_painting_keeps_none_alive(tile: Tile) -> None:
    """PySide6 6.12.0 dropped a reference to None on each QPainter call, aborting 3.11 at
    exit; a few hundred paints must leave None's count where it was (allowing noise)."""
    tile.feed.set_connection(Connection(FeedState.LIVE))
    before = sys.getrefcount(None)
    for i in range(300):
        tile.feed.slot.put(solid_picture(480, 270, (i % 255, 0, 0), i))
        tile.refresh(time.monotonic())
        tile.repaint()
    assert sys.getrefcount(None) - before > -50

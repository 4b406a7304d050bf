"""Sub-streams on the real wall (offscreen), fed by real cameras on loopback sending a
640x360 main and a 320x180 sub-stream (tests/media/live/substreams.py): small tiles say SUB
and show the sub-stream; spotlight and a layout with a big cell switch that tile to the main
stream and back, and the pictures the tile paints across each switch are never black and
never jump in time; a bad sub-stream is said on the tile, which shows the main."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
from pytestqt.qtbot import QtBot

from media.live.feed import Decoding, Feed, FeedKind, FeedSpec, StreamRole
from media.live.slot import Picture
from media.live.source import FeedSource
from tests.media.live.substreams import Camera, frame_number, is_black
from widgets.wall.tile import Tile
from widgets.wall.wall import Wall

pytestmark = pytest.mark.network

WALL = (560, 300)
"""2x2 cells of 278x148: the 180-line sub-stream fills them, even coming from the main
(148 is under 90% of 180, past the hysteresis); spotlit, 300 lines need the main."""


@pytest.fixture
def cameras() -> Iterator[list[Camera]]:
    cams = [Camera(name=f"CAM {i}").start() for i in range(2)]
    yield cams
    for cam in cams:
        cam.stop()


@pytest.fixture
def wall(
    qtbot: QtBot, cameras: list[Camera], start_feed: Callable[..., FeedSource]
) -> Iterator[Wall]:
    feeds = [
        start_feed(FeedSpec(f"CAM {i}", FeedKind.CAMERA, cam.url, substream_url=cam.sub_url)).feed
        for i, cam in enumerate(cameras)
    ]
    widget = Wall(feeds, layout="2x2")
    qtbot.addWidget(widget)
    widget.resize(*WALL)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.close()


class Painted:
    """The pictures one tile paints, in order (its paint observer)."""

    def __init__(self, tile: Tile) -> None:
        self.pictures: list[Picture] = []
        tile.paint_observer = self._on_paint

    def _on_paint(self, feed: Feed, picture: Picture, painted_at: float) -> None:
        self.pictures.append(picture)


def showing(tile: Tile, painted: Painted, role: StreamRole) -> Callable[[], bool]:
    """The tile paints the stream's pictures and says so (SUB or not) in its stats line."""
    height = 180 if role is StreamRole.SUB else 360

    def check() -> bool:
        last = painted.pictures[-1] if painted.pictures else None
        return (
            tile.feed.stream is role
            and tile.stats_line().startswith("SUB") == (role is StreamRole.SUB)
            and last is not None
            and last.source_height == height
        )

    return check


def assert_no_break(pictures: list[Picture], what: str) -> None:
    """Never black; frame numbers never go back, and never jump by as much as half a
    key-frame interval (a break would cost up to a whole one, 15 frames)."""
    assert pictures, f"nothing painted {what}"
    assert not any(is_black(p) for p in pictures), f"a black picture {what}"
    numbers = [frame_number(p) for p in pictures]
    steps = [b - a for a, b in itertools.pairwise(numbers)]
    assert all(0 <= step <= 7 for step in steps), f"frame numbers {what}: {numbers}"


def test_spotlight_switches_to_the_main_and_back_with_no_break(qtbot: QtBot, wall: Wall) -> None:
    """In: two cameras on a 2x2 wall of 278x148 cells; the first spotlit, then the
    spotlight left. Out: both tiles first show their sub-stream and say SUB; spotlit, the
    first shows the main stream (its stats line without SUB) and the hidden second decodes
    its sub-stream's key frames only; back in its cell, the first shows the sub again. The
    pictures the first tile paints across both switches are never black and never jump."""
    first, second = wall.tiles
    painted, painted_second = Painted(first), Painted(second)
    qtbot.waitUntil(showing(first, painted, StreamRole.SUB), timeout=20_000)
    qtbot.waitUntil(showing(second, painted_second, StreamRole.SUB), timeout=20_000)

    mark = len(painted.pictures)
    wall.set_spotlight(first)
    qtbot.waitUntil(showing(first, painted, StreamRole.MAIN), timeout=10_000)
    assert second.feed.decoding is Decoding.KEY_FRAMES
    assert second.feed.stream is StreamRole.SUB
    count = len(painted.pictures)
    qtbot.waitUntil(lambda: len(painted.pictures) >= count + 10, timeout=10_000)
    assert_no_break(painted.pictures[mark:], "switching to the main on spotlight")

    mark = len(painted.pictures)
    wall.set_spotlight(None)
    qtbot.waitUntil(showing(first, painted, StreamRole.SUB), timeout=10_000)
    count = len(painted.pictures)
    qtbot.waitUntil(lambda: len(painted.pictures) >= count + 10, timeout=10_000)
    assert_no_break(painted.pictures[mark:], "switching back to the sub")


def test_a_layout_with_a_big_cell_feeds_it_the_main(qtbot: QtBot, wall: Wall) -> None:
    """In: the 2x2 wall switched to "1+5" (a big cell of 371x198 and small ones), then
    back to 2x2. Out: the tile in the big cell shows the main stream, the small one its
    sub-stream; back in 2x2 both show their sub-streams; the big cell's tile paints no
    black picture and no jump across either switch."""
    first, second = wall.tiles
    painted, painted_second = Painted(first), Painted(second)
    qtbot.waitUntil(showing(first, painted, StreamRole.SUB), timeout=20_000)
    qtbot.waitUntil(showing(second, painted_second, StreamRole.SUB), timeout=20_000)

    mark = len(painted.pictures)
    wall.set_layout("1+5")
    qtbot.waitUntil(showing(first, painted, StreamRole.MAIN), timeout=10_000)
    qtbot.waitUntil(showing(second, painted_second, StreamRole.SUB), timeout=10_000)
    wall.set_layout("2x2")
    qtbot.waitUntil(showing(first, painted, StreamRole.SUB), timeout=10_000)
    count = len(painted.pictures)
    qtbot.waitUntil(lambda: len(painted.pictures) >= count + 10, timeout=10_000)
    assert_no_break(painted.pictures[mark:], "switching on a layout change")


def test_a_bad_sub_stream_is_said_on_the_tile_which_shows_the_main(
    qtbot: QtBot, start_feed: Callable[..., FeedSource]
) -> None:
    """In: a camera whose sub-stream is 4:3 for its 16:9 main, alone on a small wall the
    sub would fill. Out: the tile says in a line of its own that the sub-stream is not used
    and why, shows the main stream's pictures and does not say SUB."""
    camera = Camera(sub_size=(320, 240)).start()
    try:
        feed = start_feed(
            FeedSpec("CAM", FeedKind.CAMERA, camera.url, substream_url=camera.sub_url)
        ).feed
        wall = Wall([feed], layout="2x2")
        qtbot.addWidget(wall)
        wall.resize(*WALL)
        wall.show()
        tile = wall.tiles[0]
        painted = Painted(tile)
        qtbot.waitUntil(lambda: tile.substream_line() is not None, timeout=20_000)
        assert tile.substream_line() == (
            "Sub-stream not used: 320×240 is another shape than the main 640×360"
        )
        qtbot.waitUntil(showing(tile, painted, StreamRole.MAIN), timeout=10_000)
        wall.close()
    finally:
        camera.stop()

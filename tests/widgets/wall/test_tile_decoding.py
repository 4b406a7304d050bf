"""What a tile asks its feed to decode (Feed.decoding): every frame while it is on view,
key frames only while it is hidden (behind a spotlight, past the layout's cells, taken off)
or shuttered, on the real Wall with real tiles on the offscreen platform."""

from __future__ import annotations

from media.live import Decoding, Feed, FeedKind, FeedSpec
from widgets.wall import Wall


def feeds(count: int) -> list[Feed]:
    return [
        Feed(FeedSpec(f"Cam-{i}", FeedKind.CAMERA, f"udp://127.0.0.1:{9000 + i}"))
        for i in range(count)
    ]


def test_on_view_all_hidden_key_frames_shuttered_key_frames(qtbot) -> None:
    """In: a 2x2 wall of five feeds (one past the layout's four cells), shown; then the first
    spotlit; then the spotlight left and the second shuttered; then the third taken off.
    Out: the four in cells decode all, the fifth key frames; under the spotlight only the
    spotlit one decodes all; a shuttered tile's feed decodes key frames, the others all
    again; a feed taken off the wall decodes key frames."""
    shown = feeds(5)
    wall = Wall(shown, layout="2x2")
    qtbot.addWidget(wall)
    wall.resize(800, 600)
    wall.show()
    qtbot.waitExposed(wall)
    assert [f.decoding for f in shown] == [Decoding.ALL] * 4 + [Decoding.KEY_FRAMES]

    wall.set_spotlight(wall.tiles[0])
    assert [f.decoding for f in shown] == [Decoding.ALL] + [Decoding.KEY_FRAMES] * 4

    wall.set_spotlight(None)
    wall.tiles[1].set_shutter(("BWV-1", "closed"))
    assert [f.decoding for f in shown] == [
        Decoding.ALL,
        Decoding.KEY_FRAMES,
        Decoding.ALL,
        Decoding.ALL,
        Decoding.KEY_FRAMES,
    ]

    wall.remove_feed(shown[2])
    assert shown[2].decoding is Decoding.KEY_FRAMES

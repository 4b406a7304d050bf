"""How much a feed's source decodes (`Feed.decoding`): every frame, key frames only, or
nothing, against a real looping H.264 file. A feed that decodes nothing is still live on
its packets (they go on to the recorder before any decoding, media/live/source.py)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from media.live.feed import Decoding, Feed, FeedKind, FeedSpec, FeedState
from media.live.source import FeedSource
from tests.servers import wait_for

FPS, GOP = 25, 25


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four seconds of 160x120 H.264 at 25 fps with a key frame every second."""
    path = tmp_path_factory.mktemp("decoding") / "clip.ts"
    with av.open(str(path), "w", format="mpegts") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        video.codec_context.options = {"preset": "ultrafast", "g": str(GOP), "keyint_min": str(GOP)}
        for i in range(4 * FPS):
            picture = np.full((120, 160, 3), (i * 9) % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
    return path


def start(clip: Path, decoding: Decoding) -> tuple[Feed, FeedSource]:
    feed = Feed(FeedSpec("Cam", FeedKind.CAMERA, str(clip), loop=True))
    feed.decoding = decoding
    feed.set_display_size(160, 120)
    source = FeedSource(feed)
    source.start()
    return feed, source


def test_a_feed_decoding_nothing_is_live_on_its_packets(clip: Path) -> None:
    """In: the clip looping with decoding "none". Out: 50+ packets arrive (bitrate counted),
    the feed is live, and not one frame is decoded or put in the slot."""
    feed, source = start(clip, Decoding.NONE)
    try:
        wait_for(lambda: feed.state() is FeedState.LIVE, 10, "the feed to be live")
        wait_for(lambda: feed.stats.bitrate_bps > 0, 10, "packets to be counted")
        packets_then = feed.stats.last_packet_at
        wait_for(lambda: feed.stats.last_packet_at != packets_then, 10, "more packets")
        assert feed.stats.frames == 0
        assert feed.slot.peek() is None
        assert feed.state() is FeedState.LIVE
    finally:
        source.stop()


def test_key_frames_only_then_every_frame_again(clip: Path) -> None:
    """In: the clip looping with decoding "key frames" until 3 frames are decoded, then
    "all". Out: while on key frames, frames decoded grow by one a second (one per GOP: after
    3 s of packets there are at most 4 frames, not 75); after the switch, frames come at
    the stream's rate (25 more within a few seconds) and the picture is in the slot."""
    feed, source = start(clip, Decoding.KEY_FRAMES)
    try:
        wait_for(lambda: feed.stats.frames >= 3, 15, "three key frames decoded")
        assert feed.stats.frames <= 4, feed.stats.frames
        feed.decoding = Decoding.ALL
        then = feed.stats.frames
        wait_for(lambda: feed.stats.frames >= then + 25, 15, "frames at the stream's rate")
        assert feed.slot.peek() is not None
        assert feed.state() is FeedState.LIVE
    finally:
        source.stop()

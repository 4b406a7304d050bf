"""A feed with a sub-stream, against a real camera on loopback (tests/media/live/substreams.py:
a 640x360 main and a 320x180 sub-stream of the same pictures, H.264 in MPEG-TS over UDP):
which stream feeds the pictures at each size, what is decoded of each, that switching
shows no black picture and no jump in time, that the main stream is recorded without a
gap throughout, and that bad sub-streams are said and never used."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import av.stream
import pytest

from media.live.feed import Decoding, Feed, FeedKind, FeedSpec, StreamRole
from media.live.slot import Picture
from media.live.source import FeedSource
from tests.media.live.substreams import Camera, frame_number, is_black
from tests.servers import wait_for

pytestmark = pytest.mark.network

SMALL = (320, 180)
"""A tile the 320x180 sub-stream fills."""
BIG = (1280, 720)
"""A spotlit tile: only the main stream will do."""
SMALLER = (256, 144)
"""Small enough to go back to the sub from the main: at most 90% of its height (hysteresis)."""


@pytest.fixture
def camera() -> Iterator[Camera]:
    cam = Camera().start()
    yield cam
    cam.stop()


class Pictures:
    """Every picture put in the feed's slot, in order (the feed's picture listener)."""

    def __init__(self, feed: Feed) -> None:
        self.seen: list[Picture] = []
        feed.picture_listener = self._take

    def _take(self, feed: Feed) -> None:
        picture = feed.slot.peek()
        if picture is not None:
            self.seen.append(picture)

    def heights_since(self, start: int) -> list[int]:
        return [p.source_height for p in self.seen[start:]]


class PacketLog:
    """A recorder's view: each main-stream video packet's pts, and each begin()."""

    def __init__(self) -> None:
        self.begins = 0
        self.video_pts: list[int] = []

    def begin(self, streams: Sequence[av.stream.Stream]) -> None:
        self.begins += 1

    def put(self, packet: Any) -> None:
        if packet.stream.type == "video" and packet.pts is not None:
            self.video_pts.append(packet.pts)

    def end(self) -> None:
        pass


def start(
    start_feed: Callable[..., FeedSource], camera: Camera, display: tuple[int, int], **spec: Any
) -> FeedSource:
    return start_feed(
        FeedSpec("CAM", FeedKind.CAMERA, camera.url, substream_url=spec.get("sub", camera.sub_url)),
        display=display,
    )


def shown_from(feed: Feed, role: StreamRole, height: int) -> Callable[[], bool]:
    def check() -> bool:
        picture = feed.slot.peek()
        return feed.stream is role and picture is not None and picture.source_height == height

    return check


def assert_no_break(pictures: Sequence[Picture], what: str) -> None:
    """No black picture, and each picture's frame number no more than two after the one
    before: the old stream went on until the new one's first picture."""
    assert not any(is_black(p) for p in pictures), f"a black picture {what}"
    numbers = [frame_number(p) for p in pictures]
    steps = [b - a for a, b in itertools.pairwise(numbers)]
    assert all(0 <= step <= 2 for step in steps), f"frame numbers {what}: {numbers}"


def test_a_small_tile_gets_the_sub_a_big_one_the_main_with_no_break_between(
    start_feed: Callable[..., FeedSource], camera: Camera
) -> None:
    """In: the feed shown 320x180, then 1280x720 (spotlit), then 320x180 again, then
    256x144, its pictures and the recorder's packets logged. Out: the sub-stream's 180-line
    pictures on the small tile (at least as tall as it is shown), and the main stream's video not decoded meanwhile; the main's 360-line
    pictures when big, and the sub's not decoded then; across each switch no black picture
    and no jump in the frame numbers (the old stream shows until the new one's first
    picture); back at 320x180 the main stays (hysteresis), at 256x144 the sub is shown
    again; the recorder had one connection's main-stream packets with none missing."""
    source = start(start_feed, camera, SMALL)
    feed, switch = source.feed, source.switch
    assert switch is not None
    log = PacketLog()
    feed.packet_sink = log
    pictures = Pictures(feed)
    wait_for(shown_from(feed, StreamRole.SUB, 180), 15, "the sub-stream on the small tile")
    main_before = switch.decoded[StreamRole.MAIN]
    wait_for(lambda: len(pictures.seen) >= 10, 10, "ten more sub pictures")
    assert switch.decoded[StreamRole.MAIN] == main_before, "the main decoded while sub shown"

    mark = len(pictures.seen)
    feed.set_display_size(*BIG)
    wait_for(shown_from(feed, StreamRole.MAIN, 360), 10, "the main stream when spotlit")
    wait_for(lambda: len(pictures.seen) >= mark + 25, 10, "main pictures to follow")
    heights = pictures.heights_since(mark)
    assert heights == sorted(heights), f"back and forth between streams: {heights}"
    assert_no_break(pictures.seen[mark:], "switching to the main")
    sub_then = switch.decoded[StreamRole.SUB]
    wait_for(lambda: len(pictures.seen) >= mark + 35, 10, "ten more main pictures")
    assert switch.decoded[StreamRole.SUB] == sub_then, "the sub decoded while main shown"

    mark = len(pictures.seen)
    feed.set_display_size(*SMALL)  # within the hysteresis: the main stays
    wait_for(lambda: len(pictures.seen) >= mark + 10, 10, "ten pictures at 320x180")
    assert feed.stream is StreamRole.MAIN
    assert switch.target is StreamRole.MAIN
    mark = len(pictures.seen)
    feed.set_display_size(*SMALLER)
    wait_for(shown_from(feed, StreamRole.SUB, 180), 10, "the sub-stream again")
    wait_for(lambda: len(pictures.seen) >= mark + 25, 10, "sub pictures to follow")
    heights = pictures.heights_since(mark)
    assert heights == sorted(heights, reverse=True), f"back and forth: {heights}"
    assert_no_break(pictures.seen[mark:], "switching back to the sub")

    assert log.begins == 1
    steps = {b - a for a, b in zip(log.video_pts, log.video_pts[1:], strict=False)}
    assert len(steps) == 1, f"main-stream packets missing from the recording: steps {steps}"


def test_a_hidden_tile_decodes_the_subs_key_frames_only(
    start_feed: Callable[..., FeedSource], camera: Camera
) -> None:
    """In: the feed spotlit (main shown), then hidden (no size, key frames only), for
    three seconds. Out: hidden, it is fed from the sub-stream's key frames (about one a
    second, not fifteen), and nothing of the main stream's video is decoded; the main
    stream's packets still arrive (it is recorded)."""
    source = start(start_feed, camera, BIG)
    feed, switch = source.feed, source.switch
    assert switch is not None
    wait_for(shown_from(feed, StreamRole.MAIN, 360), 15, "the main stream")
    feed.set_display_size(0, 0)
    feed.decoding = Decoding.KEY_FRAMES
    wait_for(lambda: feed.stream is StreamRole.SUB, 5, "the sub-stream's key frames")
    main, sub = switch.decoded[StreamRole.MAIN], switch.decoded[StreamRole.SUB]
    packets = feed.stats.last_packet_at
    frames = feed.stats.frames
    wait_for(lambda: feed.stats.frames >= frames + 3, 10, "three more key frames")
    decoded_sub = switch.decoded[StreamRole.SUB] - sub
    assert switch.decoded[StreamRole.MAIN] == main
    assert decoded_sub <= 4, f"{decoded_sub} sub frames decoded for three key frames"
    assert feed.stats.last_packet_at != packets


@pytest.mark.parametrize(
    ("sub_size", "sub_codec", "says"),
    [
        ((320, 180), "mpeg2video", "sub-stream not used: it is mpeg2video, the main h264"),
        ((320, 240), "libx264", "sub-stream not used: 320×240 is another shape"),
        ((1280, 720), "libx264", "sub-stream not used: 1280×720 is not smaller"),
    ],
    ids=["other codec", "other shape", "bigger"],
)
def test_a_bad_sub_stream_is_said_and_the_main_shown(
    start_feed: Callable[..., FeedSource],
    sub_size: tuple[int, int],
    sub_codec: str,
    says: str,
) -> None:
    """In: a camera whose sub-stream is of another codec, of 4:3 for a 16:9 main, or bigger
    than the main; the feed on a small tile the sub would fill. Out: the feed says why the
    sub-stream is not used, and its pictures come from the main stream, never a blank."""
    camera = Camera(sub_size=sub_size, sub_codec=sub_codec).start()
    try:
        source = start(start_feed, camera, SMALL)
        feed = source.feed
        wait_for(lambda: feed.substream_problem is not None, 15, "the sub-stream's problem")
        assert feed.substream_problem is not None
        assert feed.substream_problem.startswith(says)
        wait_for(shown_from(feed, StreamRole.MAIN, 360), 10, "the main stream's pictures")
        frames = feed.stats.frames
        wait_for(lambda: feed.stats.frames >= frames + 15, 10, "the main stream going on")
        assert feed.stream is StreamRole.MAIN
    finally:
        camera.stop()


def test_a_sub_stream_that_is_down_is_said_and_the_main_shown(
    start_feed: Callable[..., FeedSource], camera: Camera
) -> None:
    """In: a feed on a small tile whose sub-stream URL nobody sends to. Out: it says
    'sub-stream down: …' and shows the main stream's pictures."""
    source = start(start_feed, camera, SMALL, sub="udp://127.0.0.1:9")
    wait_for(lambda: source.feed.substream_problem, 15, "the dead sub-stream's problem")
    assert (source.feed.substream_problem or "").startswith("sub-stream down:")
    wait_for(shown_from(source.feed, StreamRole.MAIN, 360), 10, "the main stream's pictures")


def test_a_sub_stream_that_goes_down_while_shown_gives_way_to_the_main(
    start_feed: Callable[..., FeedSource], camera: Camera
) -> None:
    """In: a feed shown from its sub-stream on a small tile; then the camera stops sending
    the sub-stream (the main goes on). Out: the feed goes back to the main stream and says
    the sub-stream is down; its pictures go on, no black one among them."""
    source = start(start_feed, camera, SMALL)
    feed = source.feed
    pictures = Pictures(feed)
    wait_for(shown_from(feed, StreamRole.SUB, 180), 15, "the sub-stream")
    mark = len(pictures.seen)
    camera.stop_sub()
    wait_for(shown_from(feed, StreamRole.MAIN, 360), 10, "the main stream again")
    assert (feed.substream_problem or "").startswith("sub-stream down:")
    wait_for(lambda: len(pictures.seen) >= mark + 20, 10, "main pictures to follow")
    assert not any(is_black(p) for p in pictures.seen[mark:])

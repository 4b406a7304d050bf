"""The rules of media/live/substream.py on their own: which stream a picture of a given
height is shown from (with hysteresis at the boundary), which sub-streams are refused and
in what words, and the switch's make-before-break between two decode threads' pictures."""

from __future__ import annotations

from fractions import Fraction

from media.live.feed import Connection, Decoding, Feed, FeedKind, FeedSpec, FeedState, StreamRole
from media.live.substream import (
    StreamInfo,
    StreamSwitch,
    choose,
    shown_height,
    sub_problem,
)

MAIN = StreamInfo("h264", 1920, 1080)
SUB = StreamInfo("h264", 640, 360)


def test_the_smallest_stream_at_least_as_tall_as_the_picture_with_hysteresis() -> None:
    """In: pictures shown 200 to 1080 px tall, sweeping up and down across the 360-px
    sub-stream's height, one pixel at a time. Out: the sub up to 360 px coming from the
    sub; the main from 361 px; back to the sub only at 324 px (90%) or less; so a tile
    that wobbles a few pixels around the boundary never switches back and forth."""
    assert choose(0, 360, StreamRole.MAIN) is StreamRole.SUB  # hidden: the cheapest
    assert choose(360, 360, None) is StreamRole.SUB  # the first choice: no hysteresis yet
    assert choose(360, 360, StreamRole.SUB) is StreamRole.SUB
    assert choose(361, 360, StreamRole.SUB) is StreamRole.MAIN
    assert choose(340, 360, StreamRole.MAIN) is StreamRole.MAIN
    assert choose(324, 360, StreamRole.MAIN) is StreamRole.SUB
    current = StreamRole.SUB
    switches = 0
    for height in [*range(300, 400), *range(400, 300, -1)] * 3:
        chosen = choose(height, 360, current)
        switches += chosen is not current
        current = chosen
    assert switches == 6  # once up and once down per sweep, never more


def test_the_height_a_picture_is_shown_at_in_its_tile() -> None:
    """In: a 16:9 main in a 16:9 tile, in a tall narrow tile, and hidden. Out: the tile's
    height; the height the width allows; 0."""
    assert shown_height(MAIN, (640, 360)) == 360
    assert shown_height(MAIN, (320, 900)) == 180
    assert shown_height(MAIN, (0, 0)) == 0


def test_bad_sub_streams_are_refused_in_plain_words() -> None:
    """In: sub-streams of another codec, of 4:3 for a 16:9 main, of the main's size, and of
    a bigger size; and a good one (a 2-pixel rounding off the main's shape). Out: a short
    reason naming what is wrong for each bad one; None for the good one."""
    assert sub_problem(MAIN, StreamInfo("hevc", 640, 360)) == (
        "sub-stream not used: it is hevc, the main h264"
    )
    assert "another shape" in (sub_problem(MAIN, StreamInfo("h264", 640, 480)) or "")
    assert "not smaller" in (sub_problem(MAIN, StreamInfo("h264", 1920, 1080)) or "")
    assert "not smaller" in (sub_problem(MAIN, StreamInfo("h264", 3840, 2160)) or "")
    assert sub_problem(MAIN, StreamInfo("h264", 640, 362)) is None
    # Anamorphic: 480x360 of pixels a third wider than tall is shown 640x360, 16:9.
    assert sub_problem(MAIN, StreamInfo("h264", 480, 360, Fraction(4, 3))) is None


def switch_for(box: tuple[int, int]) -> tuple[Feed, StreamSwitch]:
    feed = Feed(FeedSpec("Cam", FeedKind.CAMERA, "udp://x", substream_url="udp://y"))
    feed.set_display_size(*box)
    switch = StreamSwitch(feed)
    switch.main, switch.sub = MAIN, SUB
    switch.sub_connection = Connection(FeedState.LIVE)
    switch.sub_stats.on_packet(100, 1000.0)
    return feed, switch


def test_make_before_break_the_old_stream_shows_until_the_new_ones_first_picture() -> None:
    """In: a feed on a 320x180 tile showing its main stream; the switch decides. Out: the
    sub is wanted; both streams decode until the sub's first picture; a main picture after
    that is refused (never put after the sub's); then only the sub decodes."""
    feed, switch = switch_for((320, 180))
    switch.update(1000.0)
    assert switch.target is StreamRole.SUB
    assert feed.stream is StreamRole.MAIN
    assert switch.decoding(StreamRole.MAIN) is Decoding.ALL
    assert switch.decoding(StreamRole.SUB) is Decoding.ALL
    shown: list[str] = []
    assert switch.show(StreamRole.MAIN, lambda: shown.append("main"))
    assert switch.show(StreamRole.SUB, lambda: shown.append("sub"))
    assert not switch.show(StreamRole.MAIN, lambda: shown.append("main late"))
    assert shown == ["main", "sub"]
    assert feed.stream is StreamRole.SUB
    assert switch.decoding(StreamRole.MAIN) is Decoding.NONE


def test_a_sub_stream_that_never_gives_a_picture_is_given_up() -> None:
    """In: the switch wants the sub, and no sub picture comes for more than 5 s. Out: the
    main is wanted again and the tile is told why; once the sub reconnects it is tried again."""
    feed, switch = switch_for((320, 180))
    switch.update(1000.0)
    switch.sub_stats.on_packet(100, 1005.5)
    switch.update(1005.5)
    assert switch.target is StreamRole.MAIN
    assert feed.substream_problem == "sub-stream not used: no picture came from it"
    switch.sub_stats.connects += 1
    switch.update(1005.6)
    assert feed.substream_problem is None
    assert switch.target is StreamRole.SUB

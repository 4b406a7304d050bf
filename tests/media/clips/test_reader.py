"""Clip reader and player: a clip read back from real recorded segments, frame by frame.

The segments are the test card (its frame number painted into every picture) put through
the real Recorder in 2 s segments (tests/review_media.py), so each test reads back which
frame it was really given, and when.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from media.clips.player import ClipPlayer, PlayState, ShownFrame
from media.clips.reader import ClipDecoder, ClipReadError, ClipSegment, format_utc, index_clip
from media.recording.segment import SegmentInfo
from media.testcard import read_frame_number
from tests.clock import Clock
from tests.review_media import FPS, SIZE, T0, clip_segments, encode_card, first_pts_s, record

FRAME_S = 1 / FPS


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[SegmentInfo], float]:
    """6 s of the card (60 frames, a key frame each second) in three 2 s segments, and the
    UTC time of its frame 0."""
    folder = tmp_path_factory.mktemp("clip")
    card = encode_card(folder / "card.ts", 6.0)
    infos = record(card, folder / "rec")
    assert len(infos) == 3
    return infos, T0 + first_pts_s(card)


def test_every_frame_gets_its_utc_time_and_number(recording) -> None:
    """In: the three segments, the clip 0.95 s..4.95 s. Out: 40 frames, the card's 10..49
    (those from the clip's start to its end, as an export counts them), each at frame 0's
    time plus n / 10 s, to the microsecond; one frame is 0.1 s; key frames each second; no
    gaps."""
    infos, zero = recording
    index = index_clip(clip_segments(infos), zero + 0.95, zero + 4.95)
    assert len(index) == 40
    assert (index.width, index.height) == SIZE
    assert index.frame_s == pytest.approx(FRAME_S, abs=1e-6)
    assert not index.gaps
    for ref in index.frames:
        card_frame = ref.number + 10
        assert ref.utc == pytest.approx(zero + card_frame * FRAME_S, abs=1e-6)
        assert ref.segment == card_frame // 20
        assert ref.key == (card_frame % 10 == 0)
    assert index.frame_at(zero + 3.049) == 20  # card frame 30 is on screen until 3.1 s
    assert index.frame_at(zero - 10) == 0
    assert format_utc(index.frames[0].utc) == format_utc(zero + 1.0)


def test_any_frame_decodes_to_its_own_picture_in_any_order(recording) -> None:
    """In: frames asked for forwards, backwards across segment ends, and at random. Out:
    each picture read back carries the card's number for that frame, at full size (RGB)
    and scaled into a box (BGRA, aspect kept)."""
    infos, zero = recording
    index = index_clip(clip_segments(infos), zero, zero + 6.0)
    assert len(index) == 60
    decoder = ClipDecoder(index)
    try:
        for number in [0, 1, 2, 19, 20, 21, 45, 44, 39, 38, 59, 0, 33, 7, 58]:
            rgb = decoder.rgb(number)
            assert rgb.shape == (SIZE[1], SIZE[0], 3)
            assert read_frame_number(rgb) == number
            pixels, width, height, _ = decoder.picture(number, (320, 320))
            assert (width, height) == (320, 240)
            assert read_frame_number(pixels[:, :width]) == number
    finally:
        decoder.close()


def test_stepping_back_through_a_gop_decodes_it_once(recording) -> None:
    """In: frame 29 (the last of the GOP starting at frame 20), then 28, 27, ... 20. Out:
    frame 29 costs the ten frames from its key frame; every step back after it costs
    nothing more (the GOP was kept)."""
    infos, zero = recording
    decoder = ClipDecoder(index_clip(clip_segments(infos), zero, zero + 6.0))
    try:
        decoder.frame(29)
        assert decoder.decoded == 10
        for number in range(28, 19, -1):
            assert read_frame_number(decoder.rgb(number)) == number
        assert decoder.decoded == 10
        decoder.frame(19)  # the GOP before: decoded from its own key frame, frame 10
        assert decoder.decoded == 20
    finally:
        decoder.close()


def test_a_missing_segment_is_a_gap(recording) -> None:
    """In: the first and last segments only (the middle one, 2-4 s, missing). Out: 40
    frames, the card's 0-19 and 40-59, and one gap from where frame 19 ends (2.0 s) to
    frame 40 (4.0 s)."""
    infos, zero = recording
    index = index_clip(clip_segments([infos[0], infos[2]]), zero, zero + 6.0)
    assert [ref.number for ref in index.frames] == list(range(40))
    assert read_frame_number(ClipDecoder(index).rgb(20)) == 40
    (gap,) = index.gaps
    assert gap.start_utc == pytest.approx(zero + 2.0, abs=1e-6)
    assert gap.end_utc == pytest.approx(zero + 4.0, abs=1e-6)


def test_a_clip_with_no_recording_is_one_gap() -> None:
    index = index_clip([], T0, T0 + 30)
    assert len(index) == 0
    assert [(g.start_utc, g.end_utc) for g in index.gaps] == [(T0, T0 + 30)]


def test_an_unreadable_segment_is_named(tmp_path: Path) -> None:
    """In: a segment file that is not MPEG-TS video. Out: ClipReadError naming it."""
    bad = tmp_path / "bad.ts"
    bad.write_bytes(b"not a video at all" * 20)
    with pytest.raises(ClipReadError, match=r"BWV-4521/bad\.ts"):
        index_clip([ClipSegment(bad, T0, T0 + 2, "BWV-4521/bad.ts")], T0, T0 + 2)


class Shown:
    """What a player hands on, kept as it arrives (on the player's thread)."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, ShownFrame]] = []
        self.states: list[PlayState] = []
        self.changed = threading.Condition()

    def frame(self, frame: ShownFrame) -> None:
        with self.changed:
            self.frames.append((time.monotonic(), frame))
            self.changed.notify_all()

    def state(self, state: PlayState) -> None:
        with self.changed:
            self.states.append(state)
            self.changed.notify_all()

    def wait(self, test, timeout: float = 10.0) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: test(self), timeout), "the player never did it"

    @property
    def last(self) -> ShownFrame:
        return self.frames[-1][1]


def test_player_steps_seeks_and_plays_paced_by_utc(recording) -> None:
    """In: a player on the whole 6 s: step on and back, a burst of seeks, then play at
    4x from frame 20 to the end. Out: each step moves exactly one frame (0.1 s); the burst
    ends on its last seek; playing shows frames 21.. in order, never faster than 4x the
    recorded times, and stops itself at the last frame."""
    infos, zero = recording
    index = index_clip(clip_segments(infos), zero, zero + 6.0)
    shown = Shown()
    player = ClipPlayer(index, shown.frame, shown.state, box=(160, 120))
    try:
        shown.wait(lambda s: s.frames)
        assert shown.last.ref.number == 0
        player.step(1)
        shown.wait(lambda s: s.last.ref.number == 1)
        assert read_frame_number(shown.last.pixels[:, : shown.last.width]) == 1
        assert shown.last.ref.utc - index.frames[0].utc == pytest.approx(FRAME_S, abs=1e-6)
        player.step(-1)
        shown.wait(lambda s: s.last.ref.number == 0)
        for number in (5, 50, 12, 33, 20):
            player.show(number)
        shown.wait(lambda s: s.last.ref.number == 20)
        assert read_frame_number(shown.last.pixels[:, : shown.last.width]) == 20

        player.set_speed(4.0)
        began = len(shown.frames)
        asked_at = time.monotonic()
        player.play()
        shown.wait(lambda s: s.states and s.states[-1].playing)
        shown.wait(lambda s: s.states and not s.states[-1].playing and s.last.ref.number == 59)
        played = shown.frames[began:]
        numbers = [frame.ref.number for _, frame in played]
        assert numbers == sorted(set(numbers))
        assert (numbers[0], numbers[-1]) == (21, 59)
        last_at, last = played[-1]
        # Frame 59 is due 3.9 s of recording after frame 20, where play began.
        media_s = last.ref.utc - index.frames[20].utc
        assert media_s == pytest.approx(3.9, abs=1e-6)
        assert last_at - asked_at >= media_s / 4, "played faster than 4x"
    finally:
        assert player.close()


def test_player_pauses_and_plays_again_from_the_start_after_the_end(recording) -> None:
    """In: a player on 1 s of the recording, on the tests' Clock: play, pause, then the
    clock moved on 10 s (a hundred frames' time) and two speed changes, each answered with
    a state, so the player's loop has gone round with frames long due; then sent to the
    last frame and played.
    Out: paused, it still shows the frame it paused on; played from the last frame, it
    starts again from frame 0."""
    infos, zero = recording
    index = index_clip(clip_segments(infos), zero + 5.0, zero + 6.0)
    shown = Shown()
    clock = Clock()
    player = ClipPlayer(index, shown.frame, shown.state, box=(160, 120), clock=clock)
    try:
        shown.wait(lambda s: s.frames)
        player.play()
        shown.wait(lambda s: s.states and s.states[-1].playing)
        player.pause()
        shown.wait(lambda s: s.states and not s.states[-1].playing)
        at = shown.last.ref.number
        clock.advance(10.0)
        reported = len(shown.states)
        player.set_speed(1.0)
        player.set_speed(1.0)
        shown.wait(lambda s: len(s.states) >= reported + 2)
        assert shown.last.ref.number == at, "a paused player moved on"
        assert not shown.states[-1].playing
        player.show(len(index) - 1)
        shown.wait(lambda s: s.last.ref.number == len(index) - 1)
        player.play()  # at the end: from the start again
        shown.wait(lambda s: s.last.ref.number == 0)
    finally:
        assert player.close()


def test_going_to_the_last_frame_while_playing_stops_at_it(recording) -> None:
    """In: a playing player sent to its last frame (End, or the timeline dragged to the
    end). Out: it shows the last frame and stops playing, and the player still answers (it
    used to stay "playing" there, its thread spinning on a next frame always due now)."""
    infos, zero = recording
    index = index_clip(clip_segments(infos), zero, zero + 6.0)
    shown = Shown()
    player = ClipPlayer(index, shown.frame, shown.state, box=(160, 120))
    try:
        shown.wait(lambda s: s.frames)
        player.set_speed(0.25)
        player.play()
        shown.wait(lambda s: s.states and s.states[-1].playing)
        player.show(len(index) - 1)
        shown.wait(lambda s: s.last.ref.number == len(index) - 1)
        shown.wait(lambda s: s.states and not s.states[-1].playing)
        assert shown.states[-1].error is None, shown.states[-1].error
        player.show(3)
        shown.wait(lambda s: s.last.ref.number == 3)
        assert player.running
    finally:
        assert player.close()

"""Clip cut: one MPEG-TS stream-copied out of real recorded segments, with exact UTC times.

The media is made by PyAV (H.264 at 15 fps with a key frame each second, AAC, MISB KLV, at
96x64 so it costs little), cut into 2 s segments by the real Recorder, and given UTC start
times as a live recording would have had them. What comes out is read back with PyAV.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from pathlib import Path

import av
import av.logging
import pytest

from media.clips.cut import (
    CutResult,
    CutSegment,
    NoRecordingError,
    SegmentChangedError,
    cut_clip,
)
from media.recording.recorder import Recorder, replay
from media.recording.segment import SegmentInfo
from tests.recordings import FPS, drone_media, first_pts_s

T0 = 1_735_732_800.0  # 2025-01-01T12:00:00Z
FRAME_S = 1 / FPS

Packets = dict[str, list[tuple[bytes, int | None, bool]]]


def recorded(folder: Path, media: Path, t0: float) -> list[CutSegment]:
    """`media` recorded by the real Recorder in 2 s segments, each given the UTC start a
    live recording would have had: t0 plus its first packet's place on the media's clock."""
    closed: list[SegmentInfo] = []
    recorder = Recorder(folder, "DRONE-1", segment_s=2.0, on_closed=closed.append)
    replay(recorder, str(media))
    assert recorder.stop()
    origin = first_pts_s(closed[0].path)
    return [
        CutSegment(info.path, t0 + first_pts_s(info.path) - origin, info.sha256) for info in closed
    ]


def packets(path: Path) -> Packets:
    """Every packet of a file by stream type: bytes, pts, key flag, in file order."""
    found: Packets = {}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.size:
                found.setdefault(packet.stream.type, []).append(
                    (bytes(packet), packet.pts, packet.is_keyframe)
                )
    return found


def decoded_pictures(path: Path) -> int:
    """Every video packet decodes with no error from FFmpeg; the pictures made."""
    pictures = 0
    with av.logging.Capture() as logs, av.open(str(path)) as container:
        for frame in container.decode(video=0):
            pictures += frame is not None
    errors = [entry for entry in logs if entry[0] <= av.logging.ERROR]
    assert not errors, errors
    return pictures


def utc_of(result: CutResult, pts_s: float) -> float:
    """A pts of the output as UTC, by the result's timeline (as README.txt tells a reader)."""
    point = [p for p in result.timeline if p.pts_s <= pts_s + 1e-9][-1]
    return point.utc + pts_s - point.pts_s


@pytest.fixture(scope="module")
def segments(tmp_path_factory: pytest.TempPathFactory) -> list[CutSegment]:
    """7 s of drone media from T0, recorded as four segments (2, 2, 2 and 1 s)."""
    folder = tmp_path_factory.mktemp("clip-cut")
    return recorded(folder / "rec", drone_media(folder / "drone.ts", 7.0), T0)


def test_cut_across_segments_keeps_every_stream_and_the_asked_times(
    segments: list[CutSegment], tmp_path: Path
) -> None:
    """In: T0+1.5 s to T0+5.2 s of four recorded segments (video, sound, KLV). Out: one
    MPEG-TS from segments 1-3 whose first and last video frames inside the range are within
    one frame of the asked start and end; it starts at the key frame of T0+1 s (the stated
    pre-roll, under a second); its video packets are an unbroken run of the segments',
    byte for byte with the same timestamps, key frame first; its sound and KLV are the
    segments' from the key frame's time to the end; the pictures decode cleanly; the
    stated SHA-256 and size are the file's; the timeline maps each frame's pts to UTC."""
    start, end = T0 + 1.5, T0 + 5.2
    progress: list[float] = []

    result = cut_clip(
        segments, start, end, tmp_path / "clip.ts", progress=lambda f, _: progress.append(f)
    )

    assert start <= result.first_frame_utc < start + FRAME_S
    assert end - FRAME_S < result.last_frame_utc <= end
    assert result.key_frame_utc == pytest.approx(T0 + 1.0, abs=0.05)
    assert 0 <= result.preroll_s < 1.0
    assert result.first_packet_utc <= result.key_frame_utc + 1e-6
    assert result.segments_used == (0, 1, 2)
    assert result.gaps == ()
    assert result.notes == ()
    assert (
        result.frames_in_range == round((result.last_frame_utc - result.first_frame_utc) * FPS) + 1
    )
    assert result.frame_interval_s == pytest.approx(FRAME_S)
    data = result.path.read_bytes()
    assert (result.bytes, result.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert [(s.kind, s.codec) for s in result.streams] == [
        ("video", "h264"),
        ("audio", "aac"),
        ("data", "klv"),
    ]

    out = packets(result.path)
    recorded_ = [packets(s.path) for s in segments[:3]]
    video = [p for seg in recorded_ for p in seg["video"]]
    first = video.index(out["video"][0])
    assert out["video"] == video[first : first + len(out["video"])]
    assert out["video"][0][2], "the clip starts at a key frame"
    assert len(out["video"]) == result.frames_written
    key_pts = out["video"][0][1]
    assert key_pts is not None
    last_video_pts = out["video"][-1][1]
    assert last_video_pts is not None
    for kind in ("audio", "data"):
        theirs = [p for seg in recorded_ for p in seg[kind]]
        wanted = [
            p
            for p in theirs
            if p[1] is not None
            and key_pts <= p[1] <= key_pts + (end - result.key_frame_utc) * 90_000
        ]
        assert out[kind] == wanted, kind
        assert {s.kind: s.packets for s in result.streams}[kind] == len(wanted)
    assert decoded_pictures(result.path) == result.frames_written
    frame_times = sorted(utc_of(result, p[1] / 90_000) for p in out["video"] if p[1] is not None)
    assert frame_times[0] == pytest.approx(result.key_frame_utc)
    assert frame_times[-1] == pytest.approx(result.last_frame_utc)
    assert progress == sorted(progress)
    assert progress[-1] == 1.0


def test_a_range_with_no_recording_writes_nothing(
    segments: list[CutSegment], tmp_path: Path
) -> None:
    """In: a range a minute after the recording ends. Out: NoRecordingError; no file."""
    out = tmp_path / "clip.ts"
    with pytest.raises(NoRecordingError, match="no recorded frame"):
        cut_clip(segments, T0 + 60, T0 + 70, out)
    assert not out.exists()


def test_a_segment_whose_bytes_changed_is_refused(
    segments: list[CutSegment], tmp_path: Path
) -> None:
    """In: the segments, the second one's hash given as the hash of other bytes (as if the
    file had been changed after the ledger hashed it). Out: SegmentChangedError naming the
    second segment, with the file's real hash; nothing written."""
    wrong = [*segments]
    wrong[1] = CutSegment(wrong[1].path, wrong[1].start_utc, hashlib.sha256(b"other").hexdigest())
    out = tmp_path / "clip.ts"
    with pytest.raises(SegmentChangedError) as caught:
        cut_clip(wrong, T0 + 1, T0 + 5, out)
    assert caught.value.index == 1
    assert caught.value.sha256 == hashlib.sha256(segments[1].path.read_bytes()).hexdigest()
    assert not out.exists()


def test_a_range_before_the_recording_states_the_gap_at_its_start(
    segments: list[CutSegment], tmp_path: Path
) -> None:
    """In: T0-3 s to T0+1.2 s, when recording began at T0. Out: the clip starts with the
    first frame (a key frame, no pre-roll); a gap from the asked start to that frame is
    stated; the last frame is within one frame of the asked end."""
    result = cut_clip(segments, T0 - 3, T0 + 1.2, tmp_path / "clip.ts")
    assert result.preroll_s == 0
    assert result.first_frame_utc == pytest.approx(T0, abs=0.05)
    [gap] = result.gaps
    assert (gap.after_utc, gap.before_utc) == (T0 - 3, result.first_frame_utc)
    assert T0 + 1.2 - FRAME_S < result.last_frame_utc <= T0 + 1.2


def test_a_reconnect_is_a_stated_gap_and_the_clock_follows_utc(tmp_path: Path) -> None:
    """In: 4 s recorded from T0, then (a reconnect: a new source whose clock starts again
    at the same pts) 4 s from T0+10 s; the range T0+2 s to T0+12 s. Out: one file from both
    recordings; a gap from the last frame before T0+4 s to the first at T0+10 s; a note
    that the second recording's timestamps were moved; in the file, every stream's
    timestamps go forward and the video's jump across the gap by the UTC time that passed,
    so the timeline gives each frame its UTC time; the pictures decode."""
    first = recorded(tmp_path / "a", drone_media(tmp_path / "a.ts", 4.0), T0)
    second = recorded(tmp_path / "b", drone_media(tmp_path / "b.ts", 4.0), T0 + 10)

    result = cut_clip([*first, *second], T0 + 2, T0 + 12, tmp_path / "clip.ts")

    [gap] = result.gaps
    assert gap.after_utc == pytest.approx(T0 + 4 - FRAME_S, abs=0.05)
    assert gap.before_utc == pytest.approx(T0 + 10, abs=0.05)
    assert any("new source clock" in note for note in result.notes)
    out = packets(result.path)
    for kind, found in out.items():
        pts = [p[1] for p in found if p[1] is not None]
        assert pts == sorted(pts), f"{kind} timestamps go back"
    video_pts = [p[1] / 90_000 for p in out["video"] if p[1] is not None]
    jump = max(b - a for a, b in itertools.pairwise(video_pts))
    assert jump == pytest.approx(gap.seconds, abs=0.01)
    assert utc_of(result, video_pts[-1]) == pytest.approx(result.last_frame_utc)
    assert T0 + 12 - FRAME_S < result.last_frame_utc <= T0 + 12
    assert decoded_pictures(result.path) == result.frames_written


def test_progress_is_reported_while_reading_and_copying(
    segments: list[CutSegment], tmp_path: Path
) -> None:
    """In: the whole recording cut, with a progress callback. Out: a call per segment
    indexed and per segment copied at least, fractions rising to 1, each with a text."""
    calls: list[tuple[float, str]] = []
    report: Callable[[float, str], None] = lambda f, what: calls.append((f, what))  # noqa: E731
    cut_clip(segments, T0, T0 + 7, tmp_path / "clip.ts", progress=report)
    assert len(calls) >= 2 * len(segments)
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert all(what for _, what in calls)

"""The caller encoder on real frames and real files: decoded frames in (made here with PyAV,
or from a real aiortc track through the real WebRtcSource), H.264 MPEG-TS segments out
through the real Recorder, read back with PyAV."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from aiortc.mediastreams import VideoStreamTrack

from media.live.feed import Feed, FeedKind, FeedSpec
from media.live.webrtc import WebRtcSource
from media.recording.caller_recorder import CallerRecorder, EncodeSettings, output_size
from media.recording.recorder import Recorder
from media.recording.segment import SegmentInfo
from tests.servers import wait_for

TICK = 3000  # one frame at 30 fps on the 90 kHz clock


def picture(n: int, size: tuple[int, int] = (320, 240), pts: int | None = None) -> av.VideoFrame:
    """A decoded frame as aiortc hands them over: yuv420p, RTP time at 90 kHz."""
    width, height = size
    pixels = np.full((height, width, 3), (n * 9) % 256, np.uint8)
    pixels[: height // 4, : width // 4] = (255, 0, 0)  # something that is not flat
    frame = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuv420p")
    frame.pts, frame.time_base = (n * TICK if pts is None else pts), Fraction(1, 90000)
    return frame


def recording(
    folder: Path, **options: object
) -> tuple[CallerRecorder, Recorder, list[SegmentInfo]]:
    closed: list[SegmentInfo] = []
    recorder = Recorder(folder, "Caller 1", segment_s=2.0, on_closed=closed.append)
    return CallerRecorder(recorder, **options), recorder, closed  # type: ignore[arg-type]


def decoded(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def test_frames_become_segments_that_decode_with_their_times(tmp_path: Path) -> None:
    """In: 90 frames (3 s at 30 fps, RTP times), each put with its arrival time.
    Out: 2 s segments, each starting at a key frame, holding all 90 frames between them
    with their spacing kept (3000 ticks); the first segment's UTC start is the first
    frame's arrival, not the moment it was encoded; one encoder session, nothing shed."""
    # Room for the whole burst: put all at once, 90 frames outrun a busy machine's encoder
    # (shedding has its own test below).
    encoder, _, closed = recording(tmp_path, max_queue_frames=90)
    arrived = time.time() - 60
    encoder.begin()
    for n in range(90):
        encoder.put(picture(n), arrived + n / 30)
    encoder.end()
    assert encoder.stop()

    assert len(closed) == 2
    frames = [f for info in closed for f in decoded(info.path)]
    assert len(frames) == 90
    assert all(decoded(info.path)[0].key_frame for info in closed)
    assert [f.pts - frames[0].pts for f in frames] == [n * TICK for n in range(90)]
    assert closed[0].started_at == arrived
    assert closed[-1].ended_at == arrived + 89 / 30
    stats = encoder.stats()
    assert (stats.frames_in, stats.frames_encoded, stats.frames_shed) == (90, 90, 0)
    assert stats.sessions == 1
    assert (stats.width, stats.height) == (320, 240)
    assert stats.encoded_s == 89 / 30
    assert stats.encode_cpu_s > 0


def test_tall_pictures_are_scaled_and_a_new_size_starts_a_new_segment(tmp_path: Path) -> None:
    """In: a cap of 120 lines; 10 frames at 320x240, then 10 at 160x90 (the phone adapts).
    Out: two sessions and two segments: 160x120 (scaled, aspect kept) and 160x90 (as sent)."""
    encoder, _, closed = recording(tmp_path, settings=EncodeSettings(max_height=120))
    for n in range(20):
        encoder.put(picture(n, (320, 240) if n < 10 else (160, 90)), time.time())
    assert encoder.stop()
    sizes = [(decoded(i.path)[0].width, decoded(i.path)[0].height) for i in closed]
    assert sizes == [(160, 120), (160, 90)]
    assert [len(decoded(i.path)) for i in closed] == [10, 10]
    assert encoder.stats().sessions == 2
    assert output_size(1920, 1080, 720) == (1280, 720)
    assert output_size(1080, 1920, 720) == (404, 720)  # a phone held upright
    assert output_size(641, 481, 720) == (640, 480)  # x264 wants even sizes


def test_a_busy_encoder_sheds_new_frames_and_counts_them(tmp_path: Path) -> None:
    """In: a queue of 3 frames; 60 frames of 640x360 put at once (far faster than any
    encoder). Out: put never waits for room: frames are refused and counted (a put that
    waited would shed none), every frame is either encoded or shed, and what was encoded
    decodes in full. (How long a put takes is the benchmarks' to say.)"""
    encoder, _, closed = recording(tmp_path, max_queue_frames=3)
    # Made first: made between puts, the frames came slower than the encoder took them.
    frames = [picture(n, (640, 360)) for n in range(60)]
    for frame in frames:
        encoder.put(frame, time.time())
    assert encoder.stop()
    stats = encoder.stats()
    assert stats.frames_shed > 0
    assert stats.frames_encoded + stats.frames_shed == stats.frames_in == 60
    assert sum(len(decoded(i.path)) for i in closed) == stats.frames_encoded


def test_a_frame_whose_time_goes_back_is_dropped(tmp_path: Path) -> None:
    """In: frames at 0, 1, 2, then one back at 1, then 3 (in frame periods).
    Out: four frames recorded, one counted invalid; the recording's times only go on."""
    encoder, _, closed = recording(tmp_path)
    for pts in (0, TICK, 2 * TICK, TICK, 3 * TICK):
        encoder.put(picture(pts // TICK, pts=pts), time.time())
    assert encoder.stop()
    stats = encoder.stats()
    assert (stats.frames_encoded, stats.frames_invalid) == (4, 1)
    frames = decoded(closed[0].path)
    assert [f.pts - frames[0].pts for f in frames] == [0, TICK, 2 * TICK, 3 * TICK]


def test_the_encoder_thread_is_nicer_than_the_wall(tmp_path: Path) -> None:
    """In: a caller encoder running. Out: its thread runs 5 steps nicer than this one
    (Linux keeps niceness per thread), so a contested core goes to the wall first."""
    encoder, _, _ = recording(tmp_path)
    encoder.put(picture(0), time.time())
    thread = next(t for t in threading.enumerate() if t.name == "encode-Caller 1")
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    native_id = thread.native_id
    assert native_id is not None
    wait_for(
        lambda: os.getpriority(os.PRIO_PROCESS, native_id) == mine + 5,
        30,
        "the encoder thread to lower its priority",
    )
    assert encoder.stop()


def test_the_webrtc_source_gives_every_frame_to_its_recorder(tmp_path: Path) -> None:
    """In: a real aiortc video track (aiortc's own generator, 640x480 at 30 fps, paced in
    real time) into a WebRtcSource whose screen side never takes a frame, with a caller
    encoder as its frame sink, until the encoder has had 20 frames; then the track stops.
    Out: the wall's one-frame handoff dropped all but the newest, yet the encoder got
    every frame, encoded them into segments that decode in full, and the track's end
    closed the open segment."""
    feed = Feed(FeedSpec("Caller 1", FeedKind.CALLER, "webrtc:test"))
    source = WebRtcSource(feed)  # not started: nothing takes frames for the screen
    encoder, recorder, closed = recording(tmp_path)
    recorder.attach(feed, packets=False)
    source.frame_sink = encoder

    async def stream() -> None:
        track = VideoStreamTrack()
        source.attach(track)
        async with asyncio.timeout(30):
            while encoder.stats().frames_in < 20:
                await asyncio.sleep(0.02)
        track.stop()
        await asyncio.wait_for(source.track_ended.wait(), 10)

    asyncio.run(stream())
    stats = encoder.stats()
    assert stats.frames_in >= 20
    assert source.dropped == stats.frames_in - 1
    # The track's end closes the segment, without a stop().
    wait_for(lambda: len(closed) >= 1, 30, "the track's end to close the segment")
    assert encoder.stop()
    assert feed.packet_sink is None
    assert sum(len(decoded(i.path)) for i in closed) == stats.frames_in
    assert (stats.width, stats.height) == (640, 480)

"""The evidence benchmark's measurements, one function each (bench_evidence.py runs them).

Every run goes through the real RecordingService on a real base dir (recorders, caller
encoder, SQLite ledger, fsynced segments), driven from this thread as a source or the
WebRTC receiver would drive it. CPU is this process's (getrusage), from the first packet
or frame to the last segment entered in the ledger, divided by the seconds of video.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from app.config.recording import RecordingPolicy
from app.evidence.recording import RecordingService
from app.paths import BaseDir
from media.live.feed import Feed, FeedKind, FeedSpec
from media.live.webrtc import WebRtcSource
from media.recording.caller_recorder import CallerRecorder
from media.recording.recorder import Recorder
from tests.benchmarks.measure import process_cpu_s, thread_cpu_s

SPEED = 10.0
"""The 1080p feed is replayed at this many times real time: fast, and still far from the
recorder's 10 s / 32 MB limit, so nothing is refused (the table says if anything was)."""
VIDEO_TB = Fraction(1, 90000)
CALLER_KBPS = 2000
"""What Chromium sends a caller's 720p at with the gateway's start bitrate."""


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _thread_cpu(prefix: str) -> float:
    import threading

    ids = [t.native_id for t in threading.enumerate() if t.name.startswith(prefix)]
    times = thread_cpu_s()
    return sum(times.get(i, 0.0) for i in ids if i is not None)


def _wait_written(recorder: Recorder, timeout_s: float = 60.0) -> None:
    """Until the writer has nothing queued or in hand: every segment closed and entered."""
    deadline = time.monotonic() + timeout_s
    while True:
        stats = recorder.stats()
        if stats.queued_bytes == 0 and stats.behind_s == 0.0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError("the recorder did not finish writing")
        time.sleep(0.01)


def _demux(loop: Path, seconds: float) -> Iterator[tuple[av.Packet[Any], float, Any]]:
    """The loop's packets, over and over with their timestamps carried on from 0, for
    `seconds` of video: (packet, its video time in s, the stream)."""
    done = 0  # stream time units already given
    while True:
        with av.open(str(loop)) as container:
            stream = container.streams.video[0]
            assert stream.time_base is not None
            first: int | None = None
            length = 0
            for packet in container.demux(stream):
                if not packet.size or packet.pts is None or packet.dts is None:
                    continue
                if first is None:
                    first = packet.dts
                packet.pts += done - first
                packet.dts += done - first
                length = max(length, packet.pts - done + (packet.duration or 0))
                at = float(packet.pts * stream.time_base)
                if at >= seconds:
                    return
                yield packet, at, stream
            done += length


def stream_copy(loop: Path, seconds: float, base: Path, *, record: bool) -> dict[str, Any]:
    """`seconds` of the loop demuxed at SPEED x real time; with `record`, every packet put
    into the feed's recorder (arriving, by its stamp, in the recent past: the ledger then
    holds realistic UTC times for the export to cut by)."""
    feed = Feed(FeedSpec("BENCH-1080", FeedKind.BODYCAM, str(loop)))
    service = RecordingService(
        BaseDir(base).ensure(),
        lambda: [feed] if record else [],
        policy=RecordingPolicy(keep_days=0),
    )
    service.start()
    recorder = feed.packet_sink
    assert isinstance(recorder, Recorder) or not record
    epoch = time.time() - seconds - 30
    began = False
    cpu0, wall0 = process_cpu_s(), time.monotonic()
    for packet, at, stream in _demux(loop, seconds):
        if recorder is not None:
            if not began:
                recorder.begin([stream])
                began = True
            recorder.put(packet, epoch + at)
        ahead = wall0 + at / SPEED - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    if recorder is not None:
        recorder.end()
        _wait_written(recorder)
    cpu = process_cpu_s() - cpu0
    writer = _thread_cpu("record-")
    stats = recorder.stats() if recorder is not None else None
    service.stop()
    return {
        "video_s": seconds,
        "cpu_s": cpu,
        "cpu_per_video_s": cpu / seconds,
        "writer_cpu_per_video_s": writer / seconds if record else None,
        "segments": stats.segments_closed if stats else 0,
        "bytes": stats.bytes_written if stats else 0,
        "dropped": stats.packets_dropped if stats else 0,
        "epoch": epoch,
    }


def caller_frames(card: Path) -> tuple[list[av.Packet[Any]], list[av.VideoFrame]]:
    """The card as a phone sends it (VP8, CALLER_KBPS, realtime) and as aiortc hands it
    over (those packets decoded): what a caller's recording starts from."""
    encoder = av.CodecContext.create("libvpx", "w")
    frames_in: list[av.VideoFrame] = []
    with av.open(str(card)) as container:
        for frame in container.decode(video=0):
            frames_in.append(frame.reformat(format="yuv420p"))
    first = frames_in[0]
    assert isinstance(encoder, av.video.codeccontext.VideoCodecContext)
    encoder.width, encoder.height, encoder.pix_fmt = first.width, first.height, "yuv420p"
    encoder.time_base, encoder.framerate = VIDEO_TB, Fraction(30)
    encoder.bit_rate = CALLER_KBPS * 1000
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    packets: list[av.Packet[Any]] = []
    for n, frame in enumerate(frames_in * 2):  # the second pass: rate control settled
        frame.pts, frame.time_base = n * 3000, VIDEO_TB
        out = encoder.encode(frame)
        if n >= len(frames_in):
            packets += out
    packets += encoder.encode(None)
    return packets, vp8_decode(packets)


def vp8_decode(packets: list[av.Packet[Any]]) -> list[av.VideoFrame]:
    decoder = av.CodecContext.create("libvpx", "r")
    frames: list[av.VideoFrame] = []
    for packet in packets:
        frames += decoder.decode(packet)  # type: ignore[arg-type]
    return frames


def plain_decode(packets: list[av.Packet[Any]], seconds: float) -> dict[str, Any]:
    """The baseline for a caller: decoding the VP8 it sends, as aiortc does anyway."""
    loops = max(1, round(seconds * 30 / len(packets)))
    cpu0 = process_cpu_s()
    for _ in range(loops):
        vp8_decode(packets)
    cpu = process_cpu_s() - cpu0
    video_s = loops * len(packets) / 30
    return {"video_s": video_s, "cpu_s": cpu, "cpu_per_video_s": cpu / video_s}


def caller_record(frames: list[av.VideoFrame], seconds: float, base: Path) -> dict[str, Any]:
    """The decoded frames through the caller path (WebRtcSource's frame sink, the caller
    encoder, the recorder, the ledger), handed over as fast as the encoder takes them."""
    feed = Feed(FeedSpec("BENCH-CALLER", FeedKind.CALLER, "webrtc:bench"))
    source = WebRtcSource(feed)  # its screen side is not started: nothing but recording
    service = RecordingService(
        BaseDir(base).ensure(),
        lambda: [feed],
        policy=RecordingPolicy(keep_days=0),
        sources=lambda _feed: source,
    )
    service.start()
    sink = source.frame_sink
    assert isinstance(sink, CallerRecorder)
    count = round(seconds * 30)
    epoch = time.time() - seconds - 30
    cpu0 = process_cpu_s()
    sink.begin()
    for n in range(count):
        frame = frames[n % len(frames)]
        frame.pts, frame.time_base = n * 3000, VIDEO_TB
        while sink.stats().queued >= 8:  # keep up with the encoder, never shed
            time.sleep(0.001)
        sink.put(frame, epoch + n / 30)
    sink.end()
    _wait(lambda: sink.stats().queued == 0 and sink.stats().frames_encoded >= count - 1)
    _wait_written(sink.recorder)
    cpu = process_cpu_s() - cpu0
    stats, written = sink.stats(), sink.recorder.stats()
    writer = _thread_cpu("record-")
    service.stop()
    video_s = count / 30
    return {
        "video_s": video_s,
        "cpu_s": cpu,
        "cpu_per_video_s": cpu / video_s,
        "encode_cpu_per_video_s": stats.encode_cpu_s / video_s,
        "writer_cpu_per_video_s": writer / video_s,
        "frames_encoded": stats.frames_encoded,
        "frames_shed": stats.frames_shed,
        "size": f"{stats.width}x{stats.height}",
        "kbps": written.bytes_written * 8 / video_s / 1000,
        "segments": written.segments_closed,
    }


def _wait(check: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        time.sleep(0.005)


@dataclass(frozen=True)
class Exported:
    seconds: float
    """Wall time of export_clip."""
    video_s: float
    bundle_bytes: int
    folder: Path


def export_once(base: Path, start: float, video_s: float, out: Path) -> Exported:
    """Tag `video_s` of the 1080p recording from `start` and export it, timed."""
    from app.database import open_database
    from app.evidence.bundle.export import export_clip
    from app.evidence.clips import ClipBook
    from app.evidence.custody import CustodyLog

    db = open_database(BaseDir(base).database)
    try:
        clip = ClipBook(db, CustodyLog(db)).tag("BENCH-1080", start, start + video_s)
    finally:
        db.close()
    began = time.monotonic()
    export_clip(BaseDir(base), clip.id, out)
    took = time.monotonic() - began
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    return Exported(took, video_s, size, out)


def verify_once(folder: Path) -> float:
    """Wall seconds to check one bundle in full (its files' hashes, ledger entries and
    signature), the page cache warm from the export."""
    from app.evidence.bundle.check import verify_bundle

    began = time.monotonic()
    failures = verify_bundle(folder)
    took = time.monotonic() - began
    if failures:
        raise RuntimeError(f"the bundle does not verify: {failures}")
    return took

"""Segment files for the evidence tests: real MPEG-TS made with PyAV, small byte files laid
out the way a recorder lays them out (`<recordings>/<feed>/<seq>.ts`), and whole recordings
made by the real Recorder into a real ledger."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np

if TYPE_CHECKING:
    from app.evidence.ledger import SegmentEntry
    from app.paths import BaseDir
    from media.recording.segment import SegmentInfo

TS_PACKET = 188


def write_segment(root: Path, feed: str, seq: int, data: bytes | None = None) -> Path:
    """A closed segment file `<root>/<feed>/<seq:06d>.ts` holding `data` (by default a few
    bytes that differ per feed and seq)."""
    path = root / feed / f"{seq:06d}.ts"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if data is not None else f"{feed} segment {seq}\n".encode())
    return path


def mpegts_bytes(tmp_dir: Path, frames: int = 10, size: tuple[int, int] = (64, 48)) -> bytes:
    """A real MPEG-TS: `frames` H.264 frames (libx264, the first a key frame) at 10 fps."""
    path = tmp_dir / "made.ts"
    width, height = size
    with av.open(str(path), "w", format="mpegts") as out:
        video = out.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast", "tune": "zerolatency"}
        for i in range(frames):
            picture = np.full((height, width, 3), (i * 20) % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    data = path.read_bytes()
    path.unlink()
    return data


FPS = 15
"""Frames a second of `drone_media`: a frame lasts 1/15 s, the tolerance export tests allow."""


def drone_media(
    path: Path, seconds: float, *, size: tuple[int, int] = (96, 64), audio: bool = True
) -> Path:
    """A small MPEG-TS as a drone sends it: H.264 at FPS with a key frame every second, AAC
    (unless `audio` is false) and MISB KLV telemetry five times a second, muxed by PyAV.
    Each picture is one flat grey level that changes every frame, so frames differ."""
    from media.demo import AUDIO_RATE, YORK, CallerVoice, Orbit
    from media.telemetry.klv import encode_packet

    width, height = size
    start = 1_795_270_500.0  # the telemetry's own clock; any fixed time does
    with av.open(str(path), "w", format="mpegts") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.time_base = Fraction(1, FPS)
        video.codec_context.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "x264-params": f"keyint={FPS}:min-keyint={FPS}:scenecut=0",
        }
        klv = out.add_data_stream("klv")
        sound = out.add_stream("aac", rate=AUDIO_RATE, layout="mono") if audio else None
        voice, orbit = CallerVoice(180), Orbit(YORK)
        for n in range(round(seconds * FPS)):
            picture = np.full((height, width, 3), (n * 7) % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = n, Fraction(1, FPS)
            out.mux(video.encode(frame))
            if n % 3 == 0:
                packet = av.Packet(encode_packet(orbit.at(n / FPS, start + n / FPS)))
                packet.stream = klv
                packet.pts = packet.dts = round(n / FPS * 90_000)
                packet.time_base = Fraction(1, 90_000)
                out.mux(packet)
            while sound is not None and voice.samples < (n + 1) * AUDIO_RATE / FPS:
                out.mux(sound.encode(voice.next_frame()))
        out.mux(video.encode(None))
        if sound is not None:
            out.mux(sound.encode(None))
    return path


def first_pts_s(path: Path) -> float:
    """The first timed packet's pts in seconds, in file order: the packet a segment's
    start_utc describes."""
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.size and packet.pts is not None and packet.time_base is not None:
                return float(packet.pts * packet.time_base)
    raise ValueError(f"{path} has no timed packet")


def record(
    base: BaseDir, feed: str, media: Path, t0: float, segment_s: float = 2.0
) -> list[SegmentEntry]:
    """Record `media` as a live feed named `feed` would be: the real Recorder cuts it into
    segments under the base dir's recordings, and each closed segment enters the real
    ledger with the UTC times a live recording would have had, its first packet (in file
    order) at `t0` plus that packet's place on the media's own clock. Returns the entries."""
    from app.database import open_database
    from app.evidence.ledger import SegmentLedger
    from media.recording.recorder import Recorder, replay

    closed: list[SegmentInfo] = []
    # The feed's name as its folder: the tests' names are safe path components.
    recorder = Recorder(base.recordings / feed, feed, segment_s=segment_s, on_closed=closed.append)
    replay(recorder, str(media))
    assert recorder.stop(), "the recorder's writer did not stop"
    db = open_database(base.database)
    try:
        ledger = SegmentLedger(db, base.recordings)
        origin = first_pts_s(closed[0].path)
        entries = []
        for info in closed:
            start = t0 + first_pts_s(info.path) - origin
            entries.append(
                ledger.add(
                    feed,
                    ledger.next_seq(feed),
                    info.path,
                    start,
                    start + info.duration_s,
                    duration_s=info.duration_s,
                )
            )
        return entries
    finally:
        db.close()

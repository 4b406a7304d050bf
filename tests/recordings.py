"""Segment files for the evidence tests: real MPEG-TS made with PyAV, and small byte files
laid out the way a recorder lays them out (`<recordings>/<feed>/<seq>.ts`)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

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

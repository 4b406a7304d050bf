"""Recordings for the Review tests: a test card encoded with PyAV, put through the real
Recorder, so the segments are what a live feed leaves on disk (stream-copied MPEG-TS cut at
key frames, the source's own timestamps kept).

Every picture carries its frame number as black and white blocks along its bottom edge
(media/testcard.py), so a test reads back which frame a player or a still really shows.
The source's frame `n` is meant to be seen at `T0 + first_pts + n / FPS`: `recorded()`
gives each segment the UTC start a live recording would have had.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

import av

from media.clips.reader import ClipSegment
from media.recording.recorder import Recorder, replay
from media.recording.segment import SegmentInfo
from media.testcard import TestCard

FPS = 10
SIZE = (160, 120)
T0 = dt.datetime(2026, 11, 21, 14, 15, tzinfo=dt.UTC).timestamp()
"""When the test card's clock starts, as Unix time."""


def encode_card(path: Path, seconds: float, *, name: str = "BWV-4521", gop_s: float = 1.0) -> Path:
    """`seconds` of the test card as H.264 in MPEG-TS, FPS frames a second, a key frame
    every `gop_s`, little enough compression that the frame-number blocks stay sharp."""
    keyint = round(gop_s * FPS)
    card = TestCard(name, *SIZE, (90, 160, 255))
    with av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, FPS)
        stream.codec_context.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "crf": "12",
            "x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0",
        }
        clock = dt.datetime.fromtimestamp(T0, dt.UTC)
        for n in range(round(seconds * FPS)):
            picture = card.render(n, clock + dt.timedelta(seconds=n / FPS))
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = n, Fraction(1, FPS)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def record(source: Path, folder: Path, feed: str = "BWV-4521") -> list[SegmentInfo]:
    """Put `source` through a real Recorder with 2 s segments; the closed segments."""
    closed: list[SegmentInfo] = []
    recorder = Recorder(folder, feed, segment_s=2.0, on_closed=closed.append)
    replay(recorder, str(source))
    assert recorder.stop(), "the recorder's writer did not stop"
    return closed


def first_pts_s(source: Path) -> float:
    """The source's first presentation time (the MPEG-TS muxer starts past zero)."""
    with av.open(str(source)) as container:
        packet = next(p for p in container.demux(video=0) if p.pts is not None)
        return float(packet.pts * packet.time_base)


def recorded(info: SegmentInfo) -> tuple[float, float]:
    """The UTC start and end a live recording of the test card gives this segment."""
    start = T0 + info.first_pts_s
    return start, start + info.duration_s


def clip_segments(infos: list[SegmentInfo], root: Path | None = None) -> list[ClipSegment]:
    """The segments as the Review reads them (names relative to `root` when given)."""
    found = []
    for info in infos:
        start, end = recorded(info)
        name = info.path.relative_to(root).as_posix() if root else info.path.name
        found.append(ClipSegment(info.path, start, end, name, info.sha256))
    return found

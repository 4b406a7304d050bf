"""Where every frame of a recorded segment is, in UTC: the first pass of a clip cut.

`index_segment` demuxes one segment (nothing is decoded) and lists the packets of the
stream that decides where a clip may start and end (the video, else the first stream),
each with its pts, its UTC time and whether it is a key frame. A packet's UTC time is the
segment's `start_utc` (when its first packet arrived) plus how far the packet's pts is past
the first packet's pts, read from the file itself (media/clips/cut.py says why).

Streams are matched from segment to segment by kind and order ("video0", "audio0",
"data0"), since each segment is a file of its own with its own stream indexes. No Qt here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import av.container
import av.stream

TS_TIME_BASE = Fraction(1, 90_000)
"""MPEG-TS's clock: every timestamp in a segment counts in it."""


@dataclass(slots=True)
class Frame:
    """A packet of the stream that decides the cut, in decode order (slots: a six-hour
    clip lists some 650 000 of them)."""

    segment: int
    ordinal: int
    """Its place among its segment's packets of that stream, in file order."""
    pts_s: float
    utc: float
    key: bool


@dataclass
class SegmentIndex:
    labels: list[str]
    """Each stream's label, by stream index."""
    codecs: list[str]
    anchor_pts_s: float | None = None
    """The first timed packet's pts (file order): the moment `start_utc` names."""
    last_pts_s: float | None = None
    """The latest pts of any packet in the segment."""
    frames: list[Frame] = field(default_factory=list)

    @property
    def has_video(self) -> bool:
        return "video0" in self.labels


def stream_labels(streams: Sequence[av.stream.Stream]) -> list[str]:
    """ "video0", "audio0", "data0", ...: how streams are matched from segment to segment."""
    seen: dict[str, int] = {}
    labels = []
    for stream in streams:
        n = seen.get(stream.type, 0)
        seen[stream.type] = n + 1
        labels.append(f"{stream.type}{n}")
    return labels


def primary_label(labels: list[str], video: bool) -> str:
    """The stream that decides the cut: the video, else the first."""
    return "video0" if video else (labels[0] if labels else "")


def codec_name(stream: av.stream.Stream) -> str:
    """ "h264", "aac"; a data stream has no codec context, so its name ("klv")."""
    context = getattr(stream, "codec_context", None)
    return str(getattr(context, "name", None) or stream.name or stream.type)


def packet_pts(packet: av.Packet[Any]) -> int | None:
    """Its pts, or its dts where it has none (some data packets)."""
    return packet.pts if packet.pts is not None else packet.dts


def seconds(value: int, time_base: Fraction | None) -> float:
    return float(value * (time_base or TS_TIME_BASE))


def index_segment(
    container: av.container.InputContainer, segment: int, start_utc: float
) -> SegmentIndex:
    """Demux the whole open segment and say where each packet of its deciding stream is."""
    streams = list(container.streams)
    entry = SegmentIndex(stream_labels(streams), [codec_name(s) for s in streams])
    primary = primary_label(entry.labels, entry.has_video)
    ordinal = 0
    for packet in container.demux():
        pts = packet_pts(packet)
        if not packet.size or pts is None:
            continue
        pts_s = seconds(pts, packet.time_base)
        if entry.anchor_pts_s is None:
            entry.anchor_pts_s = pts_s
        if entry.last_pts_s is None or pts_s > entry.last_pts_s:
            entry.last_pts_s = pts_s
        if entry.labels[packet.stream.index] == primary:
            utc = start_utc + pts_s - entry.anchor_pts_s
            entry.frames.append(Frame(segment, ordinal, pts_s, utc, packet.is_keyframe))
            ordinal += 1
    return entry

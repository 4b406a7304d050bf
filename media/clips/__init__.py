"""Recorded clips: cutting them from segments by stream copy, reading and playing them frame by
frame, their frame index, and stills."""

from media.clips.cut import (
    ClipCutError,
    CutResult,
    CutSegment,
    Gap,
    NoRecordingError,
    SegmentChangedError,
    cut_clip,
)
from media.clips.player import SPEEDS, ClipPlayer, PlayState, ShownFrame
from media.clips.reader import (
    ClipDecoder,
    ClipIndex,
    ClipReadError,
    ClipSegment,
    format_utc,
    index_clip,
)
from media.clips.still import Still, write_still

__all__ = [
    "SPEEDS",
    "ClipCutError",
    "ClipDecoder",
    "ClipIndex",
    "ClipPlayer",
    "ClipReadError",
    "ClipSegment",
    "CutResult",
    "CutSegment",
    "Gap",
    "NoRecordingError",
    "PlayState",
    "SegmentChangedError",
    "ShownFrame",
    "Still",
    "cut_clip",
    "format_utc",
    "index_clip",
    "write_still",
]

"""Recording without re-encoding where the codec allows: packets into self-contained MPEG-TS
segments, and a caller's decoded video encoded once."""

from media.recording.caller_recorder import CallerRecorder
from media.recording.recorder import MAX_SEGMENT_S, MIN_SEGMENT_S, SEGMENT_S, Recorder
from media.recording.segment import MPEGTS_OPTIONS, SegmentInfo, fsync_folder

__all__ = [
    "MAX_SEGMENT_S",
    "MIN_SEGMENT_S",
    "MPEGTS_OPTIONS",
    "SEGMENT_S",
    "CallerRecorder",
    "Recorder",
    "SegmentInfo",
    "fsync_folder",
]

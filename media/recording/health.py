"""What a recorder says about itself (`RecorderStats`), and which of its I/O errors end it.

Kept apart from the recorder so the rule is read in one place: a full disk stops recording
until a person acts; every other I/O error may pass, and the recorder tries again at the
next key frame (media/recording/recorder.py).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

STOPS_FOR_GOOD = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})
"""I/O errors that end recording: no room on the disk (or in the quota, or in a file the
process may write), or a disk that went read-only. Trying again at every key frame would
only fill the log and the quarantine with broken `.part`s; a person must act. Every other
OSError (EMFILE and ENFILE when the process or the system is out of descriptors, ENOMEM,
EIO from a flaky link to the disk...) may pass, so the recorder retries."""


def stops_for_good(exc: BaseException) -> bool:
    """Whether an error from the writer ends recording (else it is retried)."""
    return not isinstance(exc, OSError) or exc.errno in STOPS_FOR_GOOD


@dataclass(frozen=True)
class RecorderStats:
    recording: bool
    segments_closed: int
    bytes_written: int
    """In closed segments."""
    packets_written: int
    packets_dropped: int
    """Refused while the writer was behind (the disk too slow): each run of them is a gap."""
    packets_invalid: int
    """Without timestamps, pts before dts, or a decoding time not after the one before."""
    packets_skipped: int
    """Undecodable video before a segment's first key frame, and pre-roll let go."""
    behind_s: float
    """Age of the oldest packet not yet handed to the muxer."""
    queued_bytes: int
    sessions: int
    """Connections begun (the source reconnects: each is a new container)."""
    last_error: str | None
    """Why recording stopped for good, or, while `retrying`, why it is interrupted."""
    retrying: bool = False
    """Interrupted by an error that may pass: the next key frame opens a new segment."""
    interruptions: int = 0
    """Failed attempts to write (each one a retry at the next key frame), since start."""
    last_interruption: str | None = None

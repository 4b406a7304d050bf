"""The latest-frame slot: one per feed, the newer picture replaces the older.

A slow screen therefore never builds a backlog, and memory per feed is bounded by one
picture. Pictures that are replaced before anyone took them are counted as dropped.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Picture:
    """A decoded frame, already converted to 32-bit BGRA at the size it is shown at."""

    pixels: npt.NDArray[np.uint8]
    """Shape (height, width, 4); rows may be padded, see `stride`."""
    width: int
    height: int
    stride: int
    sequence: int
    """Counts decoded frames of the feed from 1."""
    pts_s: float | None
    """Presentation time in the stream, seconds."""
    arrived_at: float
    """Monotonic time the frame's packet came off the network."""
    decoded_at: float
    """Monotonic time the picture was decoded and converted, ready to show."""
    source_width: int
    source_height: int


class FrameSlot:
    """Holds the newest `Picture`; `take()` hands each picture out at most once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._picture: Picture | None = None
        self._fresh = False
        self.dropped = 0

    def put(self, picture: Picture) -> None:
        with self._lock:
            if self._fresh:
                self.dropped += 1
            self._picture = picture
            self._fresh = True

    def take(self) -> Picture | None:
        """The newest picture if it arrived since the last take, else None."""
        with self._lock:
            if not self._fresh:
                return None
            self._fresh = False
            return self._picture

    def peek(self) -> Picture | None:
        """The newest picture, fresh or not (for a repaint after a resize)."""
        with self._lock:
            return self._picture

    def clear(self) -> None:
        with self._lock:
            self._picture = None
            self._fresh = False

"""Per-feed counters the wall and `vigil status` show: frames, fps, bitrate, decode time.

Written by the feed's decode thread only; read by anyone. Each figure is a single
attribute assignment, so readers see a consistent value without a lock.
"""

from __future__ import annotations

import collections
import time

_WINDOW_S = 2.0
_MIN_SPAN_S = 0.5


class RateMeter:
    """Events per second over a sliding window (and the bytes they carried)."""

    def __init__(self, window_s: float = _WINDOW_S) -> None:
        self._window = window_s
        self._events: collections.deque[tuple[float, int]] = collections.deque()
        self._bytes = 0

    def add(self, now: float, size: int = 0) -> None:
        self._events.append((now, size))
        self._bytes += size
        self._trim(now)

    def _trim(self, now: float) -> None:
        while self._events and now - self._events[0][0] > self._window:
            _, size = self._events.popleft()
            self._bytes -= size

    def rate(self, now: float) -> float:
        """Events a second. Measured over half a second at least: a burst (the frames a
        decoder hands out at once on reconnecting) would otherwise read as hundreds a second."""
        self._trim(now)
        if len(self._events) < 2:
            return 0.0
        span = max(now - self._events[0][0], _MIN_SPAN_S)
        return (len(self._events) - 1) / span if span < self._window else len(self._events) / span

    def byte_rate(self, now: float) -> float:
        self._trim(now)
        if not self._events:
            return 0.0
        span = max(now - self._events[0][0], 1e-3)
        return self._bytes / max(span, self._window / 4)


class FeedStats:
    def __init__(self) -> None:
        self.frames = 0
        self.decode_errors = 0
        self.width = 0
        self.height = 0
        self.codec: str | None = None
        self.audio_codec: str | None = None
        self.decode_ms = 0.0
        """Exponential mean of decode plus conversion time per frame."""
        self.last_frame_at: float | None = None
        self.last_packet_at: float | None = None
        self.fps = 0.0
        self.bitrate_bps = 0.0
        self.connects = 0
        self._frame_rate = RateMeter()
        self._packet_rate = RateMeter()

    def on_packet(self, size: int, now: float) -> None:
        self.last_packet_at = now
        self._packet_rate.add(now, size)
        self.bitrate_bps = self._packet_rate.byte_rate(now) * 8

    def on_frame(self, width: int, height: int, work_s: float, now: float) -> None:
        self.frames += 1
        self.width, self.height = width, height
        self.last_frame_at = now
        self._frame_rate.add(now)
        self.fps = self._frame_rate.rate(now)
        ms = work_s * 1000
        self.decode_ms = ms if self.frames == 1 else self.decode_ms * 0.9 + ms * 0.1

    def last_frame_age(self, now: float | None = None) -> float | None:
        if self.last_frame_at is None:
            return None
        return max(0.0, (time.monotonic() if now is None else now) - self.last_frame_at)

    def last_packet_age(self, now: float | None = None) -> float | None:
        if self.last_packet_at is None:
            return None
        return max(0.0, (time.monotonic() if now is None else now) - self.last_packet_at)

    def current_fps(self, now: float | None = None) -> float:
        """Frames per second now; falls to zero when frames stop coming."""
        now = time.monotonic() if now is None else now
        age = self.last_frame_age(now)
        if age is None or age > _WINDOW_S:
            return 0.0
        return self.fps

"""A feed's sound: its level for the tile's meter, and PCM for the one tile being listened to.

The decode thread calls `AudioTap.feed()` with every decoded audio frame. The level is
always kept (cheap); PCM is resampled and buffered only while someone listens, and the
buffer holds at most `MAX_BUFFER_S` so a listener that falls behind hears the present.
"""

from __future__ import annotations

import collections
import math
import threading
import time

import av
import numpy as np

PCM_RATE = 48_000
PCM_CHANNELS = 2
PCM_BYTES_PER_SECOND = PCM_RATE * PCM_CHANNELS * 2
MAX_BUFFER_S = 0.5
SILENCE_DB = -60.0


def level_dbfs(frame: av.AudioFrame) -> float:
    """RMS level of a decoded frame in dB below full scale, floored at `SILENCE_DB`."""
    samples = frame.to_ndarray()
    if samples.size == 0:
        return SILENCE_DB
    if np.issubdtype(samples.dtype, np.integer):
        full_scale = float(2 ** (8 * samples.dtype.itemsize - 1))
        data = samples.astype(np.float32) / full_scale
    else:
        data = samples.astype(np.float32, copy=False)
    rms = float(np.sqrt(np.mean(np.square(data))))
    if rms <= 0:
        return SILENCE_DB
    return max(SILENCE_DB, 20 * math.log10(rms))


class AudioTap:
    def __init__(self) -> None:
        self.present = False
        self.level_db = SILENCE_DB
        self.level_at: float | None = None
        self._listening = False
        self._lock = threading.Lock()
        self._pcm: collections.deque[bytes] = collections.deque()
        self._pcm_bytes = 0
        self._resampler: av.AudioResampler | None = None

    @property
    def listening(self) -> bool:
        return self._listening

    def set_listening(self, listening: bool) -> None:
        with self._lock:
            self._listening = listening
            self._pcm.clear()
            self._pcm_bytes = 0

    def feed(self, frame: av.AudioFrame) -> None:
        self.present = True
        self.level_db = level_dbfs(frame)
        self.level_at = time.monotonic()
        if not self._listening:
            self._resampler = None
            return
        if self._resampler is None:
            self._resampler = av.AudioResampler(format="s16", layout="stereo", rate=PCM_RATE)
        chunks = [
            bytes(out.planes[0])[: out.samples * 4] for out in self._resampler.resample(frame)
        ]
        with self._lock:
            for chunk in chunks:
                self._pcm.append(chunk)
                self._pcm_bytes += len(chunk)
            while self._pcm_bytes > PCM_BYTES_PER_SECOND * MAX_BUFFER_S and self._pcm:
                self._pcm_bytes -= len(self._pcm.popleft())

    def level(self, now: float | None = None) -> float:
        """The current level; silence once no audio came for half a second."""
        at = self.level_at
        now = time.monotonic() if now is None else now
        if at is None or now - at > 0.5:
            return SILENCE_DB
        return self.level_db

    def read_pcm(self, max_bytes: int) -> bytes:
        """Up to `max_bytes` of buffered s16 stereo 48 kHz PCM, oldest first."""
        out = bytearray()
        with self._lock:
            while self._pcm and len(out) < max_bytes:
                chunk = self._pcm.popleft()
                room = max_bytes - len(out)
                if len(chunk) > room:
                    room -= room % 4
                    self._pcm.appendleft(chunk[room:])
                    chunk = chunk[:room]
                out += chunk
                self._pcm_bytes -= len(chunk)
        return bytes(out)

"""The phone's camera for the caller benchmark: a .y4m loop of numbered test-card frames.

Chromium plays it as its fake camera (`--use-file-for-fake-video-capture`), looping at
the file's own rate. Each picture comes from `media.testcard.TestCard`, so it carries its
frame number as a barcode along the bottom edge; the number repeats every `frames`
frames, which bounds the delay that can be told apart (half the loop: 2 s at 120 frames).
The file is raw I420 (1.38 MB a 720p frame), made once and cached under
bench-results/streams/.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from media.testcard import TestCard
from tests.benchmarks.loops import CACHE_DIR

FORMAT_VERSION = 1
"""Bump when the pictures below change, so a stale card is not played."""


@dataclass(frozen=True)
class CardSpec:
    width: int = 1280
    height: int = 720
    fps: int = 30
    frames: int = 120

    @property
    def path(self) -> Path:
        name = f"card-{self.width}x{self.height}-{self.fps}fps-{self.frames}f"
        return CACHE_DIR / f"{name}-v{FORMAT_VERSION}.y4m"

    @property
    def loop_s(self) -> float:
        return self.frames / self.fps

    @property
    def bar_rows(self) -> int:
        """Rows of the frame-number strip (as `TestCard` draws it)."""
        return max(4, round(self.height / 24))


def ensure_card(spec: CardSpec) -> Path:
    """The cached .y4m for `spec`, written first if it is not there yet."""
    if spec.path.exists():
        return spec.path
    spec.path.parent.mkdir(parents=True, exist_ok=True)
    card = TestCard("CALLER 720p", spec.width, spec.height, (255, 170, 90))
    tmp = spec.path.with_suffix(".part")
    with open(tmp, "wb") as out:
        # C420jpeg: 4:2:0 with centred chroma, what swscale's yuv420p gives.
        out.write(
            f"YUV4MPEG2 W{spec.width} H{spec.height} F{spec.fps}:1 Ip A1:1 C420jpeg\n".encode()
        )
        for number in range(spec.frames):
            frame = av.VideoFrame.from_ndarray(card.render(number), format="rgb24")
            yuv = frame.reformat(format="yuv420p")
            out.write(b"FRAME\n")
            for index, plane in enumerate(yuv.planes):
                width = spec.width if index == 0 else spec.width // 2
                height = spec.height if index == 0 else spec.height // 2
                rows = np.frombuffer(memoryview(plane), np.uint8).reshape(height, -1)
                out.write(np.ascontiguousarray(rows[:, :width]).tobytes())
    os.replace(tmp, spec.path)
    return spec.path


def read_luma_number(luma: np.ndarray, width: int, height: int, bits: int = 16) -> int:
    """The frame number from a decoded picture's Y plane (rows may be padded): the middle
    row of the bottom strip, as `media.testcard.read_frame_number` samples it."""
    row = luma[height - max(1, round(height / 48))]
    cell = width / bits
    number = 0
    for bit in range(bits):
        number = (number << 1) | int(row[int((bit + 0.5) * cell)] > 127)
    return number

"""Pictures built in code for tests that need a feed's output without a network."""

from __future__ import annotations

import time

import numpy as np

from media.live.slot import Picture


def solid_picture(
    width: int,
    height: int,
    bgr: tuple[int, int, int],
    sequence: int = 1,
    *,
    arrived_at: float | None = None,
) -> Picture:
    """A BGRA picture of one colour, as a decode thread would put in a slot."""
    pixels = np.empty((height, width, 4), np.uint8)
    pixels[..., 0], pixels[..., 1], pixels[..., 2] = bgr
    pixels[..., 3] = 255
    return Picture(
        pixels=pixels,
        width=width,
        height=height,
        stride=width * 4,
        sequence=sequence,
        pts_s=sequence / 30,
        arrived_at=time.monotonic() if arrived_at is None else arrived_at,
        decoded_at=time.monotonic(),
        source_width=width,
        source_height=height,
    )

"""Moving test pictures for the demo wall, the tests and the benchmarks.

Each picture shows a scrolling colour field and a moving block (so a frozen feed is
obvious), the feed's name, a running clock, and the frame number as a row of black and
white blocks along the bottom edge that `read_frame_number()` reads back from a screenshot.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

NUMBER_BITS = 16
_BAR_ROWS = 1 / 24  # the frame-number strip's height, as a share of the picture's height

Pixels = npt.NDArray[np.uint8]


@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


class TestCard:
    """Draws frame `n` of one feed's moving picture as RGB24."""

    __test__ = False  # not a pytest class

    def __init__(self, name: str, width: int, height: int, hue: tuple[int, int, int]) -> None:
        self.name = name
        self.width = width
        self.height = height
        x = np.linspace(0.0, 1.0, width, dtype=np.float32)
        y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
        base = np.empty((height, width, 3), np.float32)
        for channel, weight in enumerate(hue):
            base[..., channel] = (
                (0.25 + 0.5 * np.abs(np.sin(np.pi * (x * 2 + channel / 3))))
                * (0.55 + 0.45 * y)
                * weight
            )
        # Twice as wide, so scrolling is a slice rather than a copy of np.roll.
        self._field = np.concatenate([base, base], axis=1).clip(0, 255).astype(np.uint8)
        self._bar_h = max(4, round(height * _BAR_ROWS))
        self._label_size = max(10, height // 14)

    def render(self, number: int, clock: dt.datetime | None = None) -> Pixels:
        w, h = self.width, self.height
        shift = (number * 4) % w
        picture = np.ascontiguousarray(self._field[:, shift : shift + w])
        # A block that sweeps across: motion a viewer sees at once.
        side = h // 5
        span = max(1, w - side)
        pos = (number * 7) % (2 * span)
        x0 = pos if pos < span else 2 * span - pos
        y0 = h // 2 - side // 2
        picture[y0 : y0 + side, x0 : x0 + side] = (240, 240, 240)
        self._draw_label(picture, clock or dt.datetime.now(dt.UTC), number)
        write_frame_number(picture, number, self._bar_h)
        return picture

    def _draw_label(self, picture: Pixels, clock: dt.datetime, number: int) -> None:
        size = self._label_size
        strip_h = size * 2 + size // 2
        strip = Image.new("RGB", (self.width, strip_h), (12, 14, 18))
        draw = ImageDraw.Draw(strip)
        draw.text((size // 2, size // 6), self.name, fill=(255, 255, 255), font=_font(size))
        stamp = clock.strftime("%H:%M:%S.") + f"{clock.microsecond // 100_000}Z  #{number}"
        draw.text(
            (size // 2, size + size // 4), stamp, fill=(255, 214, 90), font=_font(size * 4 // 5)
        )
        top = self.height - self._bar_h - strip_h
        picture[top : top + strip_h] = np.asarray(strip)


def write_frame_number(picture: Pixels, number: int, bar_h: int) -> None:
    """Paint `number` into the bottom `bar_h` rows, most significant bit on the left."""
    h, w = picture.shape[:2]
    cell = w // NUMBER_BITS
    for bit in range(NUMBER_BITS):
        on = (number >> (NUMBER_BITS - 1 - bit)) & 1
        picture[h - bar_h :, bit * cell : (bit + 1) * cell] = 255 if on else 0


def read_frame_number(picture: Pixels) -> int:
    """Read the number `write_frame_number` painted, from a picture at any scale (RGB or BGRA)."""
    h, w = picture.shape[:2]
    row = picture[h - max(1, round(h * _BAR_ROWS / 2)), :, :3].astype(np.int32).mean(axis=1)
    cell = w / NUMBER_BITS
    number = 0
    for bit in range(NUMBER_BITS):
        centre = int((bit + 0.5) * cell)
        number = (number << 1) | int(row[centre] > 127)
    return number

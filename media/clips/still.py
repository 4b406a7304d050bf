"""A still from a recording, for a report or a court: one frame as a PNG, what it is written
in a band under the picture, and the PNG's own SHA-256 beside it.

The picture is the frame exactly as decoded, at its full size, pixel for pixel (PNG is
lossless, so anyone can decode the same frame from the same segment and compare). The band
under it says what the frame is (feed, UTC time, frame number, clip, source segment); the
same facts go into the PNG's text chunks for tools. `<name>.png.sha256` holds the file's
hash in `sha256sum` format, so `sha256sum -c` checks it. No Qt here: Pillow draws the text.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from media.clips.reader import Pixels

BAND_COLOUR = (16, 19, 24)
RULE_COLOUR = (58, 67, 80)
"""A line between picture and band, so the picture's own bottom edge is never mistaken
for the start of the band (or the other way round)."""
TEXT_COLOUR = (230, 233, 238)
FIRST_LINE_COLOUR = (255, 214, 90)


@dataclass(frozen=True)
class Still:
    path: Path
    sha256: str
    hash_path: Path
    """`<name>.png.sha256`, in sha256sum's format."""
    width: int
    height: int
    """Of the whole PNG, band included; the picture is its top-left frame-sized corner."""


@functools.lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def write_still(
    rgb: Pixels,
    lines: Sequence[str],
    out: Path,
    metadata: Mapping[str, str] | None = None,
) -> Still:
    """Write `rgb` (height, width, 3) with `lines` in a band beneath it to `out` (a PNG),
    then `out` + ".sha256". The canvas is widened, never the picture scaled, when the text
    is wider than the picture. The PNG appears whole or not at all (written beside and
    renamed)."""
    height, width = rgb.shape[:2]
    # Pillow's built-in font: the same letters on every machine, whatever fonts it has. It
    # has no multiplication sign, so callers write "640x360".
    size = max(13, min(24, width // 48))
    font = _font(size)
    line_h = round(size * 1.45)
    pad = size // 2 + 4
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_w = max((round(measure.textlength(line, font=font)) for line in lines), default=0)
    canvas_w = max(width, text_w + 2 * pad)
    band_h = line_h * len(lines) + 2 * pad
    canvas = Image.new("RGB", (canvas_w, height + band_h), BAND_COLOUR)
    canvas.paste(Image.fromarray(np.ascontiguousarray(rgb[..., :3]), "RGB"), (0, 0))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, height, canvas_w - 1, height + 1), fill=RULE_COLOUR)
    for n, line in enumerate(lines):
        colour = FIRST_LINE_COLOUR if n == 0 else TEXT_COLOUR
        draw.text((pad, height + pad + n * line_h), line, fill=colour, font=font)
    info = PngInfo()
    for key, value in (metadata or {}).items():
        info.add_itxt(key, value)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            canvas.save(file, "PNG", pnginfo=info)
            file.flush()
            os.fsync(file.fileno())
        os.replace(part, out)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise
    sha256 = hashlib.sha256(out.read_bytes()).hexdigest()
    hash_path = out.with_name(out.name + ".sha256")
    hash_path.write_text(f"{sha256}  {out.name}\n", encoding="utf-8")
    return Still(out, sha256, hash_path, canvas_w, height + band_h)

"""Stills: a decoded frame as a PNG, pixel for pixel, with what it is written beneath it and
its hash beside it in sha256sum's format."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

from media.clips.still import BAND_COLOUR, write_still


def picture(width: int, height: int) -> np.ndarray:
    """A picture no two neighbouring pixels of which are alike."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([(x * 7) % 256, (y * 11) % 256, (x + y) % 256], axis=-1).astype(np.uint8)


def sha256sum_check(hash_file: Path) -> int:
    """`sha256sum -c` run where the hash file is, as someone receiving the still would."""
    command = ["sha256sum", "--quiet", "-c", hash_file.name]
    return subprocess.run(command, cwd=hash_file.parent, check=False).returncode


def test_still_keeps_the_picture_exactly_and_writes_its_hash(tmp_path: Path) -> None:
    """In: a 320x180 picture and three lines. Out: a PNG whose top-left 320x180 is the
    picture, byte for byte, over a band holding text; its iTXt chunks; `NAME.png.sha256`
    that `sha256sum -c` accepts, and fails once the PNG changes."""
    rgb = picture(320, 180)
    lines = ["BWV-4521 (bodycam)  ·  2026-11-21 14:15:03.000 UTC", "clip CLIP-1", "segment x.ts"]
    still = write_still(rgb, lines, tmp_path / "stills" / "frame.png", {"Vigil-Clip": "CLIP-1"})
    assert still.path == tmp_path / "stills" / "frame.png"
    with Image.open(still.path) as image:
        assert image.format == "PNG"
        assert image.text["Vigil-Clip"] == "CLIP-1"
        pixels = np.asarray(image.convert("RGB"))
    assert (still.width, still.height) == (pixels.shape[1], pixels.shape[0])
    assert np.array_equal(pixels[:180, :320], rgb)
    band = pixels[180:]
    assert band.shape[0] >= 3 * 12, "a line of text needs at least 12 pixels"
    assert (band == BAND_COLOUR).all(axis=-1).mean() > 0.7, "the band is mostly background"
    assert (band.max(axis=-1) > 180).any(), "and holds light text"
    assert still.hash_path.read_text() == f"{still.sha256}  frame.png\n"
    assert sha256sum_check(still.hash_path) == 0
    still.path.write_bytes(still.path.read_bytes() + b"\0")
    assert sha256sum_check(still.hash_path) == 1


def test_a_narrow_picture_widens_the_canvas_never_shrinks_the_text(tmp_path: Path) -> None:
    """In: a 64x48 picture with a line far wider. Out: the canvas is as wide as the text
    needs; the picture sits unscaled in its top-left corner, background beside it."""
    rgb = picture(64, 48)
    still = write_still(rgb, ["a line far wider than sixty-four pixels"], tmp_path / "n.png")
    with Image.open(still.path) as image:
        pixels = np.asarray(image.convert("RGB"))
    assert pixels.shape[1] > 64
    assert np.array_equal(pixels[:48, :64], rgb)
    assert (pixels[:48, 64:] == BAND_COLOUR).all()
    assert not list(tmp_path.glob("*.part"))

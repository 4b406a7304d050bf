"""A decoded frame's last step to the wall (media/live/picture_out.py): converted once to
BGRA at the size its tile shows it, with the picture's shape kept, and compared here
numerically with its source. No Qt."""

from __future__ import annotations

import time
from fractions import Fraction

import av
import numpy as np
import pytest
from av.video.reformatter import Interpolation

from media.live.backoff import Backoff
from media.live.feed import Connection, Feed, FeedKind, FeedSpec, FeedState
from media.live.picture_out import PictureOut, fit_size, scaler_for

QUADRANTS = {  # RGB of each quarter of the source picture
    "top left": (220, 30, 30),
    "top right": (30, 200, 40),
    "bottom left": (40, 50, 210),
    "bottom right": (230, 230, 230),
}


def source_frame(width: int = 640, height: int = 360, pts: int = 90_000) -> av.VideoFrame:
    """A frame as a decoder gives one (yuv420p) of four flat quarters, and its time 1 s."""
    rgb = np.empty((height, width, 3), np.uint8)
    h2, w2 = height // 2, width // 2
    rgb[:h2, :w2] = QUADRANTS["top left"]
    rgb[:h2, w2:] = QUADRANTS["top right"]
    rgb[h2:, :w2] = QUADRANTS["bottom left"]
    rgb[h2:, w2:] = QUADRANTS["bottom right"]
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    frame.pts = pts
    frame.time_base = Fraction(1, 90_000)
    return frame


def quadrant_means(pixels: np.ndarray, width: int, height: int) -> dict[str, tuple[int, ...]]:
    """Mean RGB of each quarter's middle (away from the edges scaling blurs), from BGRA."""
    h4, w4 = height // 4, width // 4
    centres = {
        "top left": (h4, w4),
        "top right": (h4, 3 * w4),
        "bottom left": (3 * h4, w4),
        "bottom right": (3 * h4, 3 * w4),
    }
    means = {}
    for name, (y, x) in centres.items():
        block = pixels[y - h4 // 2 : y + h4 // 2, x - w4 // 2 : x + w4 // 2, :3].astype(float)
        b, g, r = block.reshape(-1, 3).mean(axis=0)
        means[name] = (round(r), round(g), round(b))
    return means


def feed(display: tuple[int, int]) -> Feed:
    out = Feed(FeedSpec("Cam 1", FeedKind.CAMERA, "udp://127.0.0.1:9"))
    out.set_display_size(*display)
    return out


def test_a_frame_is_shown_at_its_tiles_size_with_its_colours() -> None:
    """In: a 640x360 yuv420p frame of four flat coloured quarters, at 1 s, arrived at t,
    for a feed shown at 320x180 that was reconnecting (its backoff used twice). Out: one
    picture in the slot, 320x180 BGRA (stride at least 1280, alpha 255), source size
    640x360, sequence 1, pts 1.0, arrived at t; each quarter's colour within 6 of the
    source's on every channel; the feed live with its backoff back at its first delay,
    one frame counted at 640x360; the feed's picture listener called once."""
    out = feed((320, 180))
    out.set_connection(Connection(FeedState.RECONNECTING, "refused", 1.0))
    backoff = Backoff()
    backoff.next_delay()
    backoff.next_delay()
    heard: list[Feed] = []
    out.picture_listener = heard.append
    arrived = time.monotonic()
    PictureOut(out, backoff).deliver(source_frame(), arrived, time.perf_counter())
    picture = out.slot.take()
    assert picture is not None
    assert (picture.width, picture.height) == (320, 180)
    assert (picture.source_width, picture.source_height) == (640, 360)
    assert picture.stride >= 320 * 4
    assert picture.pixels.shape[0] == 180
    assert (picture.sequence, picture.pts_s, picture.arrived_at) == (1, 1.0, arrived)
    shown = picture.pixels[:, :320]
    assert (shown[..., 3] == 255).all()
    means = quadrant_means(shown, 320, 180)
    for name, rgb in QUADRANTS.items():
        assert np.abs(np.subtract(means[name], rgb)).max() <= 6, (name, means[name], rgb)
    assert out.connection == Connection(FeedState.LIVE)
    assert backoff.next_delay() == 0.5
    assert (out.stats.frames, out.stats.width, out.stats.height) == (1, 640, 360)
    assert heard == [out]


def test_an_anamorphic_frame_keeps_its_shape_and_colours() -> None:
    """In: a 640x360 frame whose samples are twice as wide as tall (SAR 2:1), for a tile of
    320x180. Out: a 320x90 picture (the 32:9 it is shown at, inside the tile), the quarters'
    colours within 6 of the source's; a second frame makes sequence 2."""
    out = feed((320, 180))
    picture_out = PictureOut(out)
    picture_out.sar = Fraction(2, 1)
    picture_out.deliver(source_frame(), time.monotonic(), time.perf_counter())
    picture = out.slot.take()
    assert picture is not None
    assert (picture.width, picture.height) == (320, 90)
    means = quadrant_means(picture.pixels[:, :320], 320, 90)
    for name, rgb in QUADRANTS.items():
        assert np.abs(np.subtract(means[name], rgb)).max() <= 6, (name, means[name], rgb)
    picture_out.deliver(source_frame(), time.monotonic(), time.perf_counter())
    second = out.slot.take()
    assert second is not None
    assert second.sequence == 2


def test_a_tile_not_shown_gets_no_picture_but_the_feed_is_live_and_counted() -> None:
    """In: a frame for a feed whose tile is hidden (display size 0x0). Out: nothing in the
    slot (no conversion), the feed live and the frame counted."""
    out = feed((0, 0))
    PictureOut(out).deliver(source_frame(), time.monotonic(), time.perf_counter())
    assert out.slot.take() is None
    assert out.connection.state is FeedState.LIVE
    assert out.stats.frames == 1


@pytest.mark.parametrize(
    ("source", "box", "sar", "size"),
    [
        ((1920, 1080), (480, 270), None, (480, 270)),
        ((1920, 1080), (480, 480), None, (480, 270)),  # letterboxed: width decides
        ((640, 480), (480, 270), None, (360, 270)),  # pillarboxed: height decides
        ((720, 576), (1024, 576), Fraction(16, 15), (768, 576)),  # PAL 4:3 samples
        ((321, 241), (333, 333), None, (332, 250)),  # even sizes only (333x250 before)
        ((1920, 1080), (1, 1), None, (2, 2)),  # never below 2x2
    ],
)
def test_fit_size(
    source: tuple[int, int], box: tuple[int, int], sar: Fraction | None, size: tuple[int, int]
) -> None:
    """In: a source size, a tile's box and a sample aspect ratio. Out: the largest even
    size inside the box with the picture's display aspect ratio."""
    assert fit_size(*source, *box, sar) == size


def test_area_averaging_shrinks_by_half_or_more_bilinear_otherwise() -> None:
    """In: a 640x360 frame to 320x180, 321x181, 160x360 and 1280x720. Out: AREA for the
    halving and the halving of one side, BILINEAR for gentler shrinking and enlarging."""
    frame = source_frame()
    assert scaler_for(frame, 320, 180) is Interpolation.AREA
    assert scaler_for(frame, 160, 360) is Interpolation.AREA
    assert scaler_for(frame, 321, 181) is Interpolation.BILINEAR
    assert scaler_for(frame, 1280, 720) is Interpolation.BILINEAR

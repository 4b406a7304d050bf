"""The test card's frame number survives H.264 and scaling, so benchmarks and tests can read it back."""

from fractions import Fraction

import av
import numpy as np

from media.testcard import TestCard, read_frame_number


def test_frame_number_round_trips_through_h264_and_scaling() -> None:
    """Frames 0..29 encoded at 640x360, decoded and shrunk to 320x180: each number reads back."""
    card = TestCard("BWV-1", 640, 360, (90, 160, 255))
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = 640, 360, "yuv420p"
    codec.time_base = Fraction(1, 30)
    codec.options = {"preset": "ultrafast", "tune": "zerolatency"}
    decoder = av.CodecContext.create("h264", "r")
    seen = []
    numbers = [*range(30), 4242, 65535]
    for i, number in enumerate(numbers):
        frame = av.VideoFrame.from_ndarray(card.render(number), format="rgb24")
        frame.pts = i
        for packet in codec.encode(frame):
            for decoded in decoder.decode(packet):
                small = decoded.reformat(320, 180, "bgra").to_ndarray()
                seen.append(read_frame_number(small))
    for packet in codec.encode(None):
        for decoded in decoder.decode(packet):
            seen.append(read_frame_number(decoded.reformat(320, 180, "bgra").to_ndarray()))
    assert seen == numbers


def test_picture_moves_between_frames() -> None:
    card = TestCard("Drone", 320, 180, (110, 220, 140))
    a, b = card.render(0), card.render(10)
    assert a.shape == (180, 320, 3)
    changed = np.mean(np.any(a != b, axis=2))
    assert changed > 0.3, "consecutive pictures must visibly differ (a frozen feed must be obvious)"

"""Feed statistics: fps over a window, bitrate, frame age; figures fall to zero when frames stop."""

import pytest

from media.live.stats import FeedStats, RateMeter


def test_rate_meter_counts_events_per_second() -> None:
    meter = RateMeter(window_s=2.0)
    for i in range(31):  # 30 intervals over one second
        meter.add(100.0 + i / 30)
    assert meter.rate(101.0) == pytest.approx(30, rel=0.05)


def test_fps_and_age_follow_frames_then_fall_to_zero() -> None:
    stats = FeedStats()
    for i in range(50):
        stats.on_frame(1280, 720, 0.004, 10.0 + i / 25)
    assert stats.frames == 50
    assert (stats.width, stats.height) == (1280, 720)
    assert stats.current_fps(now=12.0) == pytest.approx(25, rel=0.1)
    assert stats.last_frame_age(now=12.5) == pytest.approx(0.54, abs=0.01)
    assert stats.current_fps(now=20.0) == 0.0, "a feed with no frames for seconds shows 0 fps"
    assert stats.decode_ms == pytest.approx(4.0)


def test_bitrate_from_packet_sizes() -> None:
    stats = FeedStats()
    for i in range(100):
        stats.on_packet(1250, 5.0 + i / 50)  # 50 packets/s of 10 kbit: 500 kbit/s
    assert stats.bitrate_bps == pytest.approx(500_000, rel=0.1)


def test_a_burst_of_frames_on_reconnecting_is_not_hundreds_a_second() -> None:
    """In: a feed live at 25 fps for 2 s, silent for 3 s (reconnecting), then 12 frames
    handed out within 10 ms as the decoder catches up, then 25 fps again for 2.5 s.
    Out: right after the burst the rate reads at most 24 a second (not the 1,100 that
    12 frames in 10 ms would be); once the burst is out of the 2 s window it reads 25
    within 10%."""
    stats = FeedStats()
    for i in range(50):
        stats.on_frame(640, 360, 0.002, 10.0 + i / 25)
    for i in range(12):
        stats.on_frame(640, 360, 0.002, 15.0 + i / 1200)
    assert stats.fps <= 24, stats.fps
    for i in range(1, 63):
        stats.on_frame(640, 360, 0.002, 15.01 + i / 25)
    assert stats.fps == pytest.approx(25, rel=0.1)

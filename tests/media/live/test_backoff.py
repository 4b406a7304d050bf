"""Reconnect timing (media/live/backoff.py): the delays themselves, with no clock."""

from media.live.backoff import Backoff


def test_backoff_waits_half_a_second_then_a_second_and_resets() -> None:
    """In: a fresh Backoff, asked five times, reset, asked again; one with a 5 s cap.
    Out: 0.5, 1, 1, 1, 1 seconds (never longer: a returning server is seen within a
    second), then 0.5 again after the reset; with a 5 s cap, 0.5, 1, 2, 4, 5."""
    backoff = Backoff()
    assert [backoff.next_delay() for _ in range(5)] == [0.5, 1.0, 1.0, 1.0, 1.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5
    capped = Backoff(limit_s=5.0)
    assert [capped.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 4.0, 5.0]

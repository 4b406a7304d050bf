"""Reconnect timing (media/live/backoff.py): the delays themselves, with no clock."""

from media.live.backoff import Backoff


def test_backoff_doubles_from_half_a_second_to_five_and_resets() -> None:
    """In: a fresh Backoff, asked seven times, reset, asked again.
    Out: 0.5, 1, 2, 4, 5, 5, 5 seconds, then 0.5 again after the reset."""
    backoff = Backoff()
    assert [backoff.next_delay() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5

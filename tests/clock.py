"""One clock for tests: time that stands still until the test moves it.

Code under test takes a `clock` (a callable giving seconds, Unix or monotonic: the test
decides); handing it a `Clock` makes every time it reads exact, so a test can assert
durations, expiries and ages to the decimal instead of allowing for a busy machine.
"""

from __future__ import annotations


class Clock:
    """Seconds the test moves by hand: `clock()` reads them, `advance(s)` moves them on.

    `step` moves the clock on by itself at every reading (before it is read), for code
    that should see each event a moment after the last one."""

    def __init__(self, now: float = 1_000.0, *, step: float = 0.0) -> None:
        self.now = now
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

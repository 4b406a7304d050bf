"""Reconnect timing: 0.5 s, doubling to at most 5 s; reset once a feed is live again."""

from __future__ import annotations


class Backoff:
    def __init__(self, first_s: float = 0.5, limit_s: float = 5.0) -> None:
        self._first = first_s
        self._limit = limit_s
        self._next = first_s

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self._limit)
        return delay

    def reset(self) -> None:
        self._next = self._first

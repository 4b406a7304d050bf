"""Reconnect timing: 0.5 s, then once a second while a feed stays lost; reset once it is
live again.

A control room wants a feed back within two seconds of its server returning (an RTSP
server's restart, a drone's link coming back), so the wait never grows past a second: one
attempt a second is no hammering (a refused connection costs the server nothing, and a
slow one is bounded by the source's open timeout), while a longer cap made the picture
come back up to five seconds late.
"""

from __future__ import annotations


class Backoff:
    def __init__(self, first_s: float = 0.5, limit_s: float = 1.0) -> None:
        self._first = first_s
        self._limit = limit_s
        self._next = first_s

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self._limit)
        return delay

    def reset(self) -> None:
        self._next = self._first

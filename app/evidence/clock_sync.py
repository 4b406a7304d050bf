"""Whether this machine's clock is synchronised, as the kernel reports it.

Each ledger entry records it beside its UTC times, so a court can tell a time taken from
an NTP- or PTP-disciplined clock from one taken from a free-running one. Linux answers
`adjtimex(2)` with `modes = 0` (read only, no privilege needed): the return value is
TIME_ERROR (5) or the status has STA_UNSYNC when the clock is not synchronised;
otherwise `maxerror` is the kernel's bound on the error, in microseconds. It is called
through ctypes, not by running `timedatectl` or `chronyc`: a call per segment must cost
microseconds and must not depend on which daemon the force installed.

The answer is one of three strings: "synchronised ±N ms", "unsynchronised", "unknown"
(not Linux, or the call failed).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
import sys

UNKNOWN = "unknown"
UNSYNCHRONISED = "unsynchronised"
TIME_ERROR = 5
"""adjtimex's return value when the clock is not synchronised."""
STA_UNSYNC = 0x0040


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    """glibc's `struct timex` (<sys/timex.h>); its fields are `long` on every Linux ABI
    Vigil ships for (x86-64, arm64)."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        # The kernel writes into this reserved tail; it must be there.
        ("_reserved", ctypes.c_int * 11),
    ]


def describe(result: int, status: int, maxerror_us: int) -> str:
    """The text for one adjtimex answer. The bound is rounded up: a court is told at most
    what the kernel guarantees, never a tighter figure."""
    if result < 0:
        return UNKNOWN
    if result == TIME_ERROR or status & STA_UNSYNC:
        return UNSYNCHRONISED
    return f"synchronised ±{math.ceil(maxerror_us / 1000)} ms"


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def clock_sync() -> str:
    """The clock's synchronisation state now (the module docstring lists the answers)."""
    if not sys.platform.startswith("linux"):
        return UNKNOWN
    try:
        timex = _Timex()  # modes = 0: read, change nothing
        result = int(_libc().adjtimex(ctypes.byref(timex)))
    except (OSError, AttributeError):  # no libc found, or one without adjtimex
        return UNKNOWN
    return describe(result, timex.status, timex.maxerror)

"""Background threads' priority: work that must never slow the wall runs nicer than it.

The wall's decode threads and the GUI run at the program's own niceness; the caller
encoders (media/recording/caller_recorder.py) and retention (app/evidence/retention.py) lower their
own thread's, so on a contested core the pictures win and the background work falls behind (where it
sheds or waits, and says so) instead. No Qt here."""

from __future__ import annotations

import contextlib
import os
import sys
import threading


def lower_priority(nice: int) -> None:
    """Make the calling thread `nice` steps nicer. Linux only: there niceness belongs to
    each thread; elsewhere it is the whole program's, so it is left alone. Quietly does
    nothing where the system refuses."""
    if nice <= 0 or sys.platform != "linux":
        return
    tid = threading.get_native_id()
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)

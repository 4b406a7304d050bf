"""The measured window, as both caller receivers (caller_wall.py, caller_bare.py) take it:
CPU snapshots and resource usage at its start and end, and the figures between them.
"""

from __future__ import annotations

import argparse
import resource
import threading
import time
from typing import Any

from tests.benchmarks import measure


def usage() -> dict[str, float]:
    """User and system CPU seconds and context switches of the whole process so far."""
    u = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "user_s": u.ru_utime,
        "system_s": u.ru_stime,
        "voluntary_switches": u.ru_nvcsw,
        "forced_switches": u.ru_nivcsw,
    }


def usage_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before[k] for k in before}


def thread_groups() -> dict[int, str]:
    """Native thread id -> "gui" (main thread: Qt or the bare asyncio loop, aiohttp,
    aiortc's RTP and SRTP), "decode" (aiortc's decoder threads), "convert" (the wall's
    `feed-NAME` threads), or "other" (Qt's and libraries' own threads)."""
    groups = dict.fromkeys(measure.thread_cpu_s(), "other")
    for thread in threading.enumerate():
        if thread.native_id is None:
            continue
        if thread is threading.main_thread():
            groups[thread.native_id] = "gui"
        elif thread.name.endswith("-decoder"):
            groups[thread.native_id] = "decode"
        elif thread.name.startswith("feed-"):
            groups[thread.native_id] = "convert"
    return groups


def cpu_by_group(
    before: measure.CpuSnapshot, after: measure.CpuSnapshot, groups: dict[int, str]
) -> dict[str, float]:
    spent: dict[str, float] = {}
    for tid, end in after.threads.items():
        group = groups.get(tid, "other")
        spent[group] = spent.get(group, 0.0) + end - before.threads.get(tid, 0.0)
    return spent


def opened() -> dict[str, Any]:
    """The window's start: merge into the receiver's window record."""
    return {"start": time.monotonic(), "cpu": measure.snapshot(), "usage": usage()}


def closed() -> dict[str, Any]:
    """The window's end: merge into the same record."""
    return {
        "end": time.monotonic(),
        "cpu_end": measure.snapshot(),
        "usage_end": usage(),
        "groups": thread_groups(),
    }


def figures(window: dict[str, Any]) -> dict[str, Any]:
    """What a record with both `opened()` and `closed()` in it measured."""
    before, after = window["cpu"], window["cpu_end"]
    return {
        "window": [window["start"], window["end"]],
        "seconds": window["end"] - window["start"],
        "cpu_s": after.process_s - before.process_s,
        "machine_busy_s": after.machine_busy_s - before.machine_busy_s,
        "cpu_by_thread": cpu_by_group(before, after, window["groups"]),
        "usage": usage_delta(window["usage"], window["usage_end"]),
    }


def arguments() -> argparse.ArgumentParser:
    """Both receivers' command line: the work folder, the window's length and settling."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--seconds", type=float, default=30.0, help="the measured window, s")
    parser.add_argument("--settle", type=float, default=2.0, help="s after the first frame")
    return parser

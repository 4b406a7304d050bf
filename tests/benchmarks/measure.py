"""What a measured process reads about itself: CPU time (whole and per thread) and RSS.

Each configuration runs in a fresh process, so the peak RSS (the kernel's high-water
mark) and the CPU counters belong to that configuration alone.
"""

from __future__ import annotations

import os
import resource
import threading
from dataclasses import dataclass

_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSnapshot:
    """Process CPU seconds, per thread id the thread's CPU seconds, and the CPU seconds
    the whole machine has been busy (every process, all cores)."""

    process_s: float
    threads: dict[int, float]
    machine_busy_s: float


def process_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def thread_cpu_s() -> dict[int, float]:
    """CPU seconds (user + system) of every live thread of this process, by native id."""
    times: dict[int, float] = {}
    for name in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended while we looked
            continue
        times[int(name)] = (int(fields[11]) + int(fields[12])) * _TICK_S
    return times


def machine_busy_s() -> float:
    """CPU seconds all cores have spent working since boot (user, nice, system, irq and
    softirq from /proc/stat; not idle, iowait or steal). Over a window, less this process
    and the sender, it is the load others put on the machine meanwhile."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) * _TICK_S


def snapshot() -> CpuSnapshot:
    return CpuSnapshot(process_cpu_s(), thread_cpu_s(), machine_busy_s())


def thread_groups(decode_prefix: str) -> dict[int, str]:
    """Native thread id -> "gui" (main thread), "decode" (Python threads whose name
    starts with `decode_prefix`) or "other" (FFmpeg's socket readers, Qt's helpers)."""
    groups = dict.fromkeys(thread_cpu_s(), "other")
    for thread in threading.enumerate():
        if thread.native_id is None:
            continue
        if thread is threading.main_thread():
            groups[thread.native_id] = "gui"
        elif thread.name.startswith(decode_prefix):
            groups[thread.native_id] = "decode"
    return groups


def cpu_by_group(
    before: CpuSnapshot, after: CpuSnapshot, groups: dict[int, str]
) -> dict[str, float]:
    """CPU seconds spent between the snapshots, summed by thread group."""
    spent = {"gui": 0.0, "decode": 0.0, "other": 0.0}
    for tid, end in after.threads.items():
        group = groups.get(tid, "other")
        spent[group] += end - before.threads.get(tid, 0.0)
    return spent


def peak_rss_mb() -> float:
    """The process's peak resident set, MB (VmHWM; ru_maxrss as a fallback)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """The resident set now, MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

"""Running out of file descriptors for real, for the recorder's tests.

A child process lowers its own soft open-file limit (RLIMIT_NOFILE) and takes every
descriptor left, as a thousand slow connections once did, so the kernel answers the
recorder's next open() with EMFILE. The child's script uses the functions here (the
repository is on its path); the test runs it with `run_child` and reads the JSON it prints.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from media.recording.recorder import Recorder
from tests.servers import wait_for

ROOT = Path(__file__).resolve().parents[1]

T = TypeVar("T")


def run_child(script: str, *args: object, timeout_s: float = 60) -> dict[str, Any]:
    """Run `script` in a new Python with the repository importable, `args` as its argv; the
    JSON of its last line of stdout. A child that fails fails the test with its stderr."""
    done = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=timeout_s,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    report: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return report


def limit_open_files(limit: int) -> None:
    """Lower this process's soft RLIMIT_NOFILE to `limit` (the hard limit stays)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


def hoard_descriptors() -> list[int]:
    """Open /dev/null until the kernel says EMFILE; the descriptors taken, for `release`."""
    hoard: list[int] = []
    try:
        while True:
            hoard.append(os.open(os.devnull, os.O_RDONLY))
    except OSError as exc:
        if exc.errno != errno.EMFILE:
            release(hoard)
            raise
    return hoard


def release(hoard: list[int]) -> None:
    for fd in hoard:
        os.close(fd)


def drained(recorder: Recorder, timeout_s: float = 20.0) -> None:
    """Wait until the recorder's writer has handled every packet it was given."""
    wait_for(
        lambda: not (recorder.stats().behind_s > 0 or recorder.stats().queued_bytes),
        timeout_s,
        "the recorder's writer to catch up",
        interval_s=0.01,
    )


def record_through_exhaustion(
    recorder: Recorder, source: str, snapshot: Callable[[], T]
) -> tuple[T, T, T, int]:
    """`source`'s packets in thirds: the first recorded with descriptors to spare (then the
    connection ends), the second as a new connection with none left, the last with them
    back. `snapshot()` after each third, once the writer has caught up: (before, during,
    after, how many descriptors were taken)."""
    import av

    with av.open(source) as container:
        streams = [*container.streams.video, *container.streams.audio, *container.streams.data]
        packets = [p for p in container.demux(streams) if p.size]
        third = len(packets) // 3
        recorder.begin(streams)
        for packet in packets[:third]:
            recorder.put(packet)
        recorder.end()
        drained(recorder)
        before = snapshot()
        hoard = hoard_descriptors()
        recorder.begin(streams)
        for packet in packets[third : 2 * third]:
            recorder.put(packet)
        drained(recorder)
        during = snapshot()
        release(hoard)
        for packet in packets[2 * third :]:
            recorder.put(packet)
        recorder.end()
        drained(recorder)
        after = snapshot()
    return before, during, after, len(hoard)

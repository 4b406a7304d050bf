"""Recorder: an I/O error that may pass (the process out of file descriptors) interrupts
recording, and recording comes back by itself at the next key frame.

The fault is real: a child process lowers its own open-file limit (RLIMIT_NOFILE) and
takes every descriptor left, as a thousand slow connections once did, so the kernel
answers the recorder's next open() with EMFILE. A full disk still stops recording for good
(tests/media/recording/test_recorder.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.media.recording.test_recorder import assert_plays_alone, encode_ts

ROOT = Path(__file__).resolve().parents[3]

EMFILE_CHILD = """
import errno, json, os, resource, sys, time
from pathlib import Path
import av
from media.recording.recorder import Recorder

source, folder, limit = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_NOFILE, (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
closed, errors = [], []
recorder = Recorder(folder, "EMFILE", segment_s=2.0, on_closed=closed.append,
                    on_error=errors.append)

def drained():
    deadline = time.monotonic() + 20
    while recorder.stats().behind_s > 0 or recorder.stats().queued_bytes:
        assert time.monotonic() < deadline, "the writer never caught up"
        time.sleep(0.01)

def stats():
    s = recorder.stats()
    return {"recording": s.recording, "retrying": s.retrying, "error": s.last_error,
            "interruptions": s.interruptions, "last_interruption": s.last_interruption,
            "segments": s.segments_closed}

with av.open(source) as container:
    streams = [*container.streams.video, *container.streams.audio, *container.streams.data]
    packets = [p for p in container.demux(streams) if p.size]
    third = len(packets) // 3
    recorder.begin(streams)
    for p in packets[:third]:
        recorder.put(p)
    recorder.end()
    drained()
    before = stats()
    hoard = []
    try:
        while True:
            hoard.append(os.open(os.devnull, os.O_RDONLY))
    except OSError as exc:
        assert exc.errno == errno.EMFILE, exc
    recorder.begin(streams)
    for p in packets[third : 2 * third]:
        recorder.put(p)
    drained()
    during = stats()
    for fd in hoard:
        os.close(fd)
    for p in packets[2 * third :]:
        recorder.put(p)
    recorder.end()
    drained()
stopped = recorder.stop()
after = stats()
print(json.dumps({
    "hoarded": len(hoard), "before": before, "during": during, "after": after,
    "stopped": stopped, "errors": errors,
    "closed": [{"path": str(i.path), "session": i.session, "sequence": i.sequence,
                "notes": list(i.notes), "key": i.starts_with_key_frame} for i in closed],
}))
"""


@pytest.fixture(scope="module")
def drone_ts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s of H.264 (1 s GOP) + AAC + KLV in MPEG-TS."""
    return encode_ts(tmp_path_factory.mktemp("media") / "drone.ts", 12.0)


def test_out_of_descriptors_interrupts_recording_and_it_resumes_at_a_key_frame(
    tmp_path: Path, drone_ts: Path
) -> None:
    """In: a child process with a soft RLIMIT_NOFILE of 128 records the drone file's first
    4 s (2 s segments), then takes every descriptor left and gives the recorder a new
    connection's next 4 s (four key frames), then frees them and gives the last 4 s.
    Out: while out of descriptors the recorder is not recording, says `retrying` with
    "Too many open files ... retrying at the next key frame" as its error, and has tried
    at each key frame (≥ 3 interruptions); on_error is never called (recording never stops
    for good); once descriptors are back it records again: no error, not retrying, the
    interruption still counted; the first segment after it starts at a key frame with the
    note "follows an interruption: Too many open files"; sequence numbers keep rising;
    every segment plays alone; no `.part` is left (no file was ever opened while out)."""
    folder = tmp_path / "rec"
    done = subprocess.run(
        [sys.executable, "-c", EMFILE_CHILD, str(drone_ts), str(folder), "128"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    report = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert report["hoarded"] > 0
    before, during, after = report["before"], report["during"], report["after"]
    assert before["segments"] >= 1
    assert (before["retrying"], before["error"], before["interruptions"]) == (False, None, 0)

    assert during["retrying"] is True
    assert during["recording"] is False
    assert "Too many open files" in during["error"]
    assert "retrying at the next key frame" in during["error"]
    assert during["interruptions"] >= 3
    assert during["segments"] == before["segments"]

    assert report["errors"] == []
    assert report["stopped"] is True
    assert (after["retrying"], after["error"]) == (False, None)
    assert after["interruptions"] == during["interruptions"]
    assert "Too many open files" in after["last_interruption"]
    assert after["segments"] > before["segments"]

    closed = report["closed"]
    resumed = [c for c in closed if c["session"] == 2]
    assert resumed, closed
    assert "follows an interruption: Too many open files" in resumed[0]["notes"]
    assert all(c["key"] for c in closed)
    sequences = [c["sequence"] for c in closed]
    assert sequences == sorted(set(sequences))
    for c in closed:
        assert_plays_alone(Path(c["path"]))
    assert not list(folder.glob("*.part"))

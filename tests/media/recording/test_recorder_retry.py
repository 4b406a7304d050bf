"""Recorder: an I/O error that may pass (the process out of file descriptors) interrupts
recording, and recording comes back by itself at the next key frame.

The fault is real (tests/descriptors.py): a child process lowers its own open-file limit
and takes every descriptor left, so the kernel answers the recorder's next open() with
EMFILE. A full disk still stops recording for good (tests/media/recording/test_recorder.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.descriptors import run_child
from tests.media.recording.test_recorder import assert_plays_alone, encode_ts

EMFILE_CHILD = """
import json, sys
from pathlib import Path
from media.recording.recorder import Recorder
from tests.descriptors import limit_open_files, record_through_exhaustion

source, folder, limit = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
limit_open_files(limit)
closed, errors = [], []
recorder = Recorder(folder, "EMFILE", segment_s=2.0, on_closed=closed.append,
                    on_error=errors.append)

def stats():
    s = recorder.stats()
    return {"recording": s.recording, "retrying": s.retrying, "error": s.last_error,
            "interruptions": s.interruptions, "last_interruption": s.last_interruption,
            "segments": s.segments_closed}

before, during, _, hoarded = record_through_exhaustion(recorder, source, stats)
stopped = recorder.stop()
after = stats()
print(json.dumps({
    "hoarded": hoarded, "before": before, "during": during, "after": after,
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
    report = run_child(EMFILE_CHILD, drone_ts, folder, 128)
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

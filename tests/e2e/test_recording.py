"""The real `vigil run` records its feeds as evidence, and survives being killed.

Only the public interface: `vigil run`, `vigil status`, `vigil audit verify`, and the
files under the base dir.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import av

from tests.e2e.harness import RunningVigil, vigil


def segments(base: Path) -> list[Path]:
    return sorted(p for p in (base / "recordings").rglob("*.ts") if "quarantine" not in p.parts)


def plays_whole(path: Path) -> bool:
    """The segment decodes from its first packet to its end, starting at a key frame."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        first = True
        frames = 0
        for packet in container.demux(video):
            if packet.size == 0:
                continue
            if first:
                assert packet.is_keyframe, f"{path.name} starts without a key frame"
                first = False
            frames += len(packet.decode())
    return frames > 0


def recorded(status: dict) -> int:
    return sum(f["segments"] for f in status["recording"]["feeds"].values())


def test_the_demo_wall_records_every_feed_and_the_audit_is_valid(short_tmp: Path) -> None:
    """In: the demo wall running for long enough to close a few 4 s segments per feed, then
    SIGTERM. Out: `vigil status` shows each of the nine feeds recording; after the stop
    every segment file plays from a key frame to its end; `vigil audit verify` says VALID
    and counts exactly the segments on disk; no `.part` is left."""
    base = short_tmp / "base"
    running = RunningVigil(base)
    try:
        status = running.wait_for(
            lambda s: (
                len(s["recording"]["feeds"]) == 9
                and all(f["segments"] >= 1 for f in s["recording"]["feeds"].values())
            ),
            timeout=60,
        )
        assert all(feed["recording"] for feed in status["feeds"])
    finally:
        code, _, err = running.stop()
    assert code == 0, err
    files = segments(base)
    assert len(files) >= 9
    assert not list((base / "recordings").rglob("*.part"))
    for path in files:
        assert plays_whole(path), path
    audit = vigil("audit", "verify", "--base-dir", base)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert audit.stdout.startswith("VALID")
    assert f"{len(files)} segments" in audit.stdout.splitlines()[0]


def test_kill_9_while_recording_loses_at_most_the_open_segments(short_tmp: Path) -> None:
    """In: the demo wall killed with SIGKILL at a random moment while it records, started
    again, killed again, then started and stopped cleanly. Out: every closed segment plays
    and is in the ledger (`vigil audit verify` VALID); the segments open at each kill were
    moved whole into recordings/quarantine/ and are reported by the restart's recovery."""
    base = short_tmp / "base"
    rng = random.Random(4521)
    for _ in range(2):
        running = RunningVigil(base)
        running.wait_for(lambda s: recorded(s) >= 3, timeout=60)
        time.sleep(rng.uniform(0.0, 4.0))
        running.process.send_signal(signal.SIGKILL)
        running.process.wait(timeout=10)
    running = RunningVigil(base)
    try:
        status = running.wait_for(lambda s: s["recording"]["recovery"] is not None, timeout=60)
    finally:
        code, _, err = running.stop()
    assert code == 0, err
    recovery = status["recording"]["recovery"]
    assert recovery["quarantined"], recovery
    quarantined = list((base / "recordings" / "quarantine").rglob("*.part"))
    assert quarantined
    for path in segments(base):
        assert plays_whole(path), path
    audit = vigil("audit", "verify", "--base-dir", base)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert f"{len(segments(base))} segments" in audit.stdout.splitlines()[0]

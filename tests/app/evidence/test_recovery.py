"""Recovery at start, on real files and a real SQLite file: a partial segment (a real
MPEG-TS cut mid-packet) is moved whole into quarantine and accounted for, never deleted; a
closed segment with no ledger entry is entered, chained after its feed's last entry; the
newest entries are re-hashed and a changed file is reported by name; and each finding is
logged and, with a custody log, recorded there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from app.database import open_database
from app.evidence.custody import CustodyAction, CustodyLog
from app.evidence.ledger import ProblemKind, SegmentLedger
from app.evidence.recovery import RECOVERY_NOTE, SegmentFacts, recover
from tests.recordings import TS_PACKET, mpegts_bytes, write_segment

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_database(tmp_path / "vigil.db")
    yield database
    database.close()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "recordings"
    folder.mkdir()
    return folder


@pytest.fixture
def ledger(db: sqlite_utils.Database, root: Path) -> SegmentLedger:
    return SegmentLedger(db, root, clock_sync=lambda: "unsynchronised")


@pytest.fixture
def custody(db: sqlite_utils.Database) -> CustodyLog:
    return CustodyLog(db)


def recorder_name(seq: int, at: dt.datetime = T0) -> str:
    """The name media/recording/recorder.py gives a segment: its UTC start, then its sequence."""
    return f"{at:%Y%m%dT%H%M%S}.{at.microsecond // 1000:03d}Z-{seq:06d}.ts"


def add(ledger: SegmentLedger, feed: str, seq: int, data: bytes | None = None) -> Path:
    path = write_segment(ledger.root, feed, seq, data)
    start = T0 + dt.timedelta(seconds=4 * seq)
    ledger.add(feed, seq, path, start, start + dt.timedelta(seconds=4), duration_s=4.0)
    return path


def test_partial_segment_goes_to_quarantine_whole(
    ledger: SegmentLedger,
    custody: CustodyLog,
    root: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """In: a real MPEG-TS cut 100 bytes into a packet, left as the recorder leaves an open
    segment (BWV-4521/<name>.ts.part). Out: the .part is gone from the feed's folder; the
    same bytes lie at quarantine/BWV-4521/<name>.ts.part; the report gives its size,
    SHA-256, whole packets and the 100 trailing bytes; an INFO line and a custody
    "quarantine" entry name it; the ledger is untouched and verify finds nothing; the
    report is clean."""
    ts = mpegts_bytes(tmp_path)
    data = ts[: TS_PACKET * 5 + 100]
    name = recorder_name(3) + ".part"
    part = root / "BWV-4521" / name
    part.parent.mkdir()
    part.write_bytes(data)

    with caplog.at_level(logging.INFO, logger="app.evidence.recovery"):
        report = recover(root, ledger, custody=custody)

    assert not part.exists()
    moved = root / "quarantine" / "BWV-4521" / name
    assert moved.read_bytes() == data
    [q] = report.quarantined
    assert (q.original, q.moved_to) == (f"BWV-4521/{name}", f"quarantine/BWV-4521/{name}")
    assert (q.bytes, q.whole_packets, q.trailing_bytes) == (len(data), 5, 100)
    assert q.sha256 == hashlib.sha256(data).hexdigest()
    assert f"BWV-4521/{name}" in caplog.text
    [entry] = custody.entries()
    assert (entry.action, entry.subject) == (CustodyAction.QUARANTINE, f"BWV-4521/{name}")
    assert entry.details_dict["sha256"] == q.sha256
    assert ledger.count() == 0
    assert ledger.verify() == []
    assert report.clean


def test_a_second_partial_file_of_the_same_name_does_not_replace_the_first(
    ledger: SegmentLedger, root: Path
) -> None:
    """In: A/x.ts.part quarantined by one recovery; after another crash a new A/x.ts.part
    with other bytes. Out: the second lands at quarantine/A/x.ts.part.1; both keep their
    own bytes."""
    part = root / "A" / "x.ts.part"
    part.parent.mkdir()
    part.write_bytes(b"first")
    recover(root, ledger)
    part.write_bytes(b"second")
    report = recover(root, ledger)

    assert report.quarantined[0].moved_to == "quarantine/A/x.ts.part.1"
    assert (root / "quarantine/A/x.ts.part").read_bytes() == b"first"
    assert (root / "quarantine/A/x.ts.part.1").read_bytes() == b"second"


def test_closed_segments_missing_from_the_ledger_are_entered(
    ledger: SegmentLedger, custody: CustodyLog, root: Path
) -> None:
    """In: feed A's segments 1 and 2 in the ledger; then, as if Vigil died between the
    recorder's rename and the ledger's insert, A/<recorder name of seq 3> (start
    2025-01-01 00:00:12.345 in its name) and B/loose.ts (no number in its name) with no
    entry. Out: both are entered with a note beginning "added on recovery" that says where
    the times came from; A's is seq 3, starting at the named time, linked to A's seq 2;
    B's is seq 0 (B's first); each gets a custody "recover" entry; verify then finds
    nothing."""
    add(ledger, "A", 1)
    add(ledger, "A", 2)
    last_a = ledger.entries("A")[-1]
    named = root / "A" / recorder_name(3, T0 + dt.timedelta(seconds=12, milliseconds=345))
    named.write_bytes(b"closed but not entered")
    loose = root / "B" / "loose.ts"
    loose.parent.mkdir()
    loose.write_bytes(b"also closed")

    report = recover(root, ledger, custody=custody)

    by_feed = {entry.feed_name: entry for entry in report.added}
    a, b = by_feed["A"], by_feed["B"]
    assert (a.seq, a.path, a.prev_hash) == (3, f"A/{named.name}", last_a.entry_hash)
    assert a.start_utc == "2025-01-01T00:00:12.345000Z"
    assert a.note is not None
    assert a.note.startswith(RECOVERY_NOTE)
    assert "start from the file's name" in a.note
    assert (b.seq, b.path) == (0, "B/loose.ts")
    assert b.note == f"{RECOVERY_NOTE} (times from the file's modification time)"
    assert sorted(e.subject for e in custody.entries() if e.action == "recover") == [
        f"A/{named.name}",
        "B/loose.ts",
    ]
    assert ledger.verify() == []
    assert report.clean


def test_a_changed_file_among_the_newest_entries_is_reported(
    ledger: SegmentLedger, caplog: pytest.LogCaptureFixture
) -> None:
    """In: feed A's segments 0..4 and B's 0; A's newest file (seq 4) and oldest (seq 0)
    each get one byte changed. Out: recovery re-checks A's newest 3 and B's 1 entries (4 in
    all) and reports exactly one problem, FILE_HASH naming entry 5 (A seq 4); a WARNING
    line names it; the report is not clean and its summary is JSON. Seq 0 lies outside the
    window (a full `vigil audit verify` finds it)."""
    paths = [add(ledger, "A", seq) for seq in range(5)]
    add(ledger, "B", 0)
    for path in (paths[4], paths[0]):
        data = bytearray(path.read_bytes())
        data[3] ^= 0xFF
        path.write_bytes(bytes(data))

    with caplog.at_level(logging.INFO, logger="app.evidence.recovery"):
        report = recover(ledger.root, ledger)

    assert report.rechecked == 4
    assert [(p.kind, p.entry_id, p.feed_name, p.seq) for p in report.problems] == [
        (ProblemKind.FILE_HASH, 5, "A", 4)
    ]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "segment 5 (A seq 4, A/000004.ts)" in warnings[0].getMessage()
    assert not report.clean
    summary = json.loads(json.dumps(report.summary()))
    assert summary["clean"] is False
    assert summary["problems"][0].startswith("segment 5")
    assert {p.entry_id for p in ledger.verify()} == {1, 5}


def test_a_file_that_cannot_be_described_is_reported_and_the_rest_entered(
    ledger: SegmentLedger, root: Path
) -> None:
    """In: two closed segments with no entry, A/000001.ts and A/000002.ts, and a describer
    that fails on the first. Out: the second is entered; the first is listed in failures
    with the reason; the report is not clean."""
    write_segment(root, "A", 1)
    write_segment(root, "A", 2)

    def describe(file: Path, _root: Path) -> SegmentFacts:
        if file.name == "000001.ts":
            raise ValueError("unreadable name")
        return SegmentFacts("A", 2, T0, T0)

    report = recover(root, ledger, describe=describe)

    assert [entry.path for entry in report.added] == ["A/000002.ts"]
    assert report.failures == ["A/000001.ts: not entered in the ledger: unreadable name"]
    assert not report.clean


def test_nothing_recorded_yet_is_a_clean_report(db: sqlite_utils.Database, tmp_path: Path) -> None:
    """In: a recordings folder that does not exist yet, an empty ledger. Out: a clean report
    with nothing quarantined, added or re-checked; a ledger for another folder is refused."""
    missing = tmp_path / "never-made"
    report = recover(missing, SegmentLedger(db, missing))
    assert report.summary() == {
        "clean": True,
        "quarantined": [],
        "added": [],
        "rechecked": 0,
        "problems": [],
        "failures": [],
    }
    with pytest.raises(ValueError, match="recordings folder"):
        recover(tmp_path / "other", SegmentLedger(db, missing))

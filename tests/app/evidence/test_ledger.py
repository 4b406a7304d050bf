"""The segment ledger on a real SQLite file and real segment files: each entry's hash is
the documented canonical JSON (recomputed here with json and hashlib alone), chains run per
feed, and every kind of tampering is found and named: a byte changed in a real MPEG-TS, a
file deleted, a file slipped in, a row edited or deleted by someone who dropped the
triggers. Two processes appending to one feed keep one linear chain. The clock's
synchronisation state is one of its three forms.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import logging
import multiprocessing
import re
import sqlite3
import sys
from pathlib import Path

import pytest
import sqlite_utils

from app.database import open_database
from app.evidence import clock_sync
from app.evidence import ledger as ledger_module
from app.evidence.hashchain import GENESIS, utc_text
from app.evidence.ledger import DuplicateSegmentError, ProblemKind, SegmentLedger
from tests.clock import Clock
from tests.recordings import mpegts_bytes, write_segment

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
SYNC = "synchronised ±5 ms"
CLOCK_FORMS = re.compile(r"^(synchronised ±\d+ ms|unsynchronised|unknown)$")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "recordings"
    folder.mkdir()
    return folder


@pytest.fixture
def ledger(db: sqlite_utils.Database, root: Path) -> SegmentLedger:
    return SegmentLedger(db, root, clock=Clock(T0.timestamp()), clock_sync=lambda: SYNC)


def add(ledger: SegmentLedger, feed: str, seq: int, data: bytes | None = None) -> Path:
    path = write_segment(ledger.root, feed, seq, data)
    start = T0 + dt.timedelta(seconds=2 * seq)
    ledger.add(feed, seq, path, start, start + dt.timedelta(seconds=2), duration_s=2.0)
    return path


def tamper(db_path: Path, sql: str, *args: object) -> None:
    """What someone with the file and the sqlite3 module can do: drop the triggers, then
    change rows directly."""
    conn = sqlite3.connect(db_path)
    for name in ("segments_no_update", "segments_no_delete", "custody_no_update"):
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    conn.execute("DROP TRIGGER IF EXISTS custody_no_delete")
    conn.execute(sql, args)
    conn.commit()
    conn.close()


def test_entry_hash_is_the_documented_canonical_json(db: sqlite_utils.Database, root: Path) -> None:
    """In: the module docstring's worked example made for real: the file
    BWV-4521/000001.ts holding b"abc", seq 1, 2025-01-01 00:00:00 to 00:00:02 UTC, 2.0 s,
    written at 00:00:03 with the clock state "unknown". Out: the entry's hash is the one
    the docstring gives, the docstring's JSON line is byte for byte what json.dumps(sorted
    keys, no whitespace) of the row's columns (plus schema, duration as six-decimal text)
    gives, and hashlib.sha256 over those bytes gives the stored hash."""
    ledger = SegmentLedger(
        db, root, clock=Clock(T0.timestamp() + 3), clock_sync=lambda: clock_sync.UNKNOWN
    )
    path = write_segment(root, "BWV-4521", 1, b"abc")
    entry = ledger.add("BWV-4521", 1, path, T0, T0 + dt.timedelta(seconds=2), duration_s=2.0)

    row = next(db.table("segments").rows_where("id = 1"))
    obj = {k: v for k, v in row.items() if k != "entry_hash"}
    obj["schema"] = "vigil-segment-1"
    obj["duration_s"] = f"{row['duration_s']:.6f}"
    line = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    recomputed = hashlib.sha256(line.encode("utf-8")).hexdigest()

    doc = ledger_module.__doc__ or ""
    assert line in [text.strip() for text in doc.splitlines()]
    assert recomputed == row["entry_hash"] == entry.entry_hash
    assert entry.entry_hash in doc
    assert row["sha256"] == hashlib.sha256(b"abc").hexdigest()
    assert row["prev_hash"] == GENESIS


def test_add_hashes_files_and_chains_each_feed(
    ledger: SegmentLedger, db: sqlite_utils.Database, root: Path
) -> None:
    """In: segments of two feeds added interleaved (A0, B0, A1, B1, A2), A1 a 3 MiB file
    (hashed across several 1 MiB chunks). Out: each entry's sha256 and bytes are the
    file's; path is relative and "/"-separated; each feed's first entry links to 64 zeros
    and every later one to that feed's previous entry; ids run 1..5 across feeds; times
    are fixed-width UTC text; clock state and recorded_at are as given; verify finds
    nothing; heads are each feed's newest hash."""
    big = bytes(range(256)) * (3 * 4096 + 7)
    for feed, seq, data in (
        ("A", 0, None),
        ("B", 0, None),
        ("A", 1, big),
        ("B", 1, None),
        ("A", 2, None),
    ):
        add(ledger, feed, seq, data)

    a, b = ledger.entries("A"), ledger.entries("B")
    assert [e.id for e in a] == [1, 3, 5]
    assert [e.id for e in b] == [2, 4]
    for chain in (a, b):
        assert chain[0].prev_hash == GENESIS
        for before, after in itertools.pairwise(chain):
            assert after.prev_hash == before.entry_hash
    for entry in a + b:
        data = (root / entry.path).read_bytes()
        assert entry.sha256 == hashlib.sha256(data).hexdigest()
        assert entry.bytes == len(data)
        assert entry.clock_sync == SYNC
        assert entry.recorded_at == "2025-01-01T00:00:00.000000Z"
    assert a[1].path == "A/000001.ts"
    assert a[1].bytes == len(big)
    assert a[1].start_utc == "2025-01-01T00:00:02.000000Z"
    assert a[1].end_utc == "2025-01-01T00:00:04.000000Z"
    assert a[1].duration_s == 2.0
    assert ledger.verify() == []
    assert ledger.heads() == {"A": a[-1].entry_hash, "B": b[-1].entry_hash}
    assert ledger.count() == 5
    assert ledger.count("B") == 2
    assert ledger.feeds() == ["A", "B"]


def test_add_refuses_what_it_cannot_vouch_for(ledger: SegmentLedger, tmp_path: Path) -> None:
    """In: the same file twice; a file outside the recordings folder; a naive datetime; an
    end before the start; a file that is not there. Out: DuplicateSegmentError, then
    ValueError (x3), then FileNotFoundError; only the first add wrote a row."""
    path = add(ledger, "A", 0)
    with pytest.raises(DuplicateSegmentError):
        ledger.add("A", 1, path, T0, T0)
    outside = tmp_path / "elsewhere.ts"
    outside.write_bytes(b"x")
    with pytest.raises(ValueError, match="not inside the recordings folder"):
        ledger.add("A", 1, outside, T0, T0)
    other = write_segment(ledger.root, "A", 1)
    with pytest.raises(ValueError, match="without a zone"):
        ledger.add("A", 1, other, dt.datetime(2025, 1, 1), T0)
    with pytest.raises(ValueError, match="ends"):
        ledger.add("A", 1, other, T0, T0 - dt.timedelta(seconds=1))
    with pytest.raises(FileNotFoundError):
        ledger.add("A", 2, "A/000002.ts", T0, T0)
    assert ledger.count() == 1


def test_segments_between_returns_overlapping_segments(ledger: SegmentLedger) -> None:
    """In: feed A's segments 0..4 covering T0+0..10 s in 2 s pieces, feed B's seq 1. Out:
    A between T0+3 s and T0+6 s (Unix times or datetimes alike) gives seq 1, 2, 3 (1 and 3
    only overlap), oldest first; a window touching a boundary includes both neighbours;
    nothing of B; nothing after the last segment."""
    for seq in range(5):
        add(ledger, "A", seq)
    add(ledger, "B", 1)
    start = T0 + dt.timedelta(seconds=3)
    end = T0 + dt.timedelta(seconds=6)

    assert [e.seq for e in ledger.segments_between("A", start, end)] == [1, 2, 3]
    assert [e.seq for e in ledger.segments_between("A", start.timestamp(), end.timestamp())] == [
        1,
        2,
        3,
    ]
    assert [
        e.seq
        for e in ledger.segments_between(
            "A", T0 + dt.timedelta(seconds=4), T0 + dt.timedelta(seconds=4)
        )
    ] == [1, 2]
    assert (
        ledger.segments_between("A", T0 + dt.timedelta(seconds=11), T0 + dt.timedelta(seconds=20))
        == []
    )


def test_one_byte_changed_in_a_real_mpegts_segment_is_named(
    ledger: SegmentLedger, tmp_path: Path
) -> None:
    """In: three real MPEG-TS segments (PyAV, H.264) of feed BWV-4521; then one byte in the
    middle of the second flipped on disk, its size unchanged. Out: before, verify finds
    nothing; after, exactly one problem: FILE_HASH naming entry 2, feed BWV-4521, seq 1,
    path BWV-4521/000001.ts; verify(files=False) finds nothing (rows are untouched)."""
    ts = mpegts_bytes(tmp_path)
    assert len(ts) % 188 == 0
    assert ts[0] == 0x47
    paths = [add(ledger, "BWV-4521", seq, ts + bytes([seq])) for seq in range(3)]
    assert ledger.verify() == []

    data = bytearray(paths[1].read_bytes())
    data[len(data) // 2] ^= 0x01
    paths[1].write_bytes(bytes(data))

    problems = ledger.verify()
    assert [(p.kind, p.entry_id, p.feed_name, p.seq, p.path) for p in problems] == [
        (ProblemKind.FILE_HASH, 2, "BWV-4521", 1, "BWV-4521/000001.ts")
    ]
    assert str(problems[0]).startswith("segment 2 (BWV-4521 seq 1, BWV-4521/000001.ts): file hash")
    assert ledger.verify(files=False) == []


def test_deleted_segment_file_is_named(ledger: SegmentLedger) -> None:
    """In: feed A's segments 0..2; the file of seq 1 deleted. Out: one problem, FILE_MISSING
    naming entry 2 (A seq 1, A/000001.ts)."""
    paths = [add(ledger, "A", seq) for seq in range(3)]
    paths[1].unlink()

    problems = ledger.verify()
    assert [(p.kind, p.entry_id, p.seq, p.path) for p in problems] == [
        (ProblemKind.FILE_MISSING, 2, 1, "A/000001.ts")
    ]


def test_extra_segment_file_is_named_but_quarantine_and_part_files_are_not(
    ledger: SegmentLedger, root: Path
) -> None:
    """In: feed A's segment 0 in the ledger; then a .ts in A/ no entry names, a .ts under
    quarantine/, and a .part (a segment being written). Out: one problem, UNEXPECTED_FILE
    naming A/000099.ts; verify of feed A alone does not look for unexpected files."""
    add(ledger, "A", 0)
    write_segment(root, "A", 99)
    write_segment(root / "quarantine", "A", 5)
    (root / "A" / "000001.ts.part").write_bytes(b"half")

    problems = ledger.verify()
    assert [(p.kind, p.entry_id, p.path) for p in problems] == [
        (ProblemKind.UNEXPECTED_FILE, None, "A/000099.ts")
    ]
    assert str(problems[0]).startswith("A/000099.ts: unexpected file")
    assert ledger.verify("A") == []


def test_row_edited_with_the_triggers_dropped_is_named(
    ledger: SegmentLedger, db_path: Path
) -> None:
    """In: feed A's segments 0..3; with plain sqlite3 and the triggers dropped, entry 3's
    end time is moved one second later. Out: exactly one problem, ENTRY_HASH naming entry
    3 (A seq 2); the next entry's link still holds (it links to what was written)."""
    for seq in range(4):
        add(ledger, "A", seq)
    tamper(db_path, "UPDATE segments SET end_utc = ? WHERE id = 3", "2025-01-01T00:00:07.000000Z")

    problems = ledger.verify()
    assert [(p.kind, p.entry_id, p.seq) for p in problems] == [(ProblemKind.ENTRY_HASH, 3, 2)]


def test_row_deleted_with_the_triggers_dropped_is_named(
    ledger: SegmentLedger, db_path: Path
) -> None:
    """In: segments A0, B0, A1, A2 (ids 1-4); entry 3 (A1) deleted with the triggers
    dropped, its file left. Out: entry 4 (A seq 2) is named twice, for the gap in ids (3
    missing) and for its broken chain link; A/000001.ts is named as an unexpected file."""
    for feed, seq in (("A", 0), ("B", 0), ("A", 1), ("A", 2)):
        add(ledger, feed, seq)
    tamper(db_path, "DELETE FROM segments WHERE id = 3")

    problems = ledger.verify()
    assert [(p.kind, p.entry_id, p.path) for p in problems] == [
        (ProblemKind.ID_GAP, 4, "A/000002.ts"),
        (ProblemKind.CHAIN_LINK, 4, "A/000002.ts"),
        (ProblemKind.UNEXPECTED_FILE, None, "A/000001.ts"),
    ]
    assert "ids 3 missing" in str(problems[0])


def test_triggers_refuse_update_and_delete_of_segments(
    ledger: SegmentLedger, db_path: Path
) -> None:
    """In: one entry; UPDATE and DELETE through a second, plain sqlite3 connection. Out:
    both raise "segments is append-only", the row is unchanged and verify finds nothing."""
    add(ledger, "A", 0)
    conn = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.DatabaseError, match="segments is append-only"):
        conn.execute("UPDATE segments SET note = 'edited' WHERE id = 1")
    with pytest.raises(sqlite3.DatabaseError, match="segments is append-only"):
        conn.execute("DELETE FROM segments")
    conn.close()
    assert ledger.entries()[0].note is None
    assert ledger.verify() == []


def _append_segments(db_path: str, root: str, worker: int, count: int, ready: object) -> None:
    """One process's appends (a spawned child: its own connection, its own files), begun
    when the other process is ready too, so their appends overlap."""
    db = open_database(Path(db_path))
    book = SegmentLedger(db, Path(root), clock_sync=lambda: SYNC)
    ready.wait()  # type: ignore[attr-defined]
    for n in range(count):
        seq = worker * 1000 + n
        path = write_segment(Path(root), "BWV-4521", seq)
        book.add("BWV-4521", seq, path, T0, T0 + dt.timedelta(seconds=1))
    db.close()


def test_two_processes_appending_to_one_feed_keep_one_chain(
    db: sqlite_utils.Database, db_path: Path, root: Path
) -> None:
    """In: two processes released together, each adding 15 segments of feed BWV-4521 as
    fast as it can. Out: 30 entries, both processes' present; every entry links to the one
    before it (no two share a previous hash), ids 1..30, and verify finds nothing."""
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(2)
    workers = [
        context.Process(target=_append_segments, args=(str(db_path), str(root), w, 15, ready))
        for w in (1, 2)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0

    ledger = SegmentLedger(db, root)
    entries = ledger.entries("BWV-4521")
    assert [e.id for e in entries] == list(range(1, 31))
    assert {e.seq // 1000 for e in entries} == {1, 2}
    assert len({e.prev_hash for e in entries}) == 30
    assert ledger.verify() == []


def test_clock_sync_is_one_of_three_forms() -> None:
    """In: the kernel's own answer, and adjtimex answers made up: TIME_ERROR, STA_UNSYNC
    set, a synchronised clock with maxerror 16000 µs and 1 µs, a failed call. Out: the
    real answer matches "synchronised ±N ms" | "unsynchronised" | "unknown" (and is not
    "unknown" on Linux, where adjtimex exists); the made-up ones read unsynchronised,
    unsynchronised, "synchronised ±16 ms", "synchronised ±1 ms" (rounded up), unknown."""
    real = clock_sync.clock_sync()
    assert CLOCK_FORMS.match(real)
    if sys.platform.startswith("linux"):
        assert real != clock_sync.UNKNOWN
    assert clock_sync.describe(5, 0, 1000) == "unsynchronised"
    assert clock_sync.describe(0, clock_sync.STA_UNSYNC, 1000) == "unsynchronised"
    assert clock_sync.describe(0, 0x2001, 16000) == "synchronised ±16 ms"
    assert clock_sync.describe(1, 0, 1) == "synchronised ±1 ms"
    assert clock_sync.describe(-1, 0, 0) == "unknown"
    # The forms, checked on what describe() gives for a spread of kernel answers.
    answers = {
        clock_sync.describe(result, status, maxerror)
        for result in (-1, 0, 1, 5)
        for status in (0, clock_sync.STA_UNSYNC, 0x2001, 0x0001)
        for maxerror in (0, 1, 999, 1000, 1001, 16_000_000)
    }
    assert all(CLOCK_FORMS.match(answer) for answer in answers), answers
    assert {"unknown", "unsynchronised", "synchronised ±0 ms", "synchronised ±16000 ms"} <= (
        answers
    )


def test_ledger_records_the_kernels_clock_state_by_default(
    db: sqlite_utils.Database, root: Path
) -> None:
    """In: a ledger made with no clock_sync argument adds one segment. Out: the entry's
    clock_sync is the kernel's own answer at the time (clock_sync.clock_sync(), one of the
    three forms), also as read back from the database; recorded_at is now in UTC text."""
    ledger = SegmentLedger(db, root)
    kernel_before = clock_sync.clock_sync()
    before = utc_text(dt.datetime.now(dt.UTC))
    entry = ledger.add("A", 0, write_segment(root, "A", 0), T0, T0)
    assert CLOCK_FORMS.match(entry.clock_sync)
    if entry.clock_sync.startswith("synchronised"):  # its bound may move between readings
        assert clock_sync.clock_sync().startswith("synchronised")
    else:
        assert entry.clock_sync == kernel_before
    (stored,) = SegmentLedger(db, root).entries("A")
    assert stored.clock_sync == entry.clock_sync
    assert before <= entry.recorded_at <= utc_text(dt.datetime.now(dt.UTC))


def test_a_file_that_differs_from_what_the_recorder_hashed_is_entered_with_a_note(
    ledger: SegmentLedger, caplog: pytest.LogCaptureFixture
) -> None:
    """In: a segment added with the hash the recorder took while writing: once matching
    (in upper case), once not (the bytes changed between the recorder and the ledger). Out:
    the first entry has no note; the second describes the file as it is on disk, its note
    names the recorder's hash, a WARNING names the file; verify finds nothing (the entry
    is true to the file)."""
    good = write_segment(ledger.root, "A", 0)
    digest = hashlib.sha256(good.read_bytes()).hexdigest()
    first = ledger.add("A", 0, good, T0, T0, expected_sha256=digest.upper())
    changed = write_segment(ledger.root, "A", 1, b"not what was written")
    with caplog.at_level(logging.WARNING, logger="app.evidence.ledger"):
        second = ledger.add("A", 1, changed, T0, T0, note="gap before", expected_sha256=digest)

    assert first.note is None
    assert second.sha256 == hashlib.sha256(b"not what was written").hexdigest()
    assert second.note == f"gap before; the recorder hashed {digest} while writing it"
    assert "A/000001.ts" in caplog.text
    assert ledger.verify() == []

"""The journal of heads (app/evidence/heads.py) on a real SQLite file and a real journal
beside it: every committed entry of either chain leaves one synced line there, private to
its owner; comparing the two finds a tail cut, a log rolled back and written again, and a
journal more than one entry behind; a journal one behind, lines out of order and a torn
line are not failures; a journal that cannot be written never fails the append; a database
in memory keeps none; a base dir made before the journal gets one started from its heads.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from app.database import open_database
from app.evidence import heads
from app.evidence.custody import CustodyAction, CustodyLog
from app.evidence.ledger import SegmentLedger
from tests.recordings import write_segment


@pytest.fixture
def journal(db_path: Path) -> Path:
    return db_path.with_name(heads.JOURNAL_NAME)


def fill(db: sqlite_utils.Database, count: int) -> CustodyLog:
    custody = CustodyLog(db)
    for n in range(count):
        custody.append(CustodyAction.VIEW_OPENED, "BWV-4521", {"n": n}, actor="sgt.jones")
    return custody


def lines(journal: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in journal.read_text().splitlines()]


def test_each_entry_of_either_chain_leaves_a_line(
    db: sqlite_utils.Database, journal: Path, tmp_path: Path
) -> None:
    """In: a segment of BWV-4521 and two custody entries on a new base dir. Out: the journal
    has three lines (the segment's with its feed), each naming the chain, id and hash the
    database holds; it is 0600; the check finds nothing."""
    ledger = SegmentLedger(db, tmp_path / "recordings")
    segment = ledger.add("BWV-4521", 0, write_segment(ledger.root, "BWV-4521", 0), 0.0, 4.0)
    custody = fill(db, 2)

    assert [(r["chain"], r.get("feed"), r["id"], r["hash"]) for r in lines(journal)] == [
        ("segments", "BWV-4521", 1, segment.entry_hash),
        ("custody", None, 1, custody.entries()[0].entry_hash),
        ("custody", None, 2, custody.head()),
    ]
    assert journal.stat().st_mode & 0o777 == 0o600
    assert custody.check_heads() == heads.TailReport()


def test_a_log_rolled_back_and_written_again_is_found(
    db: sqlite_utils.Database, db_path: Path, tmp_path: Path
) -> None:
    """In: 2 entries; a copy of the database; 2 more; the copy put back; 2 different ones
    appended, so the log reaches #4 again. Out: #4 is named as not the entry the journal
    recorded."""
    fill(db, 2)
    db.close()
    shutil.copy(db_path, tmp_path / "copy.db")
    again = open_database(db_path)
    fill(again, 2)
    again.close()
    shutil.copy(tmp_path / "copy.db", db_path)
    rolled = open_database(db_path)
    custody = fill(rolled, 2)

    report = custody.check_heads()
    rolled.close()

    (failed,) = report.failed
    assert failed.startswith("custody log: entry #4 is not the one the journal of heads recorded")


def test_one_behind_is_a_note_more_is_a_failure(db: sqlite_utils.Database, journal: Path) -> None:
    """In: 3 entries, the journal's last line removed (a crash between commit and journal):
    a note, no failure. Then its last two removed: a failure saying 2 entries after #1 have
    no line."""
    custody = fill(db, 3)
    kept = journal.read_text().splitlines(keepends=True)

    journal.write_text("".join(kept[:-1]))
    one = custody.check_heads()
    journal.write_text("".join(kept[:-2]))
    two = custody.check_heads()

    assert one.failed == []
    assert one.notes[0].startswith("custody log: the newest entry has no line")
    (failed,) = two.failed
    assert failed.startswith("custody log: 2 entries after #1 have no line in the journal")


def test_lines_out_of_order_and_a_torn_line_are_no_failure(
    db: sqlite_utils.Database, journal: Path
) -> None:
    """In: 3 entries whose lines are reversed (two processes journaling at once) and half a
    line added at the end (a power cut mid-write). Out: no failure; a note names the
    unreadable line."""
    custody = fill(db, 3)
    kept = journal.read_text().splitlines(keepends=True)
    journal.write_text("".join(reversed(kept)) + kept[0][:30])

    report = custody.check_heads()

    assert report.failed == []
    assert report.notes == ["journal of heads: line 4 is unreadable; skipped"]


def test_an_unwritable_journal_never_fails_the_append(
    db: sqlite_utils.Database, journal: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """In: a folder where the journal should be. Out: the entries are still appended and
    an error is logged; the check says the journal cannot be read, and does not crash."""
    journal.mkdir()
    custody = fill(db, 2)

    assert custody.count() == 2
    assert "the journal of heads" in caplog.text
    (failed,) = custody.check_heads().failed
    assert failed.startswith("journal of heads: it cannot be read")


def test_a_database_in_memory_keeps_no_journal(tmp_path: Path) -> None:
    """In: custody entries in a database with no file. Out: appended, nothing written, and
    nothing to start."""
    memory = sqlite_utils.Database(memory=True)
    memory.execute(
        "CREATE TABLE custody (id INTEGER PRIMARY KEY, at TEXT, actor TEXT, action TEXT, "
        "subject TEXT, details TEXT, prev_hash TEXT, entry_hash TEXT)"
    )
    memory.execute("CREATE TABLE segments (id INTEGER PRIMARY KEY, feed_name TEXT)")
    custody = fill(memory, 2)

    assert custody.count() == 2
    assert custody.keep_heads() is None


def test_an_old_base_dir_gets_a_journal_from_its_heads(
    db: sqlite_utils.Database, journal: Path
) -> None:
    """In: 2 entries written with no journal (as by a Vigil before it kept one). Out:
    `keep_heads` starts it from #2, with a custody entry (#3) listing the heads; the entry
    is itself journaled; the check then finds nothing, and a second call does nothing."""
    custody = fill(db, 2)
    journal.unlink()

    started = custody.keep_heads()

    assert started is not None
    assert started.kept_before is None
    assert str(started).startswith("no journal of heads in this base dir")
    entry = custody.entries()[-1]
    assert (entry.id, entry.action) == (3, "heads_journal_started")
    assert entry.details_dict["heads"][0]["id"] == 2
    assert [(r["id"], r.get("start")) for r in lines(journal)] == [(2, True), (3, None)]
    assert custody.check_heads() == heads.TailReport()
    assert custody.keep_heads() is None


def test_a_segment_chain_emptied_by_hand_is_found(
    db: sqlite_utils.Database, db_path: Path, tmp_path: Path
) -> None:
    """In: two feeds' segments, then Drone-2's rows deleted by hand. Out: one failure,
    naming Drone-2's chain and its 2 entries; BWV-4521 is untouched."""
    ledger = SegmentLedger(db, tmp_path / "recordings")
    for seq in range(2):
        for feed in ("BWV-4521", "Drone-2"):
            ledger.add(feed, seq, write_segment(ledger.root, feed, seq), 0.0, 4.0)
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER segments_no_delete")
    conn.execute("DELETE FROM segments WHERE feed_name = 'Drone-2'")
    conn.commit()
    conn.close()

    (failed,) = CustodyLog(db).check_heads().failed

    assert failed.startswith("segments of Drone-2: all 2 entries are missing")

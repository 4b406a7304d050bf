"""`vigil audit verify`, run as the real program on a base dir whose database and
recordings the test made: VALID with the counts and exit 0 when all holds (and the audit
itself becomes a custody entry); exit 1 naming each failed check when a segment file and a
custody row were changed behind Vigil's back; exit 1 when there is no database at all.
And the tails: the custody log's last entries deleted, a feed's segments emptied, the
database put back to a copy made earlier, each found against the journal of heads beside
the database (app/evidence/heads.py) and named; a crash between an entry's commit and its
journal line is no failure; a base dir made before the journal audits VALID with a note.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
from pathlib import Path

from app.database import open_database
from app.evidence.custody import CustodyAction, CustodyLog
from app.evidence.ledger import SegmentLedger
from app.paths import BaseDir
from tests.e2e.harness import vigil
from tests.recordings import write_segment

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def make_evidence(base_dir: Path) -> BaseDir:
    """Three segments of BWV-4521 and two custody entries, made through the library."""
    base = BaseDir.resolve(base_dir).ensure()
    db = open_database(base.database)
    ledger = SegmentLedger(db, base.recordings)
    for seq in range(3):
        path = write_segment(base.recordings, "BWV-4521", seq)
        ledger.add("BWV-4521", seq, path, T0, T0 + dt.timedelta(seconds=4), duration_s=4.0)
    custody = CustodyLog(db)
    custody.append(CustodyAction.VIEW_OPENED, "BWV-4521", {"reason": "support requested"})
    custody.append(CustodyAction.VIEW_CLOSED, "BWV-4521")
    db.close()
    return base


def test_untouched_evidence_is_valid(tmp_path: Path) -> None:
    """In: a base dir with 3 segments and 2 custody entries. Out: exit 0; the first line
    is "VALID: 2 custody entries, 3 segments", then the custody head and the feed's
    segment head; run again, the count is 3: the first audit was recorded as a "verify"
    custody entry."""
    make_evidence(tmp_path / "base")

    first = vigil("audit", "verify", "--base-dir", tmp_path / "base")
    second = vigil("audit", "verify", "--base-dir", tmp_path / "base")

    assert first.returncode == 0, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "VALID: 2 custody entries, 3 segments"
    assert lines[1].startswith("custody head ")
    assert lines[2].startswith("segments head ")
    assert lines[2].endswith(" BWV-4521")
    assert second.stdout.splitlines()[0] == "VALID: 3 custody entries, 3 segments"


def test_tampered_evidence_names_each_failed_check(tmp_path: Path) -> None:
    """In: the same evidence; then one byte of BWV-4521's seq 1 file changed, and custody
    entry 1's actor changed with plain sqlite3 after dropping the triggers. Out: exit 1;
    one FAILED line names custody entry 1 (hash mismatch), another names segment 2
    (BWV-4521 seq 1, its path) with a file hash mismatch; the last verdict line is INVALID
    with 2 failed checks."""
    base = make_evidence(tmp_path / "base")
    segment = base.recordings / "BWV-4521" / "000001.ts"
    data = bytearray(segment.read_bytes())
    data[0] ^= 0x01
    segment.write_bytes(bytes(data))
    conn = sqlite3.connect(base.database)
    conn.execute("DROP TRIGGER custody_no_update")
    conn.execute("UPDATE custody SET actor = 'someone else' WHERE id = 1")
    conn.commit()
    conn.close()

    result = vigil("audit", "verify", "--base-dir", base.root)

    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED: ")]
    assert len(failed) == 2
    assert failed[0].startswith("FAILED: custody entry 1: hash mismatch")
    assert failed[1].startswith(
        "FAILED: segment 2 (BWV-4521 seq 1, BWV-4521/000001.ts): file hash mismatch"
    )
    assert "INVALID: 2 check(s) failed; 2 custody entries, 3 segments" in result.stdout


def test_no_database_is_not_a_clean_audit(tmp_path: Path) -> None:
    """In: a base dir with nothing in it (a mistyped --base-dir, say). Out: exit 1, stderr
    says there is no database, and no database is created."""
    result = vigil("audit", "verify", "--base-dir", tmp_path / "empty")

    assert result.returncode == 1
    assert "no database" in result.stderr
    assert not (tmp_path / "empty" / "vigil.db").exists()


def _without_guard(base: BaseDir, sql: str, *triggers: str) -> None:
    """Run `sql` on the database with plain sqlite3, as someone editing it by hand would,
    after dropping the append-only triggers that would refuse it."""
    conn = sqlite3.connect(base.database)
    for trigger in triggers:
        conn.execute(f"DROP TRIGGER {trigger}")
    conn.execute(sql)
    conn.commit()
    conn.close()


def _append(base: BaseDir, count: int) -> None:
    db = open_database(base.database)
    custody = CustodyLog(db)
    for n in range(count):
        custody.append(CustodyAction.VIEW_OPENED, "BWV-4521", {"reason": f"look {n}"})
    db.close()


def _failed(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("FAILED: ")]


def test_deleted_last_custody_entries_are_found(tmp_path: Path) -> None:
    """In: the evidence plus 3 more custody entries (#3..#5), then #3..#5 deleted by hand.
    Out: exit 1; the one failed check says "custody log: 3 entries after #2 are missing
    (the journal of heads records #5, …)"; the chain itself is whole, so nothing else."""
    base = make_evidence(tmp_path / "base")
    _append(base, 3)
    _without_guard(base, "DELETE FROM custody WHERE id > 2", "custody_no_delete")

    result = vigil("audit", "verify", "--base-dir", base.root)

    assert result.returncode == 1, result.stdout + result.stderr
    (failed,) = _failed(result)
    assert failed.startswith(
        "FAILED: custody log: 3 entries after #2 are missing (the journal of heads records #5, "
    ), failed
    assert "INVALID: 1 check(s) failed; 2 custody entries, 3 segments" in result.stdout


def test_emptied_segment_ledger_is_found(tmp_path: Path) -> None:
    """In: the evidence, then every row of the segments table deleted (the files stay).
    Out: exit 1; a failed check says "segments of BWV-4521: all 3 entries are missing
    (the journal of heads records #3, …)", beside the three files no entry names."""
    base = make_evidence(tmp_path / "base")
    _without_guard(base, "DELETE FROM segments", "segments_no_delete")

    result = vigil("audit", "verify", "--base-dir", base.root)

    assert result.returncode == 1, result.stdout + result.stderr
    failed = _failed(result)
    assert (
        sum(
            line.startswith(
                "FAILED: segments of BWV-4521: all 3 entries are missing "
                "(the journal of heads records #3, "
            )
            for line in failed
        )
        == 1
    ), failed
    assert sum("unexpected file" in line for line in failed) == 3


def test_database_rolled_back_to_an_earlier_copy_is_found(tmp_path: Path) -> None:
    """In: the evidence; a copy of the database taken (SQLite's backup, as a backup tool
    would); 2 more custody entries and 1 more segment of BWV-4521; then the copy put back in
    place of the database. Out: exit 1 naming both tails: "custody log: 2 entries after #2
    are missing" and "segments of BWV-4521: 1 entry after #3 is missing" (and the newer
    segment's file, which no entry names now)."""
    base = make_evidence(tmp_path / "base")
    copy = tmp_path / "copy.db"
    source = sqlite3.connect(base.database)
    target = sqlite3.connect(copy)
    source.backup(target)
    target.close()
    source.close()
    _append(base, 2)
    db = open_database(base.database)
    path = write_segment(base.recordings, "BWV-4521", 3)
    SegmentLedger(db, base.recordings).add(
        "BWV-4521", 3, path, T0, T0 + dt.timedelta(seconds=4), duration_s=4.0
    )
    db.close()
    for leftover in (base.root / "vigil.db-wal", base.root / "vigil.db-shm"):
        leftover.unlink(missing_ok=True)
    copy.replace(base.database)

    result = vigil("audit", "verify", "--base-dir", base.root)

    assert result.returncode == 1, result.stdout + result.stderr
    failed = _failed(result)
    assert any(
        line.startswith("FAILED: custody log: 2 entries after #2 are missing (the journal")
        for line in failed
    ), failed
    assert any(
        line.startswith("FAILED: segments of BWV-4521: 1 entry after #3 is missing (the journal")
        for line in failed
    ), failed


def test_crash_between_commit_and_journal_is_not_a_failure(tmp_path: Path) -> None:
    """In: the evidence plus one custody entry whose journal line is then removed, as a
    crash after the database's commit and before the journal's write leaves it. Out: exit
    0 and VALID, with a note that the newest entry had no line yet."""
    base = make_evidence(tmp_path / "base")
    _append(base, 1)
    journal = base.root / "evidence-heads.log"
    lines = journal.read_text().splitlines(keepends=True)
    assert '"id":3' in lines[-1]
    journal.write_text("".join(lines[:-1]))

    result = vigil("audit", "verify", "--base-dir", base.root)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == "VALID: 3 custody entries, 3 segments"
    assert "note: custody log: the newest entry has no line in the journal of heads yet" in (
        result.stdout
    )


def test_base_dir_without_a_journal_audits_valid_and_starts_one(tmp_path: Path) -> None:
    """In: the evidence with its journal of heads removed, as in a base dir made before
    Vigil kept one. Out: exit 0, "VALID: 2 custody entries, 3 segments" and a note that the
    journal was started from the current heads; the journal is there now, private to its
    owner, and a custody entry records the start; a second audit is VALID with no note."""
    base = make_evidence(tmp_path / "base")
    journal = base.root / "evidence-heads.log"
    journal.unlink()

    first = vigil("audit", "verify", "--base-dir", base.root)
    second = vigil("audit", "verify", "--base-dir", base.root)

    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.splitlines()[0] == "VALID: 2 custody entries, 3 segments"
    assert "note: no journal of heads in this base dir" in first.stdout
    assert journal.stat().st_mode & 0o777 == 0o600
    db = open_database(base.database)
    actions = [entry.action for entry in CustodyLog(db).entries()]
    db.close()
    assert actions[2:] == ["heads_journal_started", "verify", "verify"]
    assert second.returncode == 0, second.stdout + second.stderr
    assert "note:" not in second.stdout


def test_journal_lost_after_an_audit_is_a_failure(tmp_path: Path) -> None:
    """In: the evidence audited once (so the custody log shows a journal was kept), then
    the journal deleted. Out: exit 1 naming the missing journal and the audit entry that
    shows there was one; a new journal is started, and the next audit still fails: the
    tails before then can no longer be vouched for."""
    base = make_evidence(tmp_path / "base")
    assert vigil("audit", "verify", "--base-dir", base.root).returncode == 0
    (base.root / "evidence-heads.log").unlink()

    found = vigil("audit", "verify", "--base-dir", base.root)
    later = vigil("audit", "verify", "--base-dir", base.root)

    assert found.returncode == 1, found.stdout + found.stderr
    (failed,) = _failed(found)
    assert failed.startswith(
        "FAILED: journal of heads: evidence-heads.log is missing, though custody entry #3 "
    ), failed
    assert (base.root / "evidence-heads.log").exists()
    assert later.returncode == 1, later.stdout + later.stderr
    assert _failed(later)[0].startswith("FAILED: journal of heads: found missing at ")

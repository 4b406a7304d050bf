"""`vigil audit verify`, run as the real program on a base dir whose database and
recordings the test made: VALID with the counts and exit 0 when all holds (and the audit
itself becomes a custody entry); exit 1 naming each failed check when a segment file and a
custody row were changed behind Vigil's back; exit 1 when there is no database at all.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
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

"""The custody log on a real SQLite file: entries chained from 64 zeros, each hash the
documented canonical JSON (recomputed here with json and hashlib alone), the actor the OS
user unless named; triggers refuse UPDATE and DELETE; and with the triggers dropped, an
edited row, a row edited with its hash made good, and deleted rows are each found, with the
first broken entry named. Two processes appending at once keep one linear chain.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import itertools
import json
import multiprocessing
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from app.database import open_database
from app.evidence.custody import BreakKind, CustodyAction, CustodyLog
from app.evidence.hashchain import GENESIS
from tests.clock import Clock

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC).timestamp()


@pytest.fixture
def log(db: sqlite_utils.Database) -> CustodyLog:
    return CustodyLog(db, Clock(T0, step=1.5))


def fill(log: CustodyLog, count: int = 5) -> None:
    """A supervisor opens and closes a body cam, an operator tags and edits, an export."""
    steps: list[tuple[CustodyAction, str, dict[str, object]]] = [
        (CustodyAction.VIEW_OPENED, "BWV-4521", {"reason": "officer requested support"}),
        (CustodyAction.VIEW_CLOSED, "BWV-4521", {}),
        (CustodyAction.TAG_MADE, "C-000017", {"tags": ["assault"], "feed": "BWV-4521"}),
        (CustodyAction.TAG_EDITED, "C-000017", {"note": "Ms Ó Briain: witness"}),
        (CustodyAction.EXPORT, "C-000017", {"out": "/media/usb/case-42"}),
    ]
    for action, subject, details in (steps * 2)[:count]:
        log.append(action, subject, details, actor="sgt.jones")


def tamper(db_path: Path, sql: str, *args: object) -> None:
    """What someone with the file and the sqlite3 module can do: drop the triggers, then
    change rows directly."""
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER IF EXISTS custody_no_update")
    conn.execute("DROP TRIGGER IF EXISTS custody_no_delete")
    conn.execute(sql, args)
    conn.commit()
    conn.close()


def test_entries_chain_from_zeros_and_hash_the_documented_json(
    log: CustodyLog, db: sqlite_utils.Database
) -> None:
    """In: five entries (view opened/closed, tag made/edited with non-ASCII text, export).
    Out: ids 1..5; the first links to 64 zeros, each later one to the entry before; each
    stored hash equals SHA-256 of json.dumps(every column but entry_hash, plus "schema":
    "vigil-custody-1"; sorted keys, no whitespace, UTF-8); details are stored as sorted
    compact JSON and read back equal; times are UTC text one entry 1.5 s after the last;
    verify finds nothing and head is the fifth entry's hash."""
    fill(log)

    rows = list(db.table("custody").rows_where(order_by="id"))
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["prev_hash"] == GENESIS
    for before, after in itertools.pairwise(rows):
        assert after["prev_hash"] == before["entry_hash"]
    for row in rows:
        obj = {k: v for k, v in row.items() if k != "entry_hash"}
        obj["schema"] = "vigil-custody-1"
        line = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(line.encode("utf-8")).hexdigest() == row["entry_hash"]
    assert rows[2]["details"] == '{"feed":"BWV-4521","tags":["assault"]}'
    assert rows[3]["details"] == '{"note":"Ms Ó Briain: witness"}'
    assert [r["at"] for r in rows[:2]] == [
        "2025-01-01T00:00:01.500000Z",
        "2025-01-01T00:00:03.000000Z",
    ]
    entries = log.entries("C-000017")
    assert [e.action for e in entries] == ["tag_made", "tag_edited", "export"]
    assert entries[0].details_dict == {"feed": "BWV-4521", "tags": ["assault"]}
    assert log.verify() is None
    assert log.head() == rows[-1]["entry_hash"]
    assert log.count() == 5


def test_actor_defaults_to_the_os_user(log: CustodyLog) -> None:
    """In: one entry with no actor, one naming "insp.khan". Out: the first's actor is
    getpass.getuser(), the second's "insp.khan"."""
    first = log.append(CustodyAction.VERIFY, "audit")
    second = log.append(CustodyAction.LOCK, "C-000017", actor="insp.khan")
    assert first.actor == getpass.getuser()
    assert second.actor == "insp.khan"


def test_actions_cover_the_issue(log: CustodyLog) -> None:
    """In: the issue's list of logged actions. Out: each is a CustodyAction, and an action
    that is not one is refused before anything is written."""
    wanted = {
        "view_opened",
        "view_closed",
        "tag_made",
        "tag_edited",
        "export",
        "verify",
        "lock",
        "delete_attempted",
    }
    assert wanted <= {a.value for a in CustodyAction}
    with pytest.raises(ValueError):
        log.append("shred", "C-000017")  # type: ignore[arg-type]
    assert log.count() == 0


def test_triggers_refuse_update_and_delete(
    log: CustodyLog, db_path: Path, db: sqlite_utils.Database
) -> None:
    """In: three entries; UPDATE and DELETE through a plain sqlite3 connection and through
    sqlite-utils. Out: each raises "custody is append-only" and nothing changed; once
    someone drops the triggers, the next open_database puts them back."""
    fill(log, 3)
    conn = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.DatabaseError, match="custody is append-only"):
        conn.execute("UPDATE custody SET actor = 'nobody' WHERE id = 2")
    with pytest.raises(sqlite3.DatabaseError, match="custody is append-only"):
        conn.execute("DELETE FROM custody WHERE id = 3")
    conn.close()
    with pytest.raises(sqlite3.DatabaseError, match="custody is append-only"):
        db.table("custody").delete(1)
    assert log.count() == 3
    assert log.verify() is None

    tamper(db_path, "SELECT 1")
    open_database(db_path).close()
    triggers = {t.name for t in db.triggers}
    assert {"custody_no_update", "custody_no_delete"} <= triggers


def test_row_edited_with_the_triggers_dropped_is_the_first_broken_entry(
    log: CustodyLog, db_path: Path
) -> None:
    """In: five entries; entry 3's actor changed by hand with the triggers dropped. Out:
    verify names entry 3, hash mismatch."""
    fill(log)
    tamper(db_path, "UPDATE custody SET actor = 'pc.smith' WHERE id = 3")

    broken = log.verify()
    assert broken is not None
    assert (broken.id, broken.kind) == (3, BreakKind.HASH_MISMATCH)
    assert str(broken).startswith("custody entry 3: hash mismatch")


def test_row_edited_with_its_hash_made_good_breaks_the_next_link(
    log: CustodyLog, db_path: Path, db: sqlite_utils.Database
) -> None:
    """In: five entries; entry 2's subject changed and its entry_hash recomputed to fit, as
    someone who read the module docstring would. Out: verify names entry 3: its previous-
    hash link no longer matches entry 2."""
    fill(log)
    row = next(db.table("custody").rows_where("id = 2"))
    row["subject"] = "BWV-9999"
    obj = {k: v for k, v in row.items() if k != "entry_hash"}
    obj["schema"] = "vigil-custody-1"
    forged = hashlib.sha256(
        json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    tamper(db_path, "UPDATE custody SET subject = 'BWV-9999', entry_hash = ? WHERE id = 2", forged)

    broken = log.verify()
    assert broken is not None
    assert (broken.id, broken.kind) == (3, BreakKind.LINK_BROKEN)


@pytest.mark.parametrize(
    ("deleted", "named", "missing"),
    [("id = 3", 4, "ids 3 missing"), ("id IN (1, 2)", 3, "ids 1..2 missing")],
)
def test_deleted_rows_are_named_by_the_entry_after_them(
    log: CustodyLog, db_path: Path, deleted: str, named: int, missing: str
) -> None:
    """In: five entries; entry 3 deleted (or entries 1 and 2) with the triggers dropped.
    Out: verify names entry 4 (or 3) as the first broken one, a gap in ids, saying which
    ids are missing."""
    fill(log)
    tamper(db_path, f"DELETE FROM custody WHERE {deleted}")

    broken = log.verify()
    assert broken is not None
    assert (broken.id, broken.kind) == (named, BreakKind.ID_GAP)
    assert missing in broken.detail


def _append_entries(db_path: str, worker: int, count: int, ready: object) -> None:
    """One process's appends, begun when the other process is ready too."""
    db = open_database(Path(db_path))
    log = CustodyLog(db)
    ready.wait()  # type: ignore[attr-defined]
    for n in range(count):
        log.append(CustodyAction.VIEW_OPENED, f"feed-{worker}", {"n": n}, actor=f"w{worker}")
    db.close()


def test_two_processes_appending_keep_one_chain(log: CustodyLog, db_path: Path) -> None:
    """In: two processes released together, each appending 25 entries as fast as it can.
    Out: 50 entries with ids 1..50, both processes' present, every previous hash distinct
    (no fork), and verify finds nothing."""
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(2)
    workers = [
        context.Process(target=_append_entries, args=(str(db_path), w, 25, ready)) for w in (1, 2)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0

    entries = log.entries()
    assert [e.id for e in entries] == list(range(1, 51))
    assert {e.actor for e in entries} == {"w1", "w2"}
    assert len({e.prev_hash for e in entries}) == 50
    assert log.verify() is None

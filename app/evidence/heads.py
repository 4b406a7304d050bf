"""The journal of heads: every chain's newest entry, written down outside the database.

A hash chain proves each entry up to the newest one kept, never that none came after it:
delete the custody log's last rows, empty a feed's ledger, or put back a copy of the
database made last week, and what is left is still a whole chain. So each append, once
its transaction has committed, also writes one line to `<base>/evidence-heads.log`, beside
the database, where an edit of the database cannot reach it:

    {"at":"2025-01-01T00:00:03.000000Z","chain":"custody","hash":"5e3a…","id":44}
    {"at":"…","chain":"segments","feed":"BWV-4521","hash":"9981…","id":57}

opened with O_APPEND (a line from each process lands whole, in any order), synced
(fsync) before the append returns, never rewritten. `vigil audit verify` compares the
newest line of each chain (the custody log, and each feed's segments) with the database:

- the database lacks the entry the journal names: its tail was deleted or rolled back;
- it has an entry with that id but another hash: rolled back and written again;
- the journal is one entry behind: a crash between the commit and the journal's write,
  which is allowed (the line is written after the commit, never before, so the database
  is never legitimately behind the journal); more than one behind is a failure.

A base dir made before the journal existed has none: the audit (or the next start of the
recorder) starts one from the current heads and appends a custody entry saying so, and
the audit says it plainly, since nothing before that point can be checked this way. A
journal that goes missing from a base dir whose custody log shows it kept one (a start
entry, or an audit that checked it) is a failure, in that audit and every later one: the
tails before then can no longer be vouched for. Someone able to rewrite both the database
and this file can still cut both alike; the heads printed by the audit, written down
elsewhere, and the heads signed into every export remain the check on that. No Qt here.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from app.evidence.hashchain import utc_text

log = logging.getLogger(__name__)

JOURNAL_NAME = "evidence-heads.log"
CUSTODY = "custody"
SEGMENTS = "segments"
STARTED_ACTION = "heads_journal_started"
"""The custody action (CustodyAction.HEADS_JOURNAL_STARTED) of a journal's start entry."""

_HASH = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Head:
    """A chain's entry as the journal records it: which chain (the custody log, or the
    segments of one feed), the entry's id and hash, and when the line was written."""

    chain: str
    feed: str | None
    id: int
    hash: str
    at: str = ""

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.chain, self.feed)

    @property
    def label(self) -> str:
        return "custody log" if self.chain == CUSTODY else f"segments of {self.feed}"

    def line(self, *, start: bool = False) -> bytes:
        record: dict[str, object] = {"at": self.at, "chain": self.chain, "hash": self.hash}
        record["id"] = self.id
        if self.feed is not None:
            record["feed"] = self.feed
        if start:
            record["start"] = True
        text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return (text + "\n").encode("utf-8")


def journal_path(conn: sqlite3.Connection) -> Path | None:
    """The journal beside the connection's database file; None for a database with no file
    (in memory), which has nowhere to keep one."""
    for _, name, file in conn.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return Path(file).with_name(JOURNAL_NAME) if file else None
    return None


def _write(
    path: Path, heads: Iterable[Head], *, start: bool = False, exclusive: bool = False
) -> None:
    """Append the lines in one write, synced. `exclusive`: create the file, failing with
    FileExistsError when it is there; otherwise it must be there already."""
    data = b"".join(head.line(start=start) for head in heads)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC
    if exclusive:
        flags |= os.O_CREAT | os.O_EXCL
    fd = os.open(path, flags, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    if exclusive:  # the new name must survive a power cut as well as its lines
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _empty(conn: sqlite3.Connection, table: str, except_id: int) -> bool:
    row = conn.execute(f"SELECT 1 FROM {table} WHERE id != ? LIMIT 1", [except_id]).fetchone()
    return row is None


def record(conn: sqlite3.Connection, head: Head) -> None:
    """Write a committed entry's line (custody.py and ledger.py call this after commit).

    Never raises: the entry is in the database already, and a caller told otherwise would
    think it was not. A journal that cannot be written is logged; the audit then finds it
    behind. With no journal yet, a brand-new base dir (this is the first entry of either
    chain) starts one; an older one is left for `start` to begin with a custody entry."""
    path = journal_path(conn)
    if path is None:
        return
    head = (
        head if head.at else Head(head.chain, head.feed, head.id, head.hash, utc_text(time.time()))
    )
    try:
        if path.exists():
            _write(path, [head])
            return
        fresh = head.id == 1 and _empty(conn, CUSTODY if head.chain == SEGMENTS else SEGMENTS, 0)
        if fresh:
            try:
                _write(path, [head], exclusive=True)
            except FileExistsError:
                _write(path, [head])
    except (OSError, sqlite3.Error) as exc:
        log.error(
            "the journal of heads %s was not written for %s #%d: %s", path, head.label, head.id, exc
        )


def current(conn: sqlite3.Connection) -> list[Head]:
    """Every chain's newest entry in the database: the custody log's, then each feed's."""
    heads = [
        Head(CUSTODY, None, int(i), str(h))
        for i, h in conn.execute("SELECT id, entry_hash FROM custody ORDER BY id DESC LIMIT 1")
    ]
    rows = conn.execute(
        "SELECT feed_name, id, entry_hash FROM segments WHERE id IN "
        "(SELECT MAX(id) FROM segments GROUP BY feed_name) ORDER BY feed_name"
    )
    return heads + [Head(SEGMENTS, str(f), int(i), str(h)) for f, i, h in rows]


def kept_before(conn: sqlite3.Connection) -> tuple[int, str] | None:
    """The first custody entry showing this base dir kept a journal (its start, or an audit
    that checked it), as (id, at); None when there is none, as in a base dir made before."""
    row = conn.execute(
        "SELECT id, at FROM custody WHERE action = ? OR (action = 'verify' AND "
        "json_extract(details, '$.heads_journal') IS NOT NULL) ORDER BY id LIMIT 1",
        [STARTED_ACTION],
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


@dataclass(frozen=True)
class Started:
    """A journal begun now from the heads the database had, on a base dir without one."""

    path: Path
    heads: list[Head]
    kept_before: tuple[int, str] | None
    """The custody entry (id, at) that shows an earlier journal: this one was lost."""

    def details(self) -> dict[str, object]:
        """The details of the custody entry that records the start."""
        return {
            "journal": self.path.name,
            "heads": [
                {"chain": h.chain, "feed": h.feed, "id": h.id, "hash": h.hash} for h in self.heads
            ],
            "lost_since_entry": None if self.kept_before is None else self.kept_before[0],
        }

    def __str__(self) -> str:
        at = ", ".join(f"{h.label} #{h.id}" for h in self.heads)
        if self.kept_before is None:
            return (
                f"no journal of heads in this base dir (made by a Vigil that kept none); "
                f"started it from the current heads ({at}): entries removed from the tails "
                f"before now cannot be detected, those after can"
            )
        entry, when = self.kept_before
        return (
            f"journal of heads: {self.path.name} is missing, though custody entry #{entry} "
            f"({when}) shows this base dir kept one: entries cut from the tails before now "
            f"cannot be ruled out; a new journal was started from the current heads ({at})"
        )


def start(conn: sqlite3.Connection) -> Started | None:
    """Begin the journal where the base dir has none and the database has entries; None
    when there is one already (or the database has no file, or no entries yet, in which
    case an empty journal is made for the first entry to go into). The caller appends the
    custody entry (CustodyLog.keep_heads). OSError when the folder cannot be written."""
    path = journal_path(conn)
    if path is None or path.exists():
        return None
    heads = current(conn)
    now = utc_text(time.time())
    heads = [Head(h.chain, h.feed, h.id, h.hash, now) for h in heads]
    try:
        _write(path, heads, start=True, exclusive=True)
    except FileExistsError:  # another process began it at this moment
        return None
    return Started(path, heads, kept_before(conn)) if heads else None


@dataclass
class TailReport:
    """What comparing the journal with the database found: failed checks and notes."""

    failed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Journal:
    newest: dict[tuple[str, str | None], Head] = field(default_factory=dict)
    ids: dict[tuple[str, str | None], set[int]] = field(default_factory=dict)


def _parse(line: bytes) -> Head | None:
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(obj, dict):
        return None
    chain, feed, entry_id, digest = (
        obj.get("chain"),
        obj.get("feed"),
        obj.get("id"),
        obj.get("hash"),
    )
    if chain not in (CUSTODY, SEGMENTS) or (chain == SEGMENTS) != isinstance(feed, str):
        return None
    if isinstance(entry_id, bool) or not isinstance(entry_id, int) or entry_id < 1:
        return None
    if not isinstance(digest, str) or not _HASH.match(digest):
        return None
    return Head(str(chain), feed, entry_id, digest, str(obj.get("at", "")))


def _read(path: Path, report: TailReport) -> _Journal:
    journal = _Journal()
    with path.open("rb") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            head = _parse(line)
            if head is None:
                # A torn write (power cut mid-line) reads the same as a scribble; either
                # way the line's record is lost, which the "behind" check then weighs.
                report.notes.append(f"journal of heads: line {number} is unreadable; skipped")
                continue
            journal.ids.setdefault(head.key, set()).add(head.id)
            newest = journal.newest.get(head.key)
            if newest is None or head.id > newest.id:
                journal.newest[head.key] = head
    return journal


def _where(key: tuple[str, str | None]) -> tuple[str, list[object]]:
    chain, feed = key
    return (CUSTODY, []) if chain == CUSTODY else (SEGMENTS + " WHERE feed_name = ?", [feed])


def _hash_at(conn: sqlite3.Connection, key: tuple[str, str | None], entry_id: int) -> str | None:
    table, args = _where(key)
    joiner = " AND" if args else " WHERE"
    row = conn.execute(f"SELECT entry_hash FROM {table}{joiner} id = ?", [*args, entry_id])
    found = row.fetchone()
    return None if found is None else str(found[0])


def _count_after(conn: sqlite3.Connection, key: tuple[str, str | None], entry_id: int) -> int:
    table, args = _where(key)
    joiner = " AND" if args else " WHERE"
    row = conn.execute(f"SELECT COUNT(*) FROM {table}{joiner} id > ?", [*args, entry_id])
    return int(row.fetchone()[0])


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def _recorded(head: Head) -> str:
    return f"the journal of heads records #{head.id}, {head.hash[:16]}…, written {head.at}"


def _behind(report: TailReport, label: str, after: int, since: int | None) -> None:
    """Entries in the database past the journal's newest line for the chain: one is what
    a crash between commit and journal leaves; more were never journaled."""
    past = f"after #{since}" if since is not None else "in all"
    if after == 1:
        report.notes.append(
            f"{label}: the newest entry has no line in the journal of heads yet (as after a "
            f"crash between the database's commit and the journal's write): not a failure"
        )
    elif after > 1:
        report.failed.append(
            f"{label}: {_entries(after)} {past} have no line in the journal of heads, and a "
            f"crash leaves at most one so: the journal was cut short, or something wrote to "
            f"the database without it"
        )


def _compare(
    conn: sqlite3.Connection,
    report: TailReport,
    journal: _Journal,
    key: tuple[str, str | None],
    head: Head | None,
) -> None:
    recorded = journal.newest.get(key)
    label = (recorded or head or Head(*key, 0, "")).label
    if recorded is None:  # a chain begun after the journal: every entry has a line
        _behind(report, label, _count_after(conn, key, 0), None)
        return
    stored = _hash_at(conn, key, recorded.id)
    if stored is None:
        kept = head.id if head is not None else 0
        if kept > recorded.id:  # an entry inside the chain: its own check names the gap
            report.failed.append(
                f"{label}: entry #{recorded.id} is missing ({_recorded(recorded)})"
            )
            return
        # Custody ids run 1, 2, 3 …; a feed's ids are shared with other feeds, so count
        # the journal's lines for it.
        if key[0] == CUSTODY:
            missing = recorded.id - kept
        else:
            missing = len({i for i in journal.ids[key] if i > kept})
        lost_text = f"{_entries(missing)} after #{kept}" if kept else f"all {_entries(missing)}"
        verb = "is" if missing == 1 else "are"
        report.failed.append(f"{label}: {lost_text} {verb} missing ({_recorded(recorded)})")
    elif stored != recorded.hash:
        report.failed.append(
            f"{label}: entry #{recorded.id} is not the one the journal of heads recorded (the "
            f"database has {stored[:16]}…, the journal {recorded.hash[:16]}…, written "
            f"{recorded.at}): the log was rolled back and written again, or the entry rewritten"
        )
    else:
        _behind(report, label, _count_after(conn, key, recorded.id), recorded.id)


def lost(conn: sqlite3.Connection) -> list[str]:
    """A failed check for every custody entry that started a journal again after one was
    lost: what was cut from the tails before then cannot be ruled out, in any audit."""
    rows = conn.execute(
        "SELECT id, at, json_extract(details, '$.lost_since_entry') FROM custody "
        "WHERE action = ? AND json_extract(details, '$.lost_since_entry') IS NOT NULL ORDER BY id",
        [STARTED_ACTION],
    )
    return [
        f"journal of heads: found missing at {at} (custody entry #{entry_id}), though custody "
        f"entry #{since} shows this base dir kept one: entries cut from the tails before then "
        f"cannot be ruled out"
        for entry_id, at, since in rows.fetchall()
    ]


def check(conn: sqlite3.Connection) -> TailReport:
    """Compare the journal's newest line of every chain with the database (the module
    docstring says what each finding means). No journal: nothing to compare, and `start`
    is what to call next."""
    report = TailReport(failed=lost(conn))
    path = journal_path(conn)
    if path is None or not path.exists():
        return report
    try:
        journal = _read(path, report)
    except OSError as exc:
        report.failed.append(f"journal of heads: it cannot be read ({exc})")
        return report
    heads = {head.key: head for head in current(conn)}
    keys = sorted(set(journal.newest) | set(heads), key=lambda k: (k[0] != CUSTODY, k[1] or ""))
    for key in keys:
        _compare(conn, report, journal, key, heads.get(key))
    return report

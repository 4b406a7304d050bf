"""The custody log: who did what to the evidence, and when, one hash-chained entry each.

Every action on recorded material (a feed's viewing opened and closed, a tag made or
edited, an export, a verification, a lock, an attempted delete, a partial segment
quarantined at start) appends one row to the `custody` table. Rows are never changed:
SQLite triggers refuse UPDATE and DELETE, and each row's hash covers the previous row's
hash, so someone who drops the triggers and edits or deletes a row is still found by
`verify()` (and `vigil audit verify`), which names the first broken entry. No Qt here.

How an entry's hash is made (so that anyone can recompute it with standard tools):

    entry_hash = SHA-256, lowercase hex, of the UTF-8 bytes of this JSON object with its
    keys sorted and no whitespace at all (separators "," and ":"), non-ASCII characters
    written as themselves (RFC 8785 canonical JSON; the object holds no floats):

      "schema"     "vigil-custody-1"
      "id"         the row's id (integer; 1, 2, 3, ... with no gaps)
      "at"         when, UTC text "YYYY-MM-DDTHH:MM:SS.ffffffZ"
      "actor"      who (the operating-system user unless the caller names someone)
      "action"     one of CustodyAction's values, such as "view_opened"
      "subject"    what it was done to: a feed's name, a clip id, a file
      "details"    the details column exactly as stored: itself a JSON text (sorted keys,
                   no whitespace), hashed as a string, so numbers inside it need no rule
      "prev_hash"  the previous row's entry_hash, or 64 zeros for the first row

    That is every column but entry_hash, plus "schema". In Python:
    hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False).encode()).hexdigest().

Deleting the newest rows leaves a shorter chain that is still whole, so every append, once
committed, also writes the new head to the journal of heads outside the database
(app/evidence/heads.py), and `check_heads()` compares the two: a tail deleted, emptied or
rolled back is named there. `keep_heads()` starts the journal on a base dir made before it.
"""

from __future__ import annotations

import enum
import getpass
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import sqlite_utils

from app.evidence import heads
from app.evidence.hashchain import GENESIS, hash_entry, immediate, utc_text

SCHEMA = "vigil-custody-1"


class CustodyAction(enum.StrEnum):
    VIEW_OPENED = "view_opened"
    VIEW_CLOSED = "view_closed"
    TAG_MADE = "tag_made"
    TAG_EDITED = "tag_edited"
    EXPORT = "export"
    STILL_EXPORT = "still_export"  # one frame written as a PNG (app/evidence/review_store.py)
    VERIFY = "verify"
    LOCK = "lock"
    DELETE_ATTEMPTED = "delete_attempted"
    QUARANTINE = "quarantine"
    """A partial segment found at start was moved aside (app/evidence/recovery.py)."""
    RECOVER = "recover"
    """A closed segment missing from the ledger after a crash was entered at start."""
    RETIRE = "retire"
    """Segment files past their keeping time removed on purpose (app/evidence/retention.py): the
    entry names each one's ledger id and SHA-256, so the ledger's verify knows them."""
    # Accounts and sessions (app/access/accounts.py, app/access/person.py, app/access/session.py):
    # who could act is as much a part of the custody as what they did.
    ACCOUNT_ADDED = "account_added"
    ACCOUNT_DISABLED = "account_disabled"
    ACCOUNT_ROLE_CHANGED = "account_role_changed"
    """Details {"from": role, "to": role}: written before the row changes, and the database
    lets a role change only when this is its newest record (app/database.py)."""
    REFUSED = "refused"
    """A request the person's role does not allow, or a failed sign-in or unlock: the entry
    names the permission and how the request came (window, command line, control socket)."""
    SIGNED_IN = "signed_in"
    SIGNED_OUT = "signed_out"
    SESSION_LOCKED = "session_locked"
    SESSION_UNLOCKED = "session_unlocked"
    HEADS_JOURNAL_STARTED = heads.STARTED_ACTION
    """The journal of heads (app/evidence/heads.py) begun on a base dir that had none: the
    details list the heads it starts from, and whether an earlier journal was lost."""


class BreakKind(enum.StrEnum):
    HASH_MISMATCH = "hash_mismatch"
    LINK_BROKEN = "link_broken"
    ID_GAP = "id_gap"

    @property
    def text(self) -> str:
        return _BREAK_TEXT[self]


_BREAK_TEXT = {
    BreakKind.HASH_MISMATCH: "hash mismatch (the row was edited)",
    BreakKind.LINK_BROKEN: "previous-hash link broken (the entry before it was changed or removed)",
    BreakKind.ID_GAP: "gap in ids (entries before it were deleted)",
}


@dataclass(frozen=True)
class BrokenEntry:
    """The first entry at which the chain fails, and why."""

    id: int
    kind: BreakKind
    detail: str

    def __str__(self) -> str:
        return f"custody entry {self.id}: {self.kind.text}: {self.detail}"


@dataclass(frozen=True)
class CustodyEntry:
    id: int
    at: str
    actor: str
    action: str
    """A CustodyAction's value; kept as text so rows written by a newer Vigil still read."""
    subject: str
    details: str
    """JSON text (sorted keys, no whitespace)."""
    prev_hash: str
    entry_hash: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CustodyEntry:
        return cls(**{name: row[name] for name in _COLUMNS})

    @property
    def details_dict(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.details)
        return loaded

    def hashed(self) -> dict[str, object]:
        """The object the entry's hash is taken over (the module docstring lists it)."""
        return {
            "schema": SCHEMA,
            "id": self.id,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "details": self.details,
            "prev_hash": self.prev_hash,
        }

    def computed_hash(self) -> str:
        return hash_entry(self.hashed())


_COLUMNS = ("id", "at", "actor", "action", "subject", "details", "prev_hash", "entry_hash")
_INSERT = f"INSERT INTO custody ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"


def os_user() -> str:
    """The logged-in user, the default actor. getpass fails where no name is known for
    the uid (some containers); the uid still says who."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def retired_segments(db: sqlite_utils.Database) -> dict[int, str]:
    """Ledger ids of the segments whose files retention removed on purpose, each with the
    SHA-256 it had then: read from every `retire` entry's "segments" list. The entries'
    own chain is what makes this trustworthy; `CustodyLog.verify` checks it."""
    rows = db.execute(
        "SELECT json_extract(s.value, '$.id'), json_extract(s.value, '$.sha256') "
        "FROM custody, json_each(custody.details, '$.segments') AS s "
        "WHERE custody.action = ?",
        [CustodyAction.RETIRE.value],
    )
    return {int(entry_id): str(sha256) for entry_id, sha256 in rows.fetchall()}


class CustodyLog:
    """The custody table, on one connection (and so one thread); SQLite arbitrates between
    processes, so the wall and `vigil` commands append to one chain."""

    def __init__(self, db: sqlite_utils.Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    def append(
        self,
        action: CustodyAction,
        subject: str,
        details: Mapping[str, Any] | None = None,
        *,
        actor: str | None = None,
    ) -> CustodyEntry:
        """Append one entry; `actor` defaults to the operating-system user. `details` must
        be JSON-able (no NaN)."""
        text = json.dumps(
            dict(details or {}),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
        who = actor if actor is not None else os_user()
        conn = self._db.conn
        # The write lock before reading the last hash: two processes appending at once
        # must not both link to the same entry.
        with immediate(conn):
            last = conn.execute(
                "SELECT id, entry_hash FROM custody ORDER BY id DESC LIMIT 1"
            ).fetchone()
            entry = CustodyEntry(
                id=int(last[0]) + 1 if last else 1,
                at=utc_text(self._clock()),
                actor=who,
                action=CustodyAction(action).value,
                subject=subject,
                details=text,
                prev_hash=str(last[1]) if last else GENESIS,
                entry_hash="",
            )
            entry = replace(entry, entry_hash=entry.computed_hash())
            conn.execute(_INSERT, [getattr(entry, name) for name in _COLUMNS])
        # After the commit, never before: a crash between the two leaves the journal one
        # behind, which the audit allows; the database behind the journal it never allows.
        heads.record(conn, heads.Head(heads.CUSTODY, None, entry.id, entry.entry_hash))
        return entry

    def entries(self, subject: str | None = None) -> list[CustodyEntry]:
        where, args = ("subject = ?", [subject]) if subject is not None else (None, [])
        rows = self._db.table("custody").rows_where(where, args, order_by="id")
        return [CustodyEntry.from_row(row) for row in rows]

    def _walk(self) -> Iterator[CustodyEntry]:
        for row in self._db.table("custody").rows_where(order_by="id"):
            yield CustodyEntry.from_row(row)

    def count(self) -> int:
        return self._db.table("custody").count

    def head(self) -> str:
        """The newest entry's hash (64 zeros for an empty log)."""
        row = self._db.execute("SELECT entry_hash FROM custody ORDER BY id DESC LIMIT 1").fetchone()
        return str(row[0]) if row else GENESIS

    def keep_heads(self) -> heads.Started | None:
        """Start the journal of heads if this base dir has none (one made before Vigil kept
        it, or one whose journal was lost), from the heads the database has now, and record
        that in this log. The start (its text says which case) or None when a journal is
        there. OSError when the base dir cannot be written, as for a read-only copy."""
        started = heads.start(self._db.conn)
        if started is not None:
            self.append(CustodyAction.HEADS_JOURNAL_STARTED, started.path.name, started.details())
        return started

    def check_heads(self) -> heads.TailReport:
        """Both chains' tails (this log's and every feed's segments) against the journal of
        heads: failed checks and notes, in words (app/evidence/heads.py says what each means)."""
        return heads.check(self._db.conn)

    def verify(self) -> BrokenEntry | None:
        """Walk the chain from the first entry; the first entry that fails, or None when
        every id follows the last, every link holds and every hash recomputes."""
        expected_id, prev_hash = 1, GENESIS
        for entry in self._walk():
            if entry.id != expected_id:
                missing = (
                    f"{expected_id}"
                    if entry.id == expected_id + 1
                    else f"{expected_id}..{entry.id - 1}"
                )
                return BrokenEntry(entry.id, BreakKind.ID_GAP, f"ids {missing} missing")
            if entry.prev_hash != prev_hash:
                before = f"entry {entry.id - 1} hashes to" if entry.id > 1 else "the first links to"
                return BrokenEntry(
                    entry.id,
                    BreakKind.LINK_BROKEN,
                    f"it links to {entry.prev_hash[:16]}…, {before} {prev_hash[:16]}…",
                )
            computed = entry.computed_hash()
            if computed != entry.entry_hash:
                return BrokenEntry(
                    entry.id,
                    BreakKind.HASH_MISMATCH,
                    f"stored {entry.entry_hash[:16]}…, recomputed {computed[:16]}…",
                )
            expected_id, prev_hash = entry.id + 1, entry.entry_hash
        return None

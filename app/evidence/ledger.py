"""The evidence ledger: every closed recording segment, its SHA-256, chained per feed.

The recorder (media/recording/recorder.py) closes each segment file and hands it here; `add` hashes
the file and appends one row to the `segments` table. Each feed's rows form a hash chain,
so a row edited, deleted or reordered by hand, and a file edited, deleted or slipped in
behind Vigil's back, are all found by `verify` and named. No Qt here.

How an entry's hash is made (so that anyone can recompute it with standard tools):

    entry_hash = SHA-256, lowercase hex, of the UTF-8 bytes of this JSON object with its
    keys sorted and no whitespace at all (separators "," and ":"), non-ASCII characters
    written as themselves (RFC 8785 canonical JSON; the object holds no floats):

      "schema"       "vigil-segment-1"
      "id"           the row's id (integer; ids are 1, 2, 3, ... across all feeds)
      "feed_name"    text
      "seq"          the recorder's sequence number (integer)
      "path"         the file, relative to the recordings folder, "/"-separated
      "start_utc"    text, "YYYY-MM-DDTHH:MM:SS.ffffffZ"
      "end_utc"      text, same form
      "duration_s"   the duration_s column as text with exactly six decimals
                     ("2.000000"), or null
      "bytes"        the file's size (integer)
      "sha256"       the file's SHA-256, lowercase hex
      "clock_sync"   "synchronised ±N ms", "unsynchronised" or "unknown"
      "recorded_at"  when the row was written, same form as start_utc
      "note"         text or null
      "prev_hash"    the entry_hash of the same feed's previous row (by id), or 64 zeros
                     for the feed's first row

    That is every column but entry_hash, plus "schema". In Python:
    hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False).encode()).hexdigest(). A worked example (tests check it):

      {"bytes":3,"clock_sync":"unknown","duration_s":"2.000000","end_utc":"2025-01-01T00:00:02.000000Z","feed_name":"BWV-4521","id":1,"note":null,"path":"BWV-4521/000001.ts","prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","recorded_at":"2025-01-01T00:00:03.000000Z","schema":"vigil-segment-1","seq":1,"sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","start_utc":"2025-01-01T00:00:00.000000Z"}

      hashes to 9981a5cd23d7050e6e8af27673e693bc03f4c6f4c88e09b11fa9e25c30062757
      (`printf '%s' '<that line>' | sha256sum`).

Rows are never removed, and neither are files, but for one reason: retention
(app/evidence/retention.py) removes files past their keeping time, after appending a custody entry
(action "retire") naming each one's id and SHA-256. `verify` reads those entries and does
not report such a file as missing; a file gone without one still is.

A chain shows that rows were not changed one at a time, not that none were removed from
its end: each entry, once committed, is also written to the journal of heads outside the
database (app/evidence/heads.py), which `vigil audit verify` compares with every feed's
newest entry, so a feed's tail deleted or rolled back is named. Someone able to rewrite
the journal too could still cut both alike, so the heads (`heads()`, printed by the audit)
are worth writing down elsewhere, as exports do.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import sqlite_utils

from app.evidence import clock_sync as clock_sync_module
from app.evidence import heads as heads_journal
from app.evidence.custody import retired_segments
from app.evidence.hashchain import GENESIS, hash_entry, hash_file, immediate, utc_text

log = logging.getLogger(__name__)

SCHEMA = "vigil-segment-1"
QUARANTINE = "quarantine"
"""The recordings folder's subfolder for partial segments found at start
(app/evidence/recovery.py)."""
SEGMENT_SUFFIX = ".ts"


class ProblemKind(enum.StrEnum):
    ENTRY_HASH = "entry_hash"
    CHAIN_LINK = "chain_link"
    ID_GAP = "id_gap"
    FILE_MISSING = "file_missing"
    FILE_HASH = "file_hash"
    UNEXPECTED_FILE = "unexpected_file"

    @property
    def text(self) -> str:
        return _PROBLEM_TEXT[self]


_PROBLEM_TEXT = {
    ProblemKind.ENTRY_HASH: "entry hash mismatch (the row was edited)",
    ProblemKind.CHAIN_LINK: "chain link broken (an entry before it was deleted or reordered)",
    ProblemKind.ID_GAP: "gap in ids (entries before it were deleted)",
    ProblemKind.FILE_MISSING: "file missing",
    ProblemKind.FILE_HASH: "file hash mismatch (the file was edited)",
    ProblemKind.UNEXPECTED_FILE: "unexpected file (no ledger entry names it)",
}


@dataclass(frozen=True)
class Problem:
    """One failed check, naming the entry (or, for an unexpected file, the file)."""

    kind: ProblemKind
    entry_id: int | None
    feed_name: str | None
    seq: int | None
    path: str
    detail: str = ""

    def __str__(self) -> str:
        where = (
            f"segment {self.entry_id} ({self.feed_name} seq {self.seq}, {self.path})"
            if self.entry_id is not None
            else self.path
        )
        return f"{where}: {self.kind.text}" + (f": {self.detail}" if self.detail else "")


class DuplicateSegmentError(ValueError):
    """The file is in the ledger already: a segment is entered once."""


@dataclass(frozen=True)
class SegmentEntry:
    """One row of the ledger."""

    id: int
    feed_name: str
    seq: int
    path: str
    """Relative to the recordings folder, "/"-separated."""
    start_utc: str
    end_utc: str
    duration_s: float | None
    bytes: int
    sha256: str
    prev_hash: str
    entry_hash: str
    clock_sync: str
    recorded_at: str
    note: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SegmentEntry:
        return cls(**{name: row[name] for name in _COLUMNS})

    def hashed(self) -> dict[str, object]:
        """The object the entry's hash is taken over (the module docstring lists it)."""
        return {
            "schema": SCHEMA,
            "id": self.id,
            "feed_name": self.feed_name,
            "seq": self.seq,
            "path": self.path,
            "start_utc": self.start_utc,
            "end_utc": self.end_utc,
            # Text, not a number: the hash must not depend on how a tool prints floats.
            "duration_s": None if self.duration_s is None else f"{self.duration_s:.6f}",
            "bytes": self.bytes,
            "sha256": self.sha256,
            "clock_sync": self.clock_sync,
            "recorded_at": self.recorded_at,
            "note": self.note,
            "prev_hash": self.prev_hash,
        }

    def computed_hash(self) -> str:
        return hash_entry(self.hashed())

    def problem(self, kind: ProblemKind, detail: str = "") -> Problem:
        return Problem(kind, self.id, self.feed_name, self.seq, self.path, detail)


_COLUMNS = (
    "id",
    "feed_name",
    "seq",
    "path",
    "start_utc",
    "end_utc",
    "duration_s",
    "bytes",
    "sha256",
    "prev_hash",
    "entry_hash",
    "clock_sync",
    "recorded_at",
    "note",
)
_INSERT = (
    f"INSERT INTO segments ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
)


class SegmentLedger:
    """The segments table, on one connection (and so one thread); SQLite arbitrates
    between processes. `recordings_root` is the folder every segment path is relative to."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        recordings_root: Path,
        *,
        clock: Callable[[], float] = time.time,
        clock_sync: Callable[[], str] = clock_sync_module.clock_sync,
    ) -> None:
        self._db = db
        self.root = Path(recordings_root).resolve()
        self._clock = clock
        self._clock_sync = clock_sync

    def relative(self, path: Path | str) -> str:
        """A segment's path as the ledger names it. Relative paths are taken as relative
        to the recordings folder; a file outside it is refused, since the ledger could not
        find it again if the base dir moves."""
        file = Path(path)
        if not file.is_absolute():
            file = self.root / file
        try:
            return file.resolve().relative_to(self.root).as_posix()
        except ValueError:
            raise ValueError(f"{path} is not inside the recordings folder {self.root}") from None

    def file(self, entry: SegmentEntry) -> Path:
        return self.root / entry.path

    def add(
        self,
        feed_name: str,
        seq: int,
        path: Path | str,
        start_utc: dt.datetime | float,
        end_utc: dt.datetime | float,
        *,
        duration_s: float | None = None,
        note: str | None = None,
        expected_sha256: str | None = None,
    ) -> SegmentEntry:
        """Hash the closed segment file and append its entry to the feed's chain.

        Times are aware datetimes or Unix times. `expected_sha256` is the hash the recorder
        took of the bytes on their way to the file: when the file on disk hashes otherwise,
        the entry still describes the file as it is (that is what an export will carry),
        and its note and a warning say what the recorder had. Raises DuplicateSegmentError
        if the file is in the ledger already, FileNotFoundError if it is not there."""
        relative = self.relative(path)
        start, end = utc_text(start_utc), utc_text(end_utc)
        if end < start:
            raise ValueError(f"segment {relative} ends ({end}) before it starts ({start})")
        if duration_s is not None and not math.isfinite(duration_s):
            raise ValueError(f"segment {relative} has no finite duration: {duration_s}")
        # Hashed before the write lock is taken: a large file must not hold up the other
        # feeds' appends while it is read.
        sha256, size = hash_file(self.root / relative)
        if expected_sha256 is not None and expected_sha256.lower() != sha256:
            log.warning(
                "segment %s hashes to %s on disk, but the recorder wrote bytes hashing to %s",
                relative,
                sha256,
                expected_sha256,
            )
            mismatch = f"the recorder hashed {expected_sha256.lower()} while writing it"
            note = f"{note}; {mismatch}" if note else mismatch
        sync = self._clock_sync()
        conn = self._db.conn
        with immediate(conn):
            if conn.execute("SELECT 1 FROM segments WHERE path = ?", [relative]).fetchone():
                raise DuplicateSegmentError(f"{relative} is in the ledger already")
            last = conn.execute(
                "SELECT entry_hash FROM segments WHERE feed_name = ? ORDER BY id DESC LIMIT 1",
                [feed_name],
            ).fetchone()
            (next_id,) = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM segments").fetchone()
            entry = SegmentEntry(
                id=int(next_id),
                feed_name=feed_name,
                seq=int(seq),
                path=relative,
                start_utc=start,
                end_utc=end,
                duration_s=None if duration_s is None else round(float(duration_s), 6),
                bytes=size,
                sha256=sha256,
                prev_hash=str(last[0]) if last else GENESIS,
                entry_hash="",
                clock_sync=sync,
                recorded_at=utc_text(self._clock()),
                note=note,
            )
            entry = replace(entry, entry_hash=entry.computed_hash())
            conn.execute(_INSERT, [getattr(entry, name) for name in _COLUMNS])
        # After the commit (app/evidence/heads.py says why that order).
        heads_journal.record(
            conn, heads_journal.Head(heads_journal.SEGMENTS, feed_name, entry.id, entry.entry_hash)
        )
        return entry

    # -- reading -------------------------------------------------------------------------

    def entries(self, feed_name: str | None = None) -> list[SegmentEntry]:
        """Entries in the order they were appended (by id), all feeds or one."""
        where, args = ("feed_name = ?", [feed_name]) if feed_name is not None else (None, [])
        rows = self._db.table("segments").rows_where(where, args, order_by="id")
        return [SegmentEntry.from_row(row) for row in rows]

    def count(self, feed_name: str | None = None) -> int:
        if feed_name is None:
            return self._db.table("segments").count
        return self._db.table("segments").count_where("feed_name = ?", [feed_name])

    def feeds(self) -> list[str]:
        rows = self._db.execute("SELECT DISTINCT feed_name FROM segments ORDER BY feed_name")
        return [str(name) for (name,) in rows.fetchall()]

    def heads(self) -> dict[str, str]:
        """Each feed's newest entry hash: what to write down elsewhere to pin the chains."""
        rows = self._db.execute(
            "SELECT feed_name, entry_hash FROM segments WHERE id IN "
            "(SELECT MAX(id) FROM segments GROUP BY feed_name) ORDER BY feed_name"
        )
        return {str(feed): str(head) for feed, head in rows.fetchall()}

    def paths(self) -> set[str]:
        return {str(p) for (p,) in self._db.execute("SELECT path FROM segments").fetchall()}

    def retired(self) -> dict[int, str]:
        """Ids of entries whose files retention removed on purpose, with their SHA-256."""
        return retired_segments(self._db)

    def next_seq(self, feed_name: str) -> int:
        (top,) = self._db.execute(
            "SELECT MAX(seq) FROM segments WHERE feed_name = ?", [feed_name]
        ).fetchone()
        return 0 if top is None else int(top) + 1

    def segments_between(
        self, feed_name: str, start: dt.datetime | float, end: dt.datetime | float
    ) -> list[SegmentEntry]:
        """The feed's segments that overlap `start..end` (both included), oldest first:
        a clip's first and last frame may lie in segments that began before it or ended
        after it."""
        rows = self._db.table("segments").rows_where(
            "feed_name = ? AND start_utc <= ? AND end_utc >= ?",
            [feed_name, utc_text(end), utc_text(start)],
            order_by="start_utc, id",
        )
        return [SegmentEntry.from_row(row) for row in rows]

    # -- checking ------------------------------------------------------------------------

    def verify(self, feed_name: str | None = None, *, files: bool = True) -> list[Problem]:
        """Every check on every entry (or one feed's), in entry order: each row's hash, each
        link to the feed's previous row, no ids missing, and with `files` each file there
        and unchanged and no segment file in the folder that no entry names. An empty list
        means all is well."""
        entries = self.entries(feed_name)
        problems: list[Problem] = []
        if feed_name is None:  # ids are shared by all feeds: one feed's have gaps by nature
            expected = 1
            for entry in entries:
                if entry.id != expected:
                    missing = (
                        f"{expected}" if entry.id == expected + 1 else f"{expected}..{entry.id - 1}"
                    )
                    problems.append(entry.problem(ProblemKind.ID_GAP, f"ids {missing} missing"))
                expected = entry.id + 1
        by_feed: dict[str, list[SegmentEntry]] = {}
        for entry in entries:
            by_feed.setdefault(entry.feed_name, []).append(entry)
        retired = self.retired() if files else {}
        for chain in by_feed.values():
            problems += self.check_chain(chain, GENESIS, files=files, retired=retired)
        problems.sort(key=lambda p: p.entry_id or 0)
        if files and feed_name is None:
            problems += self.unexpected_files({entry.path for entry in entries})
        return problems

    def check_chain(
        self,
        chain: Iterable[SegmentEntry],
        prev_hash: str,
        *,
        files: bool = True,
        retired: Mapping[int, str] | None = None,
    ) -> list[Problem]:
        """Check consecutive entries of one feed, the first linking to `prev_hash`
        (`retired`: as `retired()` gives, when the caller has it already)."""
        problems: list[Problem] = []
        for entry in chain:
            if entry.prev_hash != prev_hash:
                problems.append(
                    entry.problem(
                        ProblemKind.CHAIN_LINK,
                        f"it links to {entry.prev_hash[:16]}…, the feed's previous entry "
                        f"hashes to {prev_hash[:16]}…",
                    )
                )
            computed = entry.computed_hash()
            if computed != entry.entry_hash:
                problems.append(
                    entry.problem(
                        ProblemKind.ENTRY_HASH,
                        f"stored {entry.entry_hash[:16]}…, recomputed {computed[:16]}…",
                    )
                )
            if files:
                problems += self.check_file(entry, retired)
            # The stored hash, not the recomputed one: an edited row is named once, and
            # the next row's link still checks against what was written.
            prev_hash = entry.entry_hash
        return problems

    def check_file(
        self, entry: SegmentEntry, retired: Mapping[int, str] | None = None
    ) -> list[Problem]:
        """The file is there and unchanged, or was retired with this very hash."""
        file = self.file(entry)
        try:
            sha256, size = hash_file(file)
        except FileNotFoundError:
            retired = self.retired() if retired is None else retired
            if retired.get(entry.id) == entry.sha256:
                return []
            return [entry.problem(ProblemKind.FILE_MISSING, f"no file at {file}")]
        if sha256 != entry.sha256:
            return [
                entry.problem(
                    ProblemKind.FILE_HASH,
                    f"{size} bytes hash to {sha256[:16]}…, the entry says {entry.bytes} "
                    f"bytes hashing to {entry.sha256[:16]}…",
                )
            ]
        return []

    def recheck_last(self, feed_name: str, count: int) -> list[Problem]:
        """Check a feed's newest `count` entries and their files (recovery does this at
        start: a crash or a tamperer most likely touched the newest)."""
        rows = self._db.table("segments").rows_where(
            "feed_name = ?", [feed_name], order_by="id desc", limit=count + 1
        )
        newest = [SegmentEntry.from_row(row) for row in rows][::-1]
        if len(newest) > count:  # the one before the window gives the first link
            return self.check_chain(newest[1:], newest[0].entry_hash)
        return self.check_chain(newest, GENESIS)

    def segment_files(self, suffix: str = SEGMENT_SUFFIX) -> list[Path]:
        """Files with `suffix` under the recordings folder, quarantine left out."""
        if not self.root.is_dir():
            return []
        quarantine = self.root / QUARANTINE
        return sorted(
            f for f in self.root.rglob(f"*{suffix}") if f.is_file() and quarantine not in f.parents
        )

    def unexpected_files(self, named: set[str] | None = None) -> list[Problem]:
        named = self.paths() if named is None else named
        problems = []
        for file in self.segment_files():
            relative = file.relative_to(self.root).as_posix()
            if relative not in named:
                size = file.stat().st_size
                problems.append(
                    Problem(
                        ProblemKind.UNEXPECTED_FILE, None, None, None, relative, f"{size} bytes"
                    )
                )
        return problems

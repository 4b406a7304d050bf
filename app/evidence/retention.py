"""Retention: segment files older than [recording] keep_days removed, each on the record.

What is removed: a segment the ledger names whose end is more than `keep_days` days ago,
and a quarantined partial segment (app/evidence/recovery.py) last written that long ago. What is
never removed:

- a segment or quarantined file of a feed overlapping a locked clip's range
  (`ClipBook.search(locked=True)`), whatever its age;
- the open segment: it is a `.part` outside quarantine, and only closed `.ts` files the
  ledger names are candidates;
- a file that no longer hashes as the ledger says (edited behind Vigil's back): it is
  kept, as evidence of that, and logged; and a file already missing is left for `vigil
  audit verify` to report, not retired, so a deletion by hand is never laundered;
- anything at all with `keep_days = 0`.

How a removal stays provable (the ledger's rows are append-only and are never deleted):
before any file is unlinked, one custody entry (app/evidence/custody.py, action "retire",
subject "retention") is appended for each batch of up to `BATCH` files, its details
naming the policy and cutoff, and for each segment its ledger `id`, `feed`, `path`,
`bytes` and `sha256` (re-hashed from the file just before), and for each quarantined
file its path, bytes and sha256. The ledger's `verify` (and so `vigil audit verify`)
reads those entries and does not report FILE_MISSING for a segment whose id and SHA-256
a `retire` entry names; a segment gone without one is still FILE_MISSING. The custody
chain covers the entries, so an edited or deleted `retire` entry breaks it and the audit
names it; someone able to write the database could append a false one, as with any
entry, and it would stand in the log with its time and actor, and in the audit's count
of retired segments. A crash between the entry and the unlink leaves a file named
retired still on disk: it is checked like any other, and kept.

Clips are never deleted: an unlocked clip over removed segments stays, and its export
then fails on the missing file (the ledger still names it, and `retired()` says why).

Runs on its own thread (`retention`), niced, at start and then hourly
(`RetentionService`), each run on its own SQLite connection. No Qt here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from app.database import open_database
from app.evidence.clips import ClipBook
from app.evidence.custody import CustodyAction, CustodyLog
from app.evidence.hashchain import hash_file, utc_text
from app.evidence.ledger import QUARANTINE, SegmentEntry, SegmentLedger
from app.paths import BaseDir
from media.niceness import lower_priority

log = logging.getLogger(__name__)

DAY_S = 86400.0
INTERVAL_S = 3600.0
BATCH = 500
"""Files per custody entry: a backlog of months makes many modest entries, not one huge one."""
SUBJECT = "retention"
NICE = 10
_STAMP = re.compile(r"^(\d{8}T\d{6}\.\d{3})Z-\d+\.ts")
"""A recorder's file name starts with its UTC start (media/recording/segment.py segment_name)."""
_NOT_RETIRED = (
    "end_utc < ? AND id NOT IN (SELECT json_extract(s.value, '$.id') FROM custody, "
    "json_each(custody.details, '$.segments') AS s WHERE custody.action = ?)"
)

Locks = dict[str, list[tuple[str, str]]]
"""Feed name -> the UTC text ranges of its locked clips."""


@dataclass
class RetentionReport:
    ran_at: float
    keep_days: int
    cutoff_utc: str | None = None
    removed: int = 0
    removed_bytes: int = 0
    quarantine_removed: int = 0
    kept_locked: int = 0
    kept_changed: list[str] = field(default_factory=list)
    """Files that no longer hash as recorded: kept (see the module docstring)."""
    missing: int = 0
    """Old segments already gone without a retire entry: the audit reports them."""
    failures: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "ran_at": utc_text(self.ran_at),
            "cutoff_utc": self.cutoff_utc,
            "removed": self.removed,
            "removed_bytes": self.removed_bytes,
            "quarantine_removed": self.quarantine_removed,
            "kept_locked": self.kept_locked,
            "kept_changed": list(self.kept_changed),
            "missing": self.missing,
            "failures": list(self.failures),
        }


def apply_retention(
    db: sqlite_utils.Database,
    recordings_root: Path,
    keep_days: int,
    *,
    now: float | None = None,
    stopping: Callable[[], bool] = lambda: False,
) -> RetentionReport:
    """Remove what `keep_days` lets go (the module docstring says what and how). When
    `stopping()` turns true (the instance is closing) it finishes the batch in hand and
    returns; the next run takes up the rest."""
    now = time.time() if now is None else now
    report = RetentionReport(now, keep_days)
    if keep_days <= 0:
        return report
    cutoff = now - keep_days * DAY_S
    report.cutoff_utc = utc_text(cutoff)
    ledger = SegmentLedger(db, recordings_root)
    custody = CustodyLog(db)
    clips = ClipBook(db, custody)
    locks = _locks(clips)
    batch = _Batch(ledger, custody, clips, report)
    rows = db.table("segments").rows_where(
        _NOT_RETIRED, [report.cutoff_utc, CustodyAction.RETIRE.value], order_by="id"
    )
    for row in rows:
        if stopping():
            break
        entry = SegmentEntry.from_row(row)
        if _locked(locks, entry.feed_name, entry.start_utc, entry.end_utc):
            report.kept_locked += 1
            continue
        file = ledger.file(entry)
        if not file.exists():
            report.missing += 1
            continue
        sha256, size = hash_file(file)
        if sha256 != entry.sha256:
            _keep_changed(report, entry.path, "hashes otherwise than its ledger entry")
            continue
        batch.add_segment(entry, size)
    for file in _quarantined(ledger.root):
        if stopping():
            break
        found = _old_quarantined(file, ledger.root, cutoff)
        if found is None:
            continue
        if _locked(locks, found.feed, found.start, found.end):
            report.kept_locked += 1
            continue
        sha256, size = hash_file(file)
        batch.add_quarantined(dataclasses.replace(found, sha256=sha256, bytes=size))
    batch.flush()
    if report.missing:
        log.warning(
            "retention: %d old segment(s) were already missing; not retired (audit reports them)",
            report.missing,
        )
    return report


class _Batch:
    """Files to remove, entered in the custody log before any is unlinked."""

    def __init__(
        self, ledger: SegmentLedger, custody: CustodyLog, clips: ClipBook, report: RetentionReport
    ) -> None:
        self._ledger, self._custody, self._clips, self._report = ledger, custody, clips, report
        self._segments: list[tuple[SegmentEntry, int]] = []
        self._quarantined: list[_Quarantined] = []

    def add_segment(self, entry: SegmentEntry, size: int) -> None:
        self._segments.append((entry, size))
        self._flush_if_full()

    def add_quarantined(self, found: _Quarantined) -> None:
        self._quarantined.append(found)
        self._flush_if_full()

    def _flush_if_full(self) -> None:
        if len(self._segments) + len(self._quarantined) >= BATCH:
            self.flush()

    def flush(self) -> None:
        segments, self._segments = self._segments, []
        quarantined, self._quarantined = self._quarantined, []
        # A clip locked while this batch was chosen (hashing it can take minutes) wins: its
        # files stay, and out of the entry too, or a later deletion by hand would pass as
        # retention's.
        locks = _locks(self._clips)
        segments = [
            s
            for s in segments
            if not self._kept(locks, s[0].feed_name, s[0].start_utc, s[0].end_utc)
        ]
        quarantined = [q for q in quarantined if not self._kept(locks, q.feed, q.start, q.end)]
        if not segments and not quarantined:
            return
        report, root = self._report, self._ledger.root
        self._custody.append(
            CustodyAction.RETIRE,
            SUBJECT,
            {
                "reason": f"older than keep_days = {report.keep_days}",
                "keep_days": report.keep_days,
                "cutoff_utc": report.cutoff_utc,
                "segments": [
                    {
                        "id": e.id,
                        "feed": e.feed_name,
                        "path": e.path,
                        "bytes": size,
                        "sha256": e.sha256,
                    }
                    for e, size in segments
                ],
                "quarantined": [
                    {
                        "path": q.file.relative_to(root).as_posix(),
                        "bytes": q.bytes,
                        "sha256": q.sha256,
                    }
                    for q in quarantined
                ],
            },
        )
        # One locked in the moment since: its files stay all the same (the entry then
        # names a file still there, which verifies like any other).
        locks = _locks(self._clips)
        removed = removed_bytes = 0
        for entry, size in segments:
            if _locked(locks, entry.feed_name, entry.start_utc, entry.end_utc):
                report.kept_locked += 1
            elif self._unlink(self._ledger.file(entry)):
                removed += 1
                removed_bytes += size
        for q in quarantined:
            if _locked(locks, q.feed, q.start, q.end):
                report.kept_locked += 1
            elif self._unlink(q.file):
                report.quarantine_removed += 1
                log.info(
                    "retention: removed quarantined partial segment %s (%d bytes, sha256 %s)",
                    q.file.relative_to(root).as_posix(),
                    q.bytes,
                    q.sha256,
                )
        report.removed += removed
        report.removed_bytes += removed_bytes
        if removed:
            log.info(
                "retention: removed %d segment file(s), %.1f MB, ended before %s",
                removed,
                removed_bytes / 1e6,
                report.cutoff_utc,
            )

    def _kept(self, locks: Locks, feed: str, start: str, end: str) -> bool:
        if _locked(locks, feed, start, end):
            self._report.kept_locked += 1
            return True
        return False

    def _unlink(self, file: Path) -> bool:
        try:
            file.unlink()
        except OSError as exc:
            self._report.failures.append(f"{file}: not removed: {exc}")
            log.warning("retention: %s not removed: %s", file, exc)
            return False
        return True


def _locks(clips: ClipBook) -> Locks:
    locks: Locks = {}
    for clip in clips.search(locked=True):
        locks.setdefault(clip.feed_name, []).append(
            (utc_text(clip.start_utc), utc_text(clip.end_utc))
        )
    return locks


def _locked(locks: Locks, feed: str, start: str, end: str) -> bool:
    """Whether the feed has a locked clip overlapping start..end (UTC text sorts as time)."""
    return any(lo <= end and hi >= start for lo, hi in locks.get(feed, ()))


def _keep_changed(report: RetentionReport, path: str, why: str) -> None:
    report.kept_changed.append(path)
    log.warning("retention: %s %s; kept, not removed", path, why)


def _quarantined(root: Path) -> list[Path]:
    folder = root / QUARANTINE
    if not folder.is_dir():
        return []
    return sorted(f for f in folder.rglob("*") if f.is_file())


@dataclass(frozen=True)
class _Quarantined:
    file: Path
    feed: str
    start: str
    end: str
    """From its name's start (else its last write) to its last write, UTC text."""
    sha256: str = ""
    bytes: int = 0


def _old_quarantined(file: Path, root: Path, cutoff: float) -> _Quarantined | None:
    """A quarantined partial segment last written before `cutoff`, with its feed and time."""
    modified = file.stat().st_mtime
    if modified >= cutoff:
        return None
    relative = file.relative_to(root / QUARANTINE)
    feed = urllib.parse.unquote(relative.parts[0]) if len(relative.parts) > 1 else ""
    end = utc_text(modified)
    stamp = _STAMP.match(file.name)
    start = end
    if stamp:
        named = dt.datetime.strptime(stamp.group(1), "%Y%m%dT%H%M%S.%f").replace(tzinfo=dt.UTC)
        start = min(utc_text(named), end)
    return _Quarantined(file, feed, start, end)


class RetentionService:
    """Runs `apply_retention` for an instance: at `start()` and every `interval_s` after,
    on its own thread, until `stop()`."""

    def __init__(
        self,
        base: BaseDir,
        keep_days: int,
        *,
        interval_s: float = INTERVAL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base = base
        self.keep_days = keep_days
        self.interval_s = interval_s
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last: RetentionReport | None = None
        self._totals = {"removed": 0, "removed_bytes": 0, "runs": 0}

    def start(self) -> None:
        if self.keep_days <= 0 or self._thread is not None:
            return  # keep everything: nothing to do, ever
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)

    def run_once(self) -> RetentionReport:
        db = open_database(self.base.database)
        try:
            report = apply_retention(
                db,
                self.base.recordings,
                self.keep_days,
                now=self._clock(),
                stopping=self._stop.is_set,
            )
        finally:
            db.close()
        with self._lock:
            self._last = report
            self._totals["runs"] += 1
            self._totals["removed"] += report.removed
            self._totals["removed_bytes"] += report.removed_bytes
        return report

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "keep_days": self.keep_days,
                **self._totals,
                "last": self._last.summary() if self._last else None,
            }

    def _run(self) -> None:
        lower_priority(NICE)  # background work: the wall and the recorders come first
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a bad run must not end retention; the next may succeed
                log.exception("retention failed")
            self._stop.wait(self.interval_s)

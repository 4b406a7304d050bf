"""What Vigil does with its recordings at start, before the recorder runs again.

A crash (power cut, kill, disk full) can leave two things behind. A `.part` file is a
segment the recorder was still writing: it is moved, whole and unchanged, into
`<recordings>/quarantine/` and hashed, never deleted or trimmed, because it is evidence
and what happened to it must be explainable in court; the report says how many whole
188-byte MPEG-TS packets it holds, for whoever later decides what can be played. A
closed `.ts` file that no ledger entry names was renamed but not yet entered: it is
entered now with the note "added on recovery". Then the newest entries of every feed are
checked again, chain and file, since a crash or a tamperer most likely touched those.

Every finding is logged (INFO) and every problem warned (WARNING); with a custody log
each move and late entry is also a custody entry. The report is for tests and for
`vigil status`. No Qt here.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.evidence.custody import CustodyAction, CustodyLog
from app.evidence.hashchain import hash_file
from app.evidence.ledger import QUARANTINE, Problem, SegmentEntry, SegmentLedger

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"
TS_PACKET_BYTES = 188
RECHECK_LAST = 3
RECOVERY_NOTE = "added on recovery"


@dataclass(frozen=True)
class Quarantined:
    """A partial segment moved aside. Paths are relative to the recordings folder."""

    original: str
    moved_to: str
    bytes: int
    sha256: str
    whole_packets: int
    trailing_bytes: int
    """Bytes after the last whole packet: where the write stopped."""


@dataclass(frozen=True)
class SegmentFacts:
    """What the ledger needs to know about a closed segment found with no entry."""

    feed_name: str
    seq: int | None
    """None: the next after the feed's highest in the ledger."""
    start_utc: dt.datetime | float
    end_utc: dt.datetime | float
    duration_s: float | None = None
    note: str = RECOVERY_NOTE


Describe = Callable[[Path, Path], SegmentFacts]
"""(file, recordings folder) -> its facts; the recorder knows its own naming best."""

_TRAILING_NUMBER = re.compile(r"(\d+)$")
_RECORDER_STAMP = re.compile(r"^(\d{8}T\d{6}\.\d{3})Z-\d+$")
"""media/recording/recorder.py names a segment `20261121T141500.123Z-000042.ts`: its UTC start."""


def describe_by_layout(file: Path, root: Path) -> SegmentFacts:
    """Facts read from where the file lies, since the recorder's own account was lost
    with the crash: the feed is the first folder under the recordings folder ("unknown"
    for a file directly in it); the sequence number is the number the file's name ends
    with; the start is the UTC time the recorder puts at the head of the name, else the
    file's last modification, which is also the end. The note says where the times came
    from."""
    relative = file.relative_to(root)
    # Folders hold the feed's name percent-encoded (app/evidence/recording.py feed_folder).
    feed = urllib.parse.unquote(relative.parts[0]) if len(relative.parts) > 1 else "unknown"
    number = _TRAILING_NUMBER.search(file.stem)
    modified = file.stat().st_mtime
    stamp = _RECORDER_STAMP.match(file.stem)
    if stamp:
        start = dt.datetime.strptime(stamp.group(1), "%Y%m%dT%H%M%S.%f").replace(tzinfo=dt.UTC)
        end = max(start, dt.datetime.fromtimestamp(modified, dt.UTC))
        how = "start from the file's name, end from its modification time"
    else:
        start = end = dt.datetime.fromtimestamp(modified, dt.UTC)
        how = "times from the file's modification time"
    return SegmentFacts(
        feed_name=feed,
        seq=int(number.group(1)) if number else None,
        start_utc=start,
        end_utc=end,
        note=f"{RECOVERY_NOTE} ({how})",
    )


@dataclass
class RecoveryReport:
    quarantined: list[Quarantined] = field(default_factory=list)
    added: list[SegmentEntry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    """Entries found wrong when the newest were checked again."""
    failures: list[str] = field(default_factory=list)
    """What recovery could not do (a file it could not move or enter), and why."""
    rechecked: int = 0

    @property
    def clean(self) -> bool:
        """Nothing wrong was found (quarantined and late-entered files are not wrong: they
        are what a crash leaves, now accounted for)."""
        return not self.problems and not self.failures

    def summary(self) -> dict[str, Any]:
        """A JSON-able account, as `vigil status` shows it."""
        return {
            "clean": self.clean,
            "quarantined": [q.moved_to for q in self.quarantined],
            "added": [entry.path for entry in self.added],
            "rechecked": self.rechecked,
            "problems": [str(p) for p in self.problems],
            "failures": list(self.failures),
        }


def recover(
    recordings_root: Path,
    ledger: SegmentLedger,
    *,
    custody: CustodyLog | None = None,
    describe: Describe = describe_by_layout,
    recheck: int = RECHECK_LAST,
) -> RecoveryReport:
    """Account for what a crash left in `recordings_root` (the module docstring says how).
    Call it before the recorder starts: a `.part` file being written would be moved."""
    root = Path(recordings_root).resolve()
    if root != ledger.root:
        raise ValueError(f"the ledger's recordings folder is {ledger.root}, not {root}")
    report = RecoveryReport()
    if custody is not None:
        _keep_heads(custody)
    for part in ledger.segment_files(PART_SUFFIX):
        _quarantine(part, root, report, custody)
    named = ledger.paths()
    orphans = [f for f in ledger.segment_files() if f.relative_to(root).as_posix() not in named]
    # Oldest first, so two orphans of one feed are chained in the order they were made.
    for orphan in sorted(orphans, key=lambda f: (f.stat().st_mtime, f.as_posix())):
        _enter(orphan, ledger, describe, report, custody)
    for feed in ledger.feeds():
        found = ledger.recheck_last(feed, recheck)
        report.rechecked += min(recheck, ledger.count(feed))
        for problem in found:
            log.warning("recovery: %s", problem)
        report.problems += found
    log.info(
        "recovery: %d partial segment(s) quarantined, %d segment(s) entered late, "
        "%d entr(ies) re-checked, %d problem(s)",
        len(report.quarantined),
        len(report.added),
        report.rechecked,
        len(report.problems) + len(report.failures),
    )
    return report


def _keep_heads(custody: CustodyLog) -> None:
    """Start the journal of heads on a base dir made before Vigil kept one, so that what is
    recorded from now on has its tails checked even before the first audit."""
    try:
        started = custody.keep_heads()
    except OSError as exc:
        log.error("recovery: the journal of heads could not be started: %s", exc)
        return
    if started is not None:
        (log.info if started.kept_before is None else log.error)("recovery: %s", started)


def _quarantine(part: Path, root: Path, report: RecoveryReport, custody: CustodyLog | None) -> None:
    relative = part.relative_to(root)
    target = _free_name(root / QUARANTINE / relative)
    try:
        sha256, size = hash_file(part)
        target.parent.mkdir(parents=True, exist_ok=True)
        # A rename within one file system: the bytes are never copied, so never changed.
        part.rename(target)
    except OSError as exc:
        report.failures.append(f"{relative.as_posix()}: not quarantined: {exc}")
        log.warning("recovery: %s not quarantined: %s", relative.as_posix(), exc)
        return
    moved = Quarantined(
        original=relative.as_posix(),
        moved_to=target.relative_to(root).as_posix(),
        bytes=size,
        sha256=sha256,
        whole_packets=size // TS_PACKET_BYTES,
        trailing_bytes=size % TS_PACKET_BYTES,
    )
    report.quarantined.append(moved)
    log.info(
        "recovery: partial segment %s moved to %s (%d bytes, %d whole packets, sha256 %s)",
        moved.original,
        moved.moved_to,
        moved.bytes,
        moved.whole_packets,
        moved.sha256,
    )
    if custody is not None:
        custody.append(
            CustodyAction.QUARANTINE,
            moved.original,
            {
                "moved_to": moved.moved_to,
                "bytes": moved.bytes,
                "sha256": moved.sha256,
                "whole_packets": moved.whole_packets,
                "trailing_bytes": moved.trailing_bytes,
                "reason": "partial segment found at start",
            },
        )


def _free_name(target: Path) -> Path:
    """`target`, or `target.1`, `target.2`, ...: a second crash's partial file of the same
    name must not replace the first one's."""
    candidate, n = target, 0
    while candidate.exists():
        n += 1
        candidate = target.with_name(f"{target.name}.{n}")
    return candidate


def _enter(
    orphan: Path,
    ledger: SegmentLedger,
    describe: Describe,
    report: RecoveryReport,
    custody: CustodyLog | None,
) -> None:
    relative = orphan.relative_to(ledger.root).as_posix()
    try:
        facts = describe(orphan, ledger.root)
        seq = facts.seq if facts.seq is not None else ledger.next_seq(facts.feed_name)
        entry = ledger.add(
            facts.feed_name,
            seq,
            orphan,
            facts.start_utc,
            facts.end_utc,
            duration_s=facts.duration_s,
            note=facts.note,
        )
    except Exception as exc:  # one unreadable file must not stop the rest of recovery
        report.failures.append(f"{relative}: not entered in the ledger: {exc}")
        log.warning("recovery: %s not entered in the ledger: %s", relative, exc)
        return
    report.added.append(entry)
    log.info(
        "recovery: segment %s had no ledger entry; entered as %d (%s seq %d)",
        relative,
        entry.id,
        entry.feed_name,
        entry.seq,
    )
    if custody is not None:
        custody.append(
            CustodyAction.RECOVER,
            relative,
            {"entry_id": entry.id, "feed_name": entry.feed_name, "sha256": entry.sha256},
        )

"""The audit: the custody log's chain and every feed's segment chain checked, every segment
file hashed again, segment files no entry names found, and each chain's newest entry
compared with the journal of heads kept beside the database (app/evidence/heads.py). The
verification is itself a custody entry. `vigil audit verify` runs it on the instance's base
dir and prints the report; a room server runs it for a desk's (app/room/desk_commands.py)
and sends the report back. No Qt here.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any

from app.database import open_database
from app.evidence.custody import CustodyAction, CustodyLog
from app.evidence.ledger import SegmentLedger
from app.paths import BaseDir

MAX_RECORDED = 20
"""Failed checks named in the custody entry; the rest are counted (the log stays small)."""


@dataclass(frozen=True)
class AuditReport:
    failed: list[str]
    """One line per failed check (for the custody log, its first broken entry)."""
    entries: int
    segments: int
    retired: int
    """Segment files retention removed on purpose (their entries stay)."""
    custody_head: str
    segment_heads: dict[str, str]
    """Each feed's newest segment entry's hash, by feed name."""
    notes: list[str] = field(default_factory=list)
    not_recorded: str | None = None
    """Why the verification's own custody entry could not be written (a read-only copy)."""

    @property
    def valid(self) -> bool:
        return not self.failed

    def public(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_public(cls, data: dict[str, Any]) -> AuditReport:
        return cls(
            failed=[str(line) for line in data["failed"]],
            entries=int(data["entries"]),
            segments=int(data["segments"]),
            retired=int(data["retired"]),
            custody_head=str(data["custody_head"]),
            segment_heads={str(k): str(v) for k, v in dict(data["segment_heads"]).items()},
            notes=[str(line) for line in data.get("notes") or []],
            not_recorded=data.get("not_recorded"),
        )


def audit_evidence(
    base: BaseDir, *, actor: str | None = None, details: dict[str, Any] | None = None
) -> AuditReport:
    """Verify `base`'s custody log and ledger and record the verification (under `actor`,
    the OS user by default, with `details` added to the entry's)."""
    db = open_database(base.database)
    try:
        custody = CustodyLog(db)
        ledger = SegmentLedger(db, base.recordings)
        broken = custody.verify()
        problems = ledger.verify()
        entries, segments = custody.count(), ledger.count()
        tails = custody.check_heads()
        failed = ([str(broken)] if broken else []) + [str(p) for p in problems] + tails.failed
        notes, journal_kept = list(tails.notes), True
        try:
            started = custody.keep_heads()  # after counting: its own entry is not audited
        except (OSError, sqlite3.Error) as exc:  # a read-only copy can still be audited
            notes.append(f"no journal of heads, and none could be started: {exc}")
            journal_kept = False
        else:
            if started is not None:
                (notes if started.kept_before is None else failed).append(str(started))
        head = custody.head()
        recorded: dict[str, object] = {
            **(details or {}),
            "result": "invalid" if failed else "valid",
            "custody_entries": entries,
            "segments": segments,
            "custody_head": head,
            "failed": failed[:MAX_RECORDED],
            "failed_count": len(failed),
        }
        if journal_kept:
            # Says this base dir keeps a journal of heads: should it go missing, later
            # audits know it was there (app/evidence/heads.py).
            recorded["heads_journal"] = "checked"
        report = AuditReport(
            failed=failed,
            entries=entries,
            segments=segments,
            # Retired files are gone on purpose (app/evidence/retention.py): said, so a
            # retire entry nobody expected is seen.
            retired=len(ledger.retired()),
            custody_head=head,
            segment_heads=dict(ledger.heads()),
            notes=notes,
        )
        try:
            custody.append(CustodyAction.VERIFY, "audit", recorded, actor=actor)
        except sqlite3.Error as exc:  # a read-only copy can still be audited
            return AuditReport(**{**asdict(report), "not_recorded": str(exc)})
        return report
    finally:
        db.close()

"""`vigil audit verify`: check the custody log and the evidence ledger, chains and files.

Walks the custody log's chain (app/evidence/custody.py) and every feed's segment chain, re-hashing
every segment file and looking for segment files no entry names (app/evidence/ledger.py). Prints
"VALID: N custody entries, M segments" and exits 0, or prints one "FAILED:" line per
failed check (for the custody log, its first broken entry) and exits 1. A chain cut short
at its end is still whole, so the newest entry of each chain is also compared with the
journal of heads kept beside the database (app/evidence/heads.py): a tail deleted, emptied
or rolled back is a failed check naming what the journal records. A base dir made before
that journal has it started now, with a "note:" line saying so. The heads of the chains
follow, worth writing down elsewhere too. The verification is itself a custody entry.

It needs the REVIEW permission (app/access/roles.py), since the log names who did what to which
evidence; without it the command exits 4 (app/access/person.py).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys

from app import config as config_module
from app.access import Permission, check_command
from app.database import open_database
from app.evidence import CustodyAction, CustodyLog, SegmentLedger
from app.paths import BaseDir

EXIT_INVALID = 1
_MAX_RECORDED = 20
"""Failed checks named in the custody entry; the rest are counted (the log stays small)."""


def audit_command(args: argparse.Namespace) -> int:
    if args.config is not None:
        config_module.read(args.config)  # a wrong --config is an error here as everywhere
    base = BaseDir.resolve(args.base_dir)
    if not base.database.exists():
        # Not an empty VALID: a mistyped --base-dir must not look like a clean audit.
        print(f"vigil: no database at {base.database}; nothing to verify", file=sys.stderr)
        return EXIT_INVALID
    check_command(base, Permission.REVIEW, "vigil audit verify")
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
        for line in failed:
            print(f"FAILED: {line}")
        if failed:
            print(
                f"INVALID: {len(failed)} check(s) failed; "
                f"{entries} custody entries, {segments} segments"
            )
        else:
            retired = len(ledger.retired())
            # Retired files are gone on purpose (app/evidence/retention.py): say how many, so a
            # retire entry nobody expected is seen.
            tail = f" ({retired} retired by retention)" if retired else ""
            print(f"VALID: {entries} custody entries, {segments} segments{tail}")
        head = custody.head()
        print(f"custody head {head}")
        for feed, feed_head in ledger.heads().items():
            print(f"segments head {feed_head} {feed}")
        for note in notes:
            print(f"note: {note}")
        details: dict[str, object] = {
            "result": "invalid" if failed else "valid",
            "custody_entries": entries,
            "segments": segments,
            "custody_head": head,
            "failed": failed[:_MAX_RECORDED],
            "failed_count": len(failed),
        }
        if journal_kept:
            # Says this base dir keeps a journal of heads: should it go missing, later
            # audits know it was there (app/evidence/heads.py).
            details["heads_journal"] = "checked"
        try:
            custody.append(CustodyAction.VERIFY, "audit", details)
        except sqlite3.Error as exc:  # a read-only copy can still be audited
            print(f"vigil: this audit was not recorded in the custody log: {exc}", file=sys.stderr)
    finally:
        db.close()
    return EXIT_INVALID if failed else 0

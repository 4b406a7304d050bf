"""`vigil audit verify`: check the custody log and the evidence ledger, chains and files.

Walks the custody log's chain (app/evidence/custody.py) and every feed's segment chain, re-hashing
every segment file and looking for segment files no entry names (app/evidence/ledger.py); the
checks are app/evidence/audit.py's. Prints "VALID: N custody entries, M segments" and exits 0,
or prints one "FAILED:" line per failed check (for the custody log, its first broken entry)
and exits 1. A chain cut short at its end is still whole, so the newest entry of each chain
is also compared with the journal of heads kept beside the database (app/evidence/heads.py):
a tail deleted, emptied or rolled back is a failed check naming what the journal records. A
base dir made before that journal has it started now, with a "note:" line saying so. The
heads of the chains follow, worth writing down elsewhere too. The verification is itself a
custody entry.

It needs the REVIEW permission (app/access/roles.py), since the log names who did what to which
evidence; without it the command exits 4 (app/access/person.py).

On a desk (a config with [room]) the person signs in to the room server (`--user NAME
--password-stdin`, or asked on the terminal), which runs the same verification on its own
ledger and custody log, records it under that person, and sends the report; the desk prints
it as above, with the same exit codes.
"""

from __future__ import annotations

import argparse
import sys

from app import config as config_module
from app.access import Permission, check_command
from app.config import RoomSettings
from app.evidence import AuditReport, audit_evidence
from app.paths import BaseDir

EXIT_INVALID = 1


def audit_command(args: argparse.Namespace) -> int:
    config = config_module.read(args.config) if args.config is not None else None
    # (a wrong --config is an error here as everywhere)
    if config is not None and config.room is not None:
        return _on_room(args, config.room)
    base = BaseDir.resolve(args.base_dir)
    if not base.database.exists():
        # Not an empty VALID: a mistyped --base-dir must not look like a clean audit.
        print(f"vigil: no database at {base.database}; nothing to verify", file=sys.stderr)
        return EXIT_INVALID
    check_command(base, Permission.REVIEW, "vigil audit verify")
    return _print(audit_evidence(base))


def _on_room(args: argparse.Namespace, room: RoomSettings) -> int:
    from app.room import RoomCommandError, sign_in_to_room

    try:
        with sign_in_to_room(room, args.user, args.password_stdin) as server:
            answer = server.call("POST", "/api/v1/audit/verify")
    except RoomCommandError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return exc.exit_code
    return _print(AuditReport.from_public(answer))


def _print(report: AuditReport) -> int:
    for line in report.failed:
        print(f"FAILED: {line}")
    if report.failed:
        print(
            f"INVALID: {len(report.failed)} check(s) failed; "
            f"{report.entries} custody entries, {report.segments} segments"
        )
    else:
        # Retired files are gone on purpose (app/evidence/retention.py): say how many, so a
        # retire entry nobody expected is seen.
        tail = f" ({report.retired} retired by retention)" if report.retired else ""
        print(f"VALID: {report.entries} custody entries, {report.segments} segments{tail}")
    print(f"custody head {report.custody_head}")
    for feed, feed_head in report.segment_heads.items():
        print(f"segments head {feed_head} {feed}")
    for note in report.notes:
        print(f"note: {note}")
    if report.not_recorded is not None:
        print(
            f"vigil: this audit was not recorded in the custody log: {report.not_recorded}",
            file=sys.stderr,
        )
    return EXIT_INVALID if report.failed else 0

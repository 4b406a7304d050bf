"""`vigil evidence export CLIP_ID --out DIR [--force]` and `vigil evidence verify DIR`.

`export` writes the clip's evidence bundle (app/evidence/bundle/export.py) and prints the folder,
the first and last frames' UTC times, the pre-roll and gaps, and the signing key's
fingerprint grouped for reading aloud. A refusal or failure exits 1 with the reason; a
target that is not a folder, or a full folder without `--force`, exits 2. An export taking
more than a second shows its progress on stderr: a bar redrawn in place on a terminal,
otherwise a line at each tenth.

`verify` checks a bundle from its own files (app/evidence/bundle/check.py): it prints "VALID: …"
and exits 0, or one "FAILED: …" line per failed check and "INVALID: …", exit 1; a folder
with no manifest.json is one such failure ("not an evidence bundle: no manifest.json"), since
an expert handed the wrong folder needs the finding and exit 1 like any other; only a path
that is not a folder exits 2. It then says whether the bundle's key is this instance's (by
fingerprint) and, on an instance, records the verification in the custody log. On the
instance that exported the clip, a manifest its custody log never recorded exporting fails
(a bundle altered and re-signed with another key is consistent on its own).

`export` needs the EXPORT permission (app/access/roles.py), else it exits 4 (app/access/person.py).

On a desk (a config with [room]) the person signs in to the room server (`--user NAME
--password-stdin`, or asked on the terminal); the server writes the bundle exactly as an
export there would, signed with its key, records the EXPORT under that person, and streams
it to the desk (a tar stream over the pinned HTTPS connection), which unpacks it into --out
whole or not at all. The output and exit codes are the same; the bundle verifies as any.
`verify` needs none: a court's expert checks a bundle on a machine with no Vigil account,
and a verification changes nothing (on an instance it is still recorded, under the OS user).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from app import config as config_module
from app.access import Permission, check_command
from app.config import RoomSettings
from app.database import open_database
from app.evidence import CustodyAction, CustodyLog, hash_file, utc_text
from app.evidence.bundle import (
    MANIFEST,
    BundleReport,
    ExportError,
    ExportTargetError,
    NotABundleError,
    SigningKeyError,
    check_bundle,
    export_clip,
    grouped,
    instance_fingerprint,
    refuse_target,
)
from app.paths import BaseDir

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
_QUIET_S = 1.0
"""Progress shows only for exports that take longer than this."""
_MAX_RECORDED = 20


class TextProgress:
    """Progress on a stream, once the work has taken longer than a second: a bar redrawn in
    place on a terminal; elsewhere (a log, a pipe) a plain line at each tenth."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._started = time.monotonic()
        self._tenth = -1
        self._drawn = False

    def __call__(self, fraction: float, what: str) -> None:
        if time.monotonic() - self._started < _QUIET_S:
            return
        percent = round(fraction * 100)
        if self._tty:
            filled = round(fraction * 30)
            bar = "#" * filled + " " * (30 - filled)
            self._stream.write(f"\r[{bar}] {percent:3d}% {what[:40]:<40}")
            self._drawn = True
        elif percent // 10 > self._tenth:
            self._tenth = percent // 10
            self._stream.write(f"vigil: export {percent}% ({what})\n")
        self._stream.flush()

    def done(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()


def export_command(args: argparse.Namespace) -> int:
    config = config_module.read(args.config)
    if config is not None and config.room is not None:
        return _export_on_room(args, config.room)
    base = BaseDir.resolve(args.base_dir)
    check_command(base, Permission.EXPORT, "vigil evidence export", subject=args.clip_id)
    progress = TextProgress(sys.stderr)
    try:
        result = export_clip(
            base, args.clip_id, args.out, force=args.force, progress=progress, config=config
        )
    except ExportTargetError as exc:
        progress.done()
        print(f"vigil: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ExportError as exc:
        progress.done()
        print(f"vigil: {exc}", file=sys.stderr)
        return EXIT_FAILED
    progress.done()
    _print_export(
        result.folder,
        first=result.first_frame_utc,
        last=result.last_frame_utc,
        key_frame=result.key_frame_utc,
        frames=result.frames,
        gaps=[(gap.after_utc, gap.before_utc) for gap in result.gaps],
        notes=result.notes,
        fingerprint=result.fingerprint,
    )
    return 0


def _export_on_room(args: argparse.Namespace, room: RoomSettings) -> int:
    """The room server's export of the clip, unpacked into --out."""
    from app.room import RoomCommandError, sign_in_to_room

    out = Path(os.path.abspath(args.out.expanduser()))
    try:
        refuse_target(out, args.force)  # before the server does the work
    except ExportTargetError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        with sign_in_to_room(room, args.user, args.password_stdin) as server:
            print(f"vigil: the room server is exporting {args.clip_id}", file=sys.stderr)
            summary = server.export(args.clip_id, out, force=args.force)
    except RoomCommandError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return EXIT_FAILED if exc.exit_code == EXIT_BAD_INPUT else exc.exit_code
    except ExportTargetError as exc:  # --out changed while the server exported
        print(f"vigil: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    _print_export(
        out,
        first=summary["first_frame_utc"],
        last=summary["last_frame_utc"],
        key_frame=summary["key_frame_utc"],
        frames=summary["frames"],
        gaps=[(after, before) for after, before in summary["gaps"]],
        notes=summary["notes"],
        fingerprint=summary["fingerprint"],
    )
    return 0


def _print_export(
    folder: Path,
    *,
    first: float,
    last: float,
    key_frame: float,
    frames: int,
    gaps: Sequence[tuple[float, float]],
    notes: Sequence[str],
    fingerprint: str,
) -> None:
    print(folder)
    print(f"first frame {utc_text(first)}")
    print(f"last frame  {utc_text(last)}")
    print(
        f"{frames} frames in the range; the media begins {first - key_frame:.3f} s "
        f"earlier, at the key frame of {utc_text(key_frame)}"
    )
    for after, before in gaps:
        print(
            f"gap: no video from {utc_text(after)} to {utc_text(before)} ({before - after:.3f} s)"
        )
    for note in notes:
        print(f"note: {note}")
    print(f"signing key fingerprint {grouped(fingerprint)}")


def verify_command(args: argparse.Namespace) -> int:
    if args.config is not None:
        config_module.read(args.config)  # a wrong --config is an error here as everywhere
    try:
        report = check_bundle(args.folder)
    except NotABundleError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    failed = [str(failure) for failure in report.failures]
    base = BaseDir.resolve(args.base_dir)
    if base.database.exists():
        failed += _against_custody(base, report)
    for line in failed:
        print(f"FAILED: {line}")
    counts = ", ".join(f"{n} {name}" for name, n in report.counts.items())
    what = f"bundle {report.clip_id or '(no clip id)'}" + (f" ({counts})" if counts else "")
    print(f"INVALID: {len(failed)} check(s) failed; {what}" if failed else f"VALID: {what}")
    ours = _key_line(report, base)
    if base.database.exists():  # on an instance: the verification is part of the custody
        _record(base, report, failed, ours)
    return EXIT_FAILED if failed else 0


def _against_custody(base: BaseDir, report: BundleReport) -> list[str]:
    """On the instance that holds the clip: a bundle is only this instance's export if its
    manifest is one the custody log recorded exporting. Anyone can re-sign an altered
    manifest with a key of their own, and the bundle alone would still be consistent."""
    if report.clip_id is None:
        return []
    db = open_database(base.database)
    try:
        exports = [
            entry.details_dict.get("manifest_sha256")
            for entry in CustodyLog(db).entries(report.clip_id)
            if entry.action == CustodyAction.EXPORT
        ]
    finally:
        db.close()
    if not exports:
        return []  # not exported here: the key's fingerprint is what to check
    manifest, _ = hash_file(report.folder / MANIFEST)
    if manifest in exports:
        return []
    return [
        f"{MANIFEST}: this instance exported {report.clip_id} {len(exports)} time(s), never "
        f"with this manifest (SHA-256 {manifest[:16]}…); it is not a bundle this instance made"
    ]


def _key_line(report: BundleReport, base: BaseDir) -> bool | None:
    """Print whose key signed the bundle; True when it is this instance's."""
    if report.fingerprint is None:
        print("signing key: none readable in the bundle")
        return None
    shown = grouped(report.fingerprint)
    try:
        mine = instance_fingerprint(base)  # the key file there, where one was made
    except SigningKeyError as exc:
        print(f"signing key {shown}; this instance's key could not be read: {exc}")
        return None
    if mine is None:
        print(f"signing key {shown}; this instance has no signing key yet, so it is not its")
        return False
    if mine == report.fingerprint:
        print(f"signing key {shown}: this instance's key")
        return True
    print(
        f"signing key {shown}: NOT this instance's key ({grouped(mine)}); check it against the "
        "fingerprint the exporting instance publishes"
    )
    return False


def _record(base: BaseDir, report: BundleReport, failed: list[str], ours: bool | None) -> None:
    db = open_database(base.database)
    try:
        CustodyLog(db).append(
            CustodyAction.VERIFY,
            report.clip_id or str(report.folder),
            {
                "folder": str(report.folder.resolve()),
                "result": "invalid" if failed else "valid",
                "fingerprint": report.fingerprint,
                "instance_key": ours,
                "failed": failed[:_MAX_RECORDED],
                "failed_count": len(failed),
            },
        )
    except sqlite3.Error as exc:  # a read-only copy can still verify
        print(
            f"vigil: this verification was not recorded in the custody log: {exc}",
            file=sys.stderr,
        )
    finally:
        db.close()

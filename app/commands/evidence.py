"""`vigil evidence tag|list|lock`: tagged clips from the command line (`export` and
`verify` are in app/commands/evidence_export.py).

Clips live in the instance's database (app/evidence/clips.py), so a clip tagged here shows on the
running wall's Review window, and one tagged on the wall lists here. `tag` prints a line
for people and then the clip's id alone on its last line, for scripts (`| tail -n1`). A
tag is an operator's statement and is kept even where nothing was recorded: stderr then
warns that an export of it will fail until a recording covers it. The segment the running
wall is writing counts as covering from its start to now: it enters the ledger within
`segment_seconds`, so "the last 30 s" of a feed being recorded is covered and says
nothing. A name nothing knows (not configured, running, recorded or tracked) is a typo, not
a statement: no clip is made, exit 1, naming the feeds that have recordings. Bad input
exits 2 with the reason; an unknown clip exits 1. `tag` needs the TAG permission, `list` REVIEW and
`lock` LOCK (app/access/roles.py); without it the command exits 4 (app/access/person.py).

On a desk (a config with [room]) the person signs in to the room server (`--user NAME
--password-stdin`, or asked on the terminal) and each of these acts on the server's clips
(app/room/desk_commands.py), under that person and their role there, with the same output
and exit codes; the server judges the feed's name and the recordings' cover as above.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import urllib.parse
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from app import config as config_module
from app.access import Permission, check_command
from app.config import Config, RoomSettings
from app.control import NoInstanceError, request
from app.database import open_database
from app.evidence import (
    ClipBook,
    ClipError,
    ClipWithdrawnError,
    CustodyLog,
    SegmentLedger,
    UnknownClipError,
    coverage_warning,
    open_segment_start,
    unknown_feed,
    utc_text,
)
from app.map import TrackBook
from app.paths import BaseDir
from media.live import FeedKind

EXIT_BAD_INPUT = 2
EXIT_REFUSED = 1
"""An unknown clip, or one whose state refuses the action (withdrawn)."""
_STATUS_TIMEOUT_S = 2.0
"""A wall too busy to answer in this long is not worth holding an operator's tag for."""
_KINDS = {kind.value for kind in FeedKind}
_NEEDS = {"tag": Permission.TAG, "list": Permission.REVIEW, "lock": Permission.LOCK}


def evidence_command(args: argparse.Namespace) -> int:
    if args.evidence_command in ("export", "verify"):
        from app.commands.evidence_export import export_command, verify_command

        return export_command(args) if args.evidence_command == "export" else verify_command(args)
    config = config_module.read(args.config)
    if config is not None and config.room is not None:
        return _on_room(args, config.room)
    base = BaseDir.resolve(args.base_dir).ensure()
    permission = _NEEDS[args.evidence_command]
    subject = getattr(args, "clip_id", None) or getattr(args, "feed", None)
    check_command(base, permission, f"vigil evidence {args.evidence_command}", subject=subject)
    db = open_database(base.database)
    try:
        clips = ClipBook(db, CustodyLog(db))
        if args.evidence_command == "tag":
            return _tag(args, base, db, clips, config)
        if args.evidence_command == "list":
            return _list(args, clips)
        return _lock(args, clips)
    finally:
        db.close()


def parse_time(text: str) -> float:
    """An ISO 8601 time that says its zone ("Z" or "+01:00") as Unix seconds. A time
    without a zone is refused: read as the machine's zone it could silently tag the
    wrong hour of evidence."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ClipError(
            f"{text!r} is not an ISO 8601 time (such as 2025-01-01T12:00:00Z)"
        ) from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise ClipError(f"{text!r} has no time zone: add Z for UTC, or an offset such as +01:00")
    return when.timestamp()


def _tag(
    args: argparse.Namespace,
    base: BaseDir,
    db: sqlite_utils.Database,
    clips: ClipBook,
    config: Config | None,
) -> int:
    try:
        last, start, end = _span(args)
        found = _find_feed(args.feed, base, db, config)
        if not found.known:
            unknown = unknown_feed(args.feed, SegmentLedger(db, base.recordings))
            print(f"vigil: {unknown}", file=sys.stderr)
            return EXIT_REFUSED
        options = {
            "tags": args.tags,
            "note": args.note,
            "incident": args.incident,
            "kind": found.kind,
        }
        if start is None or end is None:
            assert last is not None
            clip = clips.last(args.feed, last, **options)
        else:
            clip = clips.tag(args.feed, start, end, **options)
    except ClipError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    open_since = open_segment_start(base.recordings, clip.feed_name) if found.recording else None
    warning = coverage_warning(SegmentLedger(db, base.recordings), clip, open_since)
    _print_tagged(clip.public(), warning)
    return 0


def _span(args: argparse.Namespace) -> tuple[float | None, float | None, float | None]:
    """`--last SECONDS`, or `--from` and `--to` as Unix times; ClipError says what is wrong."""
    if args.last is not None:
        if not args.last > 0:
            raise ClipError(f"--last must be more than 0 seconds, not {args.last:g}")
        if args.to is not None:
            raise ClipError("--to goes with --from, not with --last")
        return float(args.last), None, None
    if args.to is None:
        raise ClipError("--from needs --to")
    start, end = parse_time(args.start), parse_time(args.to)
    if end <= start:
        raise ClipError(f"--from ({args.start}) must be before --to ({args.to})")
    return None, start, end


def _print_tagged(clip: dict[str, Any], warning: str | None) -> None:
    """`tag`'s output from the clip's public fields, here's or the room server's."""
    if warning:
        print(f"vigil: warning: {warning}", file=sys.stderr)
    tags = f" [{', '.join(clip['tags'])}]" if clip["tags"] else ""
    incident = f" for {clip['incident']}" if clip["incident"] else ""
    print(
        f"tagged {clip['duration_s']:g} s of {clip['feed_name']} from "
        f"{utc_text(clip['start_utc'])} to {utc_text(clip['end_utc'])}{incident}{tags}"
    )
    print(clip["id"])


@dataclass(frozen=True)
class _Found:
    kind: FeedKind | None
    """Where something knows it."""
    known: bool
    """Whether anything knows the name: the running wall, the config, tracks, the ledger."""
    recording: bool = False
    """The running wall says it is recording this feed at this moment."""


def _find_feed(
    name: str, base: BaseDir, db: sqlite_utils.Database, config: Config | None
) -> _Found:
    """What the running wall, the config, the position tracks and the ledger know of `name`."""
    name = name.strip()
    try:
        answer = request(base.control_socket, {"cmd": "status"}, timeout_s=_STATUS_TIMEOUT_S)
        for feed in answer.get("feeds", []):
            if isinstance(feed, dict) and feed.get("name") == name:
                kind = feed.get("kind")
                known = FeedKind(kind) if kind in _KINDS else None
                return _Found(known, True, recording=feed.get("recording") is True)
    except (NoInstanceError, OSError, ValueError):
        pass  # no wall running (or one not answering): the other sources still say
    for spec in config.feeds if config else ():
        if spec.name == name:
            return _Found(spec.kind, True)
    point = TrackBook(db).latest(name)
    if point is not None:
        return _Found(point.kind, True)
    return _Found(None, name in SegmentLedger(db, base.recordings).feeds())


def _list(args: argparse.Namespace, clips: ClipBook) -> int:
    try:
        found = clips.search(
            tag=args.tag, incident=args.incident, feed=args.feed, include_withdrawn=args.all
        )
    except ClipError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    _print_clips(args, [clip.public() for clip in found])
    return 0


def _print_clips(args: argparse.Namespace, found: list[dict[str, Any]]) -> None:
    """`list`'s output from each clip's public fields, here's or the room server's."""
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
        return
    for clip in found:
        marks = ("locked " if clip["locked"] else "") + ("withdrawn " if clip["withdrawn"] else "")
        line = (
            f"{clip['id']}  {utc_text(clip['start_utc'])[:19]}Z  {clip['duration_s']:7.1f} s  "
            f"{clip['feed_name']}"
        )
        line += f"  {clip['incident']}" if clip["incident"] else ""
        line += f"  [{', '.join(clip['tags'])}]" if clip["tags"] else ""
        line += f"  {marks.strip()}" if marks else ""
        note = clip["note"]
        if note:
            first = note.splitlines()[0]
            cut = len(first) > 60 or first != note
            line += f"  {first[:60]}" + ("…" if cut else "")
        print(line)


def _lock(args: argparse.Namespace, clips: ClipBook) -> int:
    try:
        before = clips.get(args.clip_id)
        clip = clips.lock(args.clip_id, args.reason)
    except (UnknownClipError, ClipWithdrawnError) as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except ClipError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    _print_locked(clip.public(), was_locked=before.locked)
    return 0


def _print_locked(clip: dict[str, Any], *, was_locked: bool) -> None:
    if was_locked:
        print(f"{clip['id']} was locked already, by {clip['locked_by']}: {clip['lock_reason']}")
    else:
        print(f"{clip['id']} locked: {clip['lock_reason']}")


def _on_room(args: argparse.Namespace, room: RoomSettings) -> int:
    """tag, list or lock done by the room server on its clips, as the person signed in."""
    from app.room import RoomCommandError, sign_in_to_room

    if args.evidence_command == "tag":
        try:
            last, start, end = _span(args)
        except ClipError as exc:
            print(f"vigil: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        span = {"last": last} if last is not None else {"start_utc": start, "end_utc": end}
    try:
        with sign_in_to_room(room, args.user, args.password_stdin) as server:
            if args.evidence_command == "tag":
                what = {"feed": args.feed, "tags": args.tags, "note": args.note}
                body = {**what, "incident": args.incident, **span}
                made = server.call("POST", "/api/v1/evidence/tag", body)
                _print_tagged(made["clip"], made["warning"])
            elif args.evidence_command == "list":
                query = {"tag": args.tag, "incident": args.incident, "feed": args.feed}
                query = {k: v for k, v in query.items() if v is not None}
                if args.all:
                    query["all"] = "1"
                path = "/api/v1/evidence/clips"
                found = server.call("GET", f"{path}?{urllib.parse.urlencode(query)}")
                _print_clips(args, found)
            else:
                clip_id = urllib.parse.quote(args.clip_id, safe="")
                path = f"/api/v1/evidence/clips/{clip_id}/lock"
                locked = server.call("POST", path, {"reason": args.reason})
                _print_locked(locked["clip"], was_locked=locked["was_locked"])
    except RoomCommandError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0

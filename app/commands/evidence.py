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
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from app import config as config_module
from app.access import Permission, check_command
from app.config import Config
from app.control import NoInstanceError, request
from app.database import open_database
from app.evidence import (
    Clip,
    ClipBook,
    ClipError,
    ClipWithdrawnError,
    CustodyLog,
    SegmentLedger,
    UnknownClipError,
    parse_utc,
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
_PAUSE_S = 0.25
"""A stretch no segment covers that is shorter than this is no gap: a segment ends at its
last packet and the next begins at its first, a packet's spacing apart. The export's cut
(media/clips/cut.py, MIN_GAP_S) calls nothing shorter a gap either."""
_KINDS = {kind.value for kind in FeedKind}
_NEEDS = {"tag": Permission.TAG, "list": Permission.REVIEW, "lock": Permission.LOCK}


def evidence_command(args: argparse.Namespace) -> int:
    if args.evidence_command in ("export", "verify"):
        from app.commands.evidence_export import export_command, verify_command

        return export_command(args) if args.evidence_command == "export" else verify_command(args)
    config = config_module.read(args.config)
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
        if args.last is not None:
            if not args.last > 0:
                raise ClipError(f"--last must be more than 0 seconds, not {args.last:g}")
            if args.to is not None:
                raise ClipError("--to goes with --from, not with --last")
            start, end = None, None
        else:
            if args.to is None:
                raise ClipError("--from needs --to")
            start, end = parse_time(args.start), parse_time(args.to)
            if end <= start:
                raise ClipError(f"--from ({args.start}) must be before --to ({args.to})")
        found = _find_feed(args.feed, base, db, config)
        if not found.known:
            unknown = _unknown_feed(args.feed, SegmentLedger(db, base.recordings))
            print(f"vigil: {unknown}", file=sys.stderr)
            return EXIT_REFUSED
        options = {
            "tags": args.tags,
            "note": args.note,
            "incident": args.incident,
            "kind": found.kind,
        }
        if start is None or end is None:
            clip = clips.last(args.feed, args.last, **options)
        else:
            clip = clips.tag(args.feed, start, end, **options)
    except ClipError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    open_since = _open_segment_start(base.recordings, clip.feed_name) if found.recording else None
    warning = _coverage_warning(SegmentLedger(db, base.recordings), clip, open_since)
    if warning:
        print(f"vigil: warning: {warning}", file=sys.stderr)
    tags = f" [{', '.join(clip.tags)}]" if clip.tags else ""
    incident = f" for {clip.incident}" if clip.incident else ""
    print(
        f"tagged {clip.duration_s:g} s of {clip.feed_name} from {utc_text(clip.start_utc)} "
        f"to {utc_text(clip.end_utc)}{incident}{tags}"
    )
    print(clip.id)
    return 0


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


def _unknown_feed(name: str, ledger: SegmentLedger) -> str:
    recorded = ledger.feeds()
    have = (
        "feeds with recordings: " + ", ".join(recorded)
        if recorded
        else "no feed has recordings in this base dir"
    )
    return (
        f"no feed named {name.strip()!r} is configured, running, recorded or tracked, so no "
        f"clip was made; {have}"
    )


def _open_segment_start(recordings: Path, feed_name: str) -> float | None:
    """When the segment being written for `feed_name` began: the UTC time its `.part` file's
    name starts with (media/recording/segment.py's segment_name), in the feed's folder, whose
    name percent-decodes to the feed's (app/evidence/recording.py's feed_folder). None when
    there is no such file. Only worth asking when the running wall says it records the feed:
    a `.part` with no writer is what a crash left, and goes to quarantine, not the ledger."""
    try:
        folders = [f for f in recordings.iterdir() if urllib.parse.unquote(f.name) == feed_name]
        parts = sorted(p.name for f in folders if f.is_dir() for p in f.glob("*.ts.part"))
    except OSError:
        return None
    for name in reversed(parts):
        try:
            started = dt.datetime.strptime(name[:19], "%Y%m%dT%H%M%S.%f")
        except ValueError:
            continue
        return started.replace(tzinfo=dt.UTC).timestamp()
    return None


def _coverage_warning(
    ledger: SegmentLedger, clip: Clip, open_since: float | None = None
) -> str | None:
    """None when recordings cover the whole clip, else what is missing. Recordings are the
    ledger's segments and, when `open_since` is given, the segment the running wall is
    writing from then until now (in the ledger once it closes)."""
    spans = [
        (parse_utc(segment.start_utc).timestamp(), parse_utc(segment.end_utc).timestamp())
        for segment in ledger.segments_between(clip.feed_name, clip.start_utc, clip.end_utc)
    ]
    if open_since is not None and open_since < clip.end_utc:
        spans.append((open_since, clip.end_utc))
    span = f"{clip.feed_name} from {utc_text(clip.start_utc)} to {utc_text(clip.end_utc)}"
    if not spans:
        return f"no recording covers {span}: the clip is kept, but export will fail until it does"
    missing, reached = 0.0, clip.start_utc
    for seg_start, seg_end in sorted(spans):  # oldest first; overlaps counted once
        if seg_start - reached >= _PAUSE_S:
            missing += seg_start - reached
        reached = max(reached, min(seg_end, clip.end_utc))
    if clip.end_utc - reached >= _PAUSE_S:
        missing += clip.end_utc - reached
    if missing == 0:
        return None
    covered = clip.duration_s - missing
    return (
        f"recordings cover only {covered:.1f} s of the {clip.duration_s:g} s of {span}: "
        "the clip is kept, but its export will be incomplete until they do"
    )


def _list(args: argparse.Namespace, clips: ClipBook) -> int:
    try:
        found = clips.search(
            tag=args.tag, incident=args.incident, feed=args.feed, include_withdrawn=args.all
        )
    except ClipError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps([clip.public() for clip in found], indent=2, ensure_ascii=False))
        return 0
    for clip in found:
        marks = ("locked " if clip.locked else "") + ("withdrawn " if clip.withdrawn else "")
        line = (
            f"{clip.id}  {utc_text(clip.start_utc)[:19]}Z  {clip.duration_s:7.1f} s  "
            f"{clip.feed_name}"
        )
        line += f"  {clip.incident}" if clip.incident else ""
        line += f"  [{', '.join(clip.tags)}]" if clip.tags else ""
        line += f"  {marks.strip()}" if marks else ""
        if clip.note:
            first = clip.note.splitlines()[0]
            cut = len(first) > 60 or first != clip.note
            line += f"  {first[:60]}" + ("…" if cut else "")
        print(line)
    return 0


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
    if before.locked:
        print(f"{clip.id} was locked already, by {clip.locked_by}: {clip.lock_reason}")
    else:
        print(f"{clip.id} locked: {clip.lock_reason}")
    return 0

"""How much of a tagged clip the recordings cover, and what a tag on a name nothing knows
says: `vigil evidence tag` asks it on the instance's own database, and a room server for a
desk's `vigil evidence tag` on its (app/room/desk_commands.py). No Qt here."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from pathlib import Path

from app.evidence.clips import Clip
from app.evidence.hashchain import parse_utc, utc_text
from app.evidence.ledger import SegmentLedger

PAUSE_S = 0.25
"""A stretch no segment covers that is shorter than this is no gap: a segment ends at its
last packet and the next begins at its first, a packet's spacing apart. The export's cut
(media/clips/cut.py, MIN_GAP_S) calls nothing shorter a gap either."""


def unknown_feed(name: str, ledger: SegmentLedger) -> str:
    """Why no clip was made of `name`, naming the feeds that have recordings."""
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


def open_segment_start(recordings: Path, feed_name: str) -> float | None:
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


def coverage_warning(
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
        if seg_start - reached >= PAUSE_S:
            missing += seg_start - reached
        reached = max(reached, min(seg_end, clip.end_utc))
    if clip.end_utc - reached >= PAUSE_S:
        missing += clip.end_utc - reached
    if missing == 0:
        return None
    covered = clip.duration_s - missing
    return (
        f"recordings cover only {covered:.1f} s of the {clip.duration_s:g} s of {span}: "
        "the clip is kept, but its export will be incomplete until they do"
    )

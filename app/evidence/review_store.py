"""What the Review window asks of the evidence store: find clips, open one for viewing (its
segments, their frames, the feed's track), write a still, export the clip.

Each call opens its own connection and closes it, so any worker thread may make it (SQLite
connections belong to the thread that made them; opening one costs about a millisecond).
Viewing is custody: `open_clip` records `view_opened` for the clip and `close_clip`
`view_closed` with the seconds it was open, like the wall's viewing log (app/access/viewing.py)
but with the clip as the subject; a still is `still_export` with the PNG's hash. No Qt here.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from app.config import Config
from app.database import open_database
from app.evidence.clips import Clip, ClipBook
from app.evidence.custody import CustodyAction, CustodyLog, os_user
from app.evidence.hashchain import hash_file, parse_utc, utc_text
from app.evidence.ledger import SegmentLedger
from app.map import TrackBook
from app.paths import BaseDir
from media.clips import (
    ClipDecoder,
    ClipIndex,
    ClipReadError,
    ClipSegment,
    Still,
    format_utc,
    index_clip,
    write_still,
)
from media.live import FeedKind, Location

TRACK_LOOKBACK_S = 300.0
"""The last fix before a clip starts is where the feed was at its start, if not older than
this (the map fades a fix by then too)."""


class ExportSummary(Protocol):
    """What the Review window says of an export: an ExportResult, or a room server's."""

    @property
    def folder(self) -> Path: ...

    @property
    def frames(self) -> int: ...

    @property
    def manifest_sha256(self) -> str: ...

    @property
    def fingerprint(self) -> str: ...


@dataclass(frozen=True)
class ClipMaterial:
    """What a clip is viewed from: the clip, its segments (their files and the ledger's
    hashes) and the feed's positions from the last fix before it to its end."""

    clip: Clip
    segments: tuple[ClipSegment, ...]
    track: tuple[Location, ...]


@dataclass(frozen=True)
class OpenedClip:
    """A clip opened for viewing: what the player and the track panel show."""

    clip: Clip
    index: ClipIndex
    track: tuple[Location, ...]
    """Positions from the last fix before the clip (within TRACK_LOOKBACK_S) to its end."""
    opened_at: float


class ReviewStore:
    def __init__(
        self,
        base: BaseDir,
        *,
        actor: str | None = None,
        config: Config | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base = base
        self.actor = actor or os_user()
        self.config = config
        """Names each feed's source URL in exports (without its secrets)."""
        self._clock = clock

    @contextmanager
    def _database(self) -> Iterator[sqlite_utils.Database]:
        db = open_database(self.base.database)
        try:
            yield db
        finally:
            db.close()

    # -- finding ---------------------------------------------------------------------------

    def search(
        self,
        *,
        text: str | None = None,
        tag: str | None = None,
        incident: str | None = None,
        feed: str | None = None,
        kind: FeedKind | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> list[Clip]:
        """ClipBook.search with the Review window's fields (ClipError for a bad tag)."""
        with self._database() as db:
            return ClipBook(db, CustodyLog(db)).search(
                text=text, tag=tag, incident=incident, feed=feed, kind=kind, start=start, end=end
            )

    def feed_names(self) -> list[str]:
        """Every feed a clip was tagged on or a segment recorded from, for the feed filter."""
        with self._database() as db:
            tagged = {str(n) for (n,) in db.execute("SELECT DISTINCT feed_name FROM clips")}
            return sorted(tagged | set(SegmentLedger(db, self.base.recordings).feeds()))

    # -- viewing ---------------------------------------------------------------------------

    def open_clip(
        self, clip_id: str, progress: Callable[[int, int], None] | None = None
    ) -> OpenedClip:
        """Read the clip, its segments' frames and the feed's track, and record
        `view_opened`. Raises UnknownClipError, or ClipReadError for an unreadable segment
        (nothing is recorded then: nothing was seen)."""
        return self.opened(self.material(clip_id), progress)

    def material(self, clip_id: str) -> ClipMaterial:
        """What viewing the clip needs from the store: the clip, its segments' files and
        the feed's positions (a room server hands the same to its desks)."""
        with self._database() as db:
            clip = ClipBook(db, CustodyLog(db)).get(clip_id)
            ledger = SegmentLedger(db, self.base.recordings)
            entries = ledger.segments_between(clip.feed_name, clip.start_utc, clip.end_utc)
            points = TrackBook(db).between(
                clip.feed_name, clip.start_utc - TRACK_LOOKBACK_S, clip.end_utc
            )
        segments = tuple(
            ClipSegment(
                ledger.file(entry),
                parse_utc(entry.start_utc).timestamp(),
                parse_utc(entry.end_utc).timestamp(),
                entry.path,
                entry.sha256,
            )
            for entry in entries
        )
        before = [p for p in points if p.at < clip.start_utc]
        during = [p for p in points if p.at >= clip.start_utc]
        track = tuple(
            Location(p.lat, p.lon, p.accuracy_m, p.at, p.heading_deg, p.speed_mps)
            for p in [*before[-1:], *during]
        )
        return ClipMaterial(clip, segments, track)

    def opened(
        self, material: ClipMaterial, progress: Callable[[int, int], None] | None = None
    ) -> OpenedClip:
        """The clip indexed from its segments' files, and `view_opened` recorded."""
        clip, segments = material.clip, material.segments
        index = index_clip(list(segments), clip.start_utc, clip.end_utc, progress=progress)
        opened = self._clock()
        self._append(
            CustodyAction.VIEW_OPENED,
            clip.id,
            {
                "where": "review",
                "workstation": socket.gethostname(),
                "feed": clip.feed_name,
                "start_utc": utc_text(clip.start_utc),
                "end_utc": utc_text(clip.end_utc),
                "segments": [segment.name for segment in segments],
                "frames": len(index),
            },
        )
        return OpenedClip(clip, index, material.track, opened)

    def close_clip(self, opened: OpenedClip) -> None:
        """Record `view_closed` with how long the clip was open."""
        self._append(
            CustodyAction.VIEW_CLOSED,
            opened.clip.id,
            {
                "where": "review",
                "workstation": socket.gethostname(),
                "seconds": round(self._clock() - opened.opened_at, 1),
            },
        )

    # -- writing out -----------------------------------------------------------------------

    def export_still(self, opened: OpenedClip, number: int, out: Path) -> Still:
        """Frame `number` of the clip at its full decoded size as a PNG with what it is in
        its margin, its hash beside it, and a `still_export` custody entry. ClipReadError,
        and nothing written, when its segment no longer hashes as the ledger says."""
        index, clip = opened.index, opened.clip
        ref = index.frames[number]
        segment = index.segments[ref.segment]
        # The still states the ledger's hash for its segment: it must be of those bytes.
        if segment.sha256 is not None and hash_file(segment.path)[0] != segment.sha256:
            raise ClipReadError(
                f"segment {segment.name} no longer hashes as its ledger entry says "
                "(run `vigil audit verify`); no still written"
            )
        decoder = ClipDecoder(index, cache_bytes=0)
        try:
            rgb = decoder.rgb(number)
        finally:
            decoder.close()
        scan_base = index.scans[ref.segment].time_base
        now = self._clock()
        kind = f" ({clip.feed_kind.value})" if clip.feed_kind else ""
        height, width = rgb.shape[:2]
        lines = [
            f"{clip.feed_name}{kind}  ·  {format_utc(ref.utc)} UTC  ·  "
            f"frame {number + 1} of {len(index)}",
            f"clip {clip.id}  ·  {ref.utc - clip.start_utc:+.3f} s from its start  ·  "
            f"{width}x{height} as decoded",
            f"segment {segment.name}  ·  pts {ref.pts} (time base {scan_base})",
            f"segment SHA-256 {segment.sha256 or 'unknown'}",
            f"exported {format_utc(now)} UTC by {self.actor} with Vigil",
        ]
        metadata = {
            "Vigil-Feed": clip.feed_name,
            "Vigil-UTC": utc_text(ref.utc),
            "Vigil-Frame": f"{number + 1} of {len(index)}",
            "Vigil-Clip": clip.id,
            "Vigil-Segment": segment.name,
            "Vigil-Segment-SHA256": segment.sha256 or "",
            "Vigil-PTS": str(ref.pts),
        }
        still = write_still(rgb, lines, out, metadata)
        self._append(
            CustodyAction.STILL_EXPORT,
            clip.id,
            {
                "file": str(still.path),
                "sha256": still.sha256,
                "frame": number + 1,
                "frames": len(index),
                "utc": utc_text(ref.utc),
                "segment": segment.name,
                "segment_sha256": segment.sha256,
                "pts": ref.pts,
            },
        )
        return still

    def export_clip(
        self, clip_id: str, out: Path, progress: Callable[[float, str], None] | None = None
    ) -> ExportSummary:
        """The clip as a court bundle in the folder `out` (app/evidence/bundle/export.py, which
        records the export as custody). ExportError says why not."""
        # Imported when used: the window opens without loading the export and signing code.
        from app.evidence.bundle.export import export_clip

        return export_clip(
            self.base, clip_id, out, progress=progress, actor=self.actor, config=self.config
        )

    def _append(self, action: CustodyAction, subject: str, details: dict[str, Any]) -> None:
        with self._database() as db:
            CustodyLog(db, clock=self._clock).append(action, subject, details, actor=self.actor)

"""What an evidence bundle's manifest.json says, gathered from the instance's records.

`build_manifest` turns a clip, the cut made of it (media/clips/cut.py) and the instance's
records into the manifest: the tag and who made it, the source (its URL with any secret
taken out), the asked range and the first and last frames' actual UTC times, the
pre-roll and any gaps, the ledger entries of the segments (each with the exact object its
hash is taken over, so a chain link can be rechecked with jq), the custody entries about
the clip, the chains' heads, the clock's synchronisation, the GPS track, and for a caller
the consent given. Times are UTC text (`YYYY-MM-DDTHH:MM:SS.ffffffZ`), as in the ledger.
No Qt here.
"""

from __future__ import annotations

import socket
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import sqlite_utils

from app.callers import Answer, CallerLink, ConsentBook, LinkBook
from app.config import Config
from app.evidence.bundle.layout import PUBLIC_KEY, SCHEMA
from app.evidence.bundle.signing import ALGORITHM
from app.evidence.clips import Clip
from app.evidence.custody import CustodyEntry
from app.evidence.hashchain import utc_text
from app.evidence.ledger import SegmentEntry
from app.map import TrackBook
from media.clips import CutResult


@dataclass(frozen=True)
class Source:
    kind: str | None
    url: str | None
    """With user name, password, query and fragment taken out."""
    removed: tuple[str, ...]
    link: CallerLink | None
    """The caller link, where the feed is a caller's."""


def redact_url(url: str) -> tuple[str, tuple[str, ...]]:
    """The URL without what could be a secret (user name and password, query, fragment:
    camera tokens live there), and what was taken out."""
    parts = urllib.parse.urlsplit(url)
    removed = []
    host = parts.netloc
    if "@" in host:
        host = host.rsplit("@", 1)[1]
        removed.append("user name and password")
    if parts.query:
        removed.append("query")
    if parts.fragment:
        removed.append("fragment")
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", "")), tuple(removed)


def find_source(db: sqlite_utils.Database, clip: Clip, config: Config | None) -> Source:
    """The feed as configured (by name), or the caller link whose feed it is."""
    kind = clip.feed_kind.value if clip.feed_kind else None
    for spec in config.feeds if config else ():
        if spec.name == clip.feed_name:
            url, removed = redact_url(spec.url)
            return Source(kind or spec.kind.value, url, removed, None)
    for link in LinkBook(db).all():
        if link.feed_name == clip.feed_name:
            return Source(kind or "caller", f"webrtc:{link.id}", (), link)
    return Source(kind, None, (), None)


def _consent(db: sqlite_utils.Database, link: CallerLink, clip: Clip) -> dict[str, Any]:
    """Every answer the caller gave, and whether consent held over the whole clip: the
    last answer before its start was agree and none came between start and end."""
    records = ConsentBook(db).for_link(link.id)
    before = [r for r in records if r.at <= clip.start_utc]
    during = [r for r in records if clip.start_utc < r.at <= clip.end_utc]
    held = bool(before) and before[-1].answer is Answer.AGREE
    held = held and all(r.answer is Answer.AGREE for r in during)
    return {
        "link": {**link.public(), "feed_name": link.feed_name},
        "records": [{**r.public(), "at_utc": utc_text(r.at)} for r in records],
        "held_over_clip": held,
    }


def _track(db: sqlite_utils.Database, clip: Clip) -> list[dict[str, Any]]:
    return [
        {
            "at": utc_text(p.at),
            "lat": p.lat,
            "lon": p.lon,
            "accuracy_m": p.accuracy_m,
            "heading_deg": p.heading_deg,
            "speed_mps": p.speed_mps,
            "altitude_m": p.altitude_m,
            "source": p.source.value,
        }
        for p in TrackBook(db).between(clip.feed_name, clip.start_utc, clip.end_utc)
    ]


def _clip(clip: Clip) -> dict[str, Any]:
    fields = clip.public()
    for name in ("start_utc", "end_utc", "start", "end", "duration_s"):
        fields.pop(name)  # given once, under "requested"
    return fields


def segment_item(entry: SegmentEntry, used: bool) -> dict[str, Any]:
    """A ledger entry as the manifest carries it: the hashed object and its hash."""
    return {"used": used, "entry": entry.hashed(), "entry_hash": entry.entry_hash}


def custody_item(entry: CustodyEntry) -> dict[str, Any]:
    return {"entry": entry.hashed(), "entry_hash": entry.entry_hash}


def _version() -> str:
    try:
        return metadata.version("vigil")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class Exported:
    by: str
    at: float
    fingerprint: str
    clock_sync: str
    """The clock's state at export time."""


def build_manifest(
    db: sqlite_utils.Database,
    clip: Clip,
    *,
    source: Source,
    cut: CutResult,
    media_file: str,
    cut_from: Sequence[SegmentEntry],
    span: Sequence[SegmentEntry],
    custody: Sequence[CustodyEntry],
    heads: dict[str, Any],
    files: dict[str, tuple[str, int]],
    exported: Exported,
) -> dict[str, Any]:
    """The manifest, as a dict in the order it reads best. `cut_from` is the entries whose
    files were given to the cut, in that order; `span` the feed's entries from the first
    segment used to the last, by id, so that every chain link between them is there to
    check; `files` each bundle file's (sha256, bytes) but the manifest, its signature and
    SHA256SUMS."""
    used = {cut_from[i].id for i in cut.segments_used}
    media = {
        "file": media_file,
        "container": "MPEG-TS (stream copy of the recorded segments, nothing re-encoded)",
        "streams": [
            {"index": s.index, "type": s.kind, "codec": s.codec, "packets": s.packets}
            for s in cut.streams
        ],
        "first_packet_utc": utc_text(cut.first_packet_utc),
        "key_frame_utc": utc_text(cut.key_frame_utc),
        "first_frame_utc": utc_text(cut.first_frame_utc),
        "last_frame_utc": utc_text(cut.last_frame_utc),
        "last_packet_utc": utc_text(cut.last_packet_utc),
        "preroll_s": round(cut.preroll_s, 6),
        "frames_in_range": cut.frames_in_range,
        "frames_written": cut.frames_written,
        "frame_interval_s": round(cut.frame_interval_s, 6),
        "gaps": [
            {
                "from_utc": utc_text(g.after_utc),
                "to_utc": utc_text(g.before_utc),
                "seconds": round(g.seconds, 6),
            }
            for g in cut.gaps
        ],
        "timeline": [
            {
                "segment_id": cut_from[p.segment].id,
                "pts_s": round(p.pts_s, 6),
                "utc": utc_text(p.utc),
            }
            for p in cut.timeline
        ],
        "notes": list(cut.notes),
    }
    sync = sorted({e.clock_sync for e in span if e.id in used})
    manifest: dict[str, Any] = {
        "schema": SCHEMA,
        "clip": _clip(clip),
        "feed": {
            "name": clip.feed_name,
            "kind": source.kind,
            "source_url": source.url,
            "source_url_removed": list(source.removed),
        },
        "requested": {
            "start_utc": utc_text(clip.start_utc),
            "end_utc": utc_text(clip.end_utc),
            "duration_s": round(clip.duration_s, 6),
        },
        "media": [media],
        "files": [
            {"path": path, "sha256": digest, "bytes": size}
            for path, (digest, size) in sorted(files.items())
        ],
        "exported": {
            "by": exported.by,
            "at": utc_text(exported.at),
            "host": socket.gethostname(),
            "vigil_version": _version(),
        },
        "signing_key": {
            "algorithm": ALGORITHM,
            "file": PUBLIC_KEY,
            "fingerprint_sha256": exported.fingerprint,
        },
        "clock_sync": {"at_export": exported.clock_sync, "segments": sync},
        "segments": [segment_item(e, e.id in used) for e in span],
        "custody": [custody_item(e) for e in custody],
        "heads": heads,
        "track": _track(db, clip),
        "consent": _consent(db, source.link, clip) if source.link else None,
    }
    return manifest

"""The Review window on a room's desk: the server's clips, played from its own segments.

`RoomReviewStore` is the Review window's store (app/evidence/review_store.py) with the
evidence on the room server: clips are found there, and a clip opened is played from the
server's segments, each fetched once into the desk's cache (`<base>/room-evidence/`) and
used only if it hashes as the server's ledger says. Indexing, stills and the player are the
standalone desk's own code. What viewing is custody (a clip opened and closed, a still
written) goes to the server's log through the desk's outbox, under the person signed in.
Exports are the server's: it writes and signs the bundle. No Qt here.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.evidence import Clip, CustodyAction, UnknownClipError, hash_file
from app.evidence.review_store import ClipMaterial, ExportSummary, ReviewStore
from app.paths import BaseDir
from app.room.client import RoomError
from app.room.command_line import RoomCommand, RoomCommandError
from app.room.desk import RoomDesk
from app.room.desk_tags import clip_from_public
from media.clips import ClipReadError, ClipSegment
from media.live import FeedKind, Location


@dataclass(frozen=True)
class RoomExport:
    """A bundle the room server wrote and signed, received on this desk."""

    folder: Path
    frames: int
    manifest_sha256: str
    fingerprint: str


CACHE = "room-evidence"


class RoomReviewStore(ReviewStore):
    def __init__(self, base: BaseDir, room: RoomDesk, *, actor: str | None = None) -> None:
        super().__init__(base, actor=actor)
        self._room = room
        self._cache = base.root / CACHE

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
        query = {
            "text": text,
            "tag": tag,
            "incident": incident,
            "feed": feed,
            "kind": kind.value if kind else None,
            "start": start,
            "end": end,
        }
        given = urllib.parse.urlencode({k: v for k, v in query.items() if v not in (None, "")})
        found = self._room.client.request("GET", f"/api/v1/review/clips?{given}")
        return [clip_from_public(clip) for clip in found]

    def feed_names(self) -> list[str]:
        names: list[str] = self._room.client.request("GET", "/api/v1/review/feeds")["feeds"]
        return names

    def material(self, clip_id: str) -> ClipMaterial:
        """The clip as the server has it, its segments fetched into the cache."""
        quoted = urllib.parse.quote(clip_id, safe="")
        try:
            given = self._room.client.request("GET", f"/api/v1/review/clips/{quoted}")
        except RoomError as exc:
            if exc.status == 404:
                raise UnknownClipError(f"the room server has no clip {clip_id}") from None
            raise
        segments = tuple(self._segment(entry) for entry in given["segments"])
        track = tuple(_location(point) for point in given["track"])
        return ClipMaterial(clip_from_public(given["clip"]), segments, track)

    def export_clip(
        self, clip_id: str, out: Path, progress: Callable[[float, str], None] | None = None
    ) -> ExportSummary:
        """The server writes and signs the bundle (under the person signed in); it arrives
        here whole into `out`, or nothing is left there."""
        from app.evidence.bundle import ExportError

        if progress is not None:
            progress(0.0, "the room server is exporting…")
        try:
            summary = RoomCommand(self._room.client).export(clip_id, out, force=False)
        except RoomCommandError as exc:
            raise ExportError(str(exc)) from None
        if progress is not None:
            progress(1.0, "received")
        return RoomExport(
            out,
            int(summary.get("frames", 0)),
            str(summary.get("manifest_sha256", "")),
            str(summary.get("fingerprint", "")),
        )

    def _segment(self, entry: dict[str, Any]) -> ClipSegment:
        """A segment in the cache, fetched unless held already; ClipReadError when what the
        server sends does not hash as its ledger says."""
        name, expected = str(entry["name"]), entry.get("sha256")
        local = (self._cache / name).resolve()
        if not local.is_relative_to(self._cache.resolve()):
            raise ClipReadError(f"the room server named a segment outside the cache: {name}")
        if not local.is_file() or (expected and hash_file(local)[0] != expected):
            quoted = urllib.parse.quote(name)
            got = self._room.client.download(f"/api/v1/review/segments/{quoted}", local)
            if expected and got != expected:
                local.unlink(missing_ok=True)
                raise ClipReadError(
                    f"segment {name} from the room server does not hash as its ledger says"
                )
        return ClipSegment(
            local, float(entry["start_utc"]), float(entry["end_utc"]), name, expected
        )

    def _append(self, action: CustodyAction, subject: str, details: dict[str, Any]) -> None:
        """Viewing custody goes to the server's log (kept on the desk until it has it)."""
        self._room.outbox.custody(action, subject, details)


def _location(point: dict[str, Any]) -> Location:
    return Location(
        float(point["lat"]),
        float(point["lon"]),
        point.get("accuracy_m"),
        float(point["at"]),
        point.get("heading"),
        point.get("speed"),
    )

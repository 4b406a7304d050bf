"""The room server's evidence, for the Review window of its desks.

A desk's Review window finds clips, and plays one from the server's own segments: it is
handed the clip, its segments (names, times and the ledger's hashes) and the feed's track,
and fetches each segment it does not hold yet, checking it against the ledger's hash before
use (app/room/desk_review.py). Nothing here writes: viewing a clip is recorded by the desk,
as a custody entry it sends (`view_opened`, `view_closed`, `still_export`).

    GET /api/v1/review/clips?text=&tag=&incident=&feed=&kind=&start=&end=   clips found
    GET /api/v1/review/feeds                        feeds with clips or recordings
    GET /api/v1/review/clips/{id}                   what viewing the clip needs
    GET /api/v1/review/segments/{name}              one recorded segment, as the ledger has it

Each needs the REVIEW permission. No Qt here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import closing
from typing import Any

from aiohttp import web

from app.access import Permission
from app.database import open_database
from app.evidence import ClipError, UnknownClipError
from app.evidence.review_store import ClipMaterial, ReviewStore
from app.paths import BaseDir
from media.live import FeedKind

Require = Callable[[web.Request, Permission, str], None]


class ReviewRoutes:
    def __init__(self, base: BaseDir, require: Require) -> None:
        self._base = base
        self._store = ReviewStore(base)
        self._require = require

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/api/v1/review/clips", self._search)
        app.router.add_get("/api/v1/review/feeds", self._feeds)
        app.router.add_get("/api/v1/review/clips/{clip}", self._material)
        app.router.add_get("/api/v1/review/segments/{name:.+}", self._segment)

    async def _search(self, request: web.Request) -> web.Response:
        self._require(request, Permission.REVIEW, "review clips")
        query = request.query
        try:
            kind = FeedKind(query["kind"]) if query.get("kind") else None
            start, end = (float(query[k]) if query.get(k) else None for k in ("start", "end"))
        except ValueError as exc:
            raise web.HTTPBadRequest(text=f"{exc}\n") from None
        try:
            clips = await _off_loop(
                lambda: self._store.search(
                    text=query.get("text"),
                    tag=query.get("tag"),
                    incident=query.get("incident"),
                    feed=query.get("feed"),
                    kind=kind,
                    start=start,
                    end=end,
                )
            )
        except ClipError as exc:
            raise web.HTTPBadRequest(text=f"{exc}\n") from None
        return web.json_response([clip.public() for clip in clips])

    async def _feeds(self, request: web.Request) -> web.Response:
        self._require(request, Permission.REVIEW, "review clips")
        return web.json_response({"feeds": await _off_loop(self._store.feed_names)})

    async def _material(self, request: web.Request) -> web.Response:
        clip_id = request.match_info["clip"]
        self._require(request, Permission.REVIEW, f"review clip {clip_id}")
        try:
            material = await _off_loop(lambda: self._store.material(clip_id))
        except UnknownClipError as exc:
            raise web.HTTPNotFound(text=f"{exc}\n") from None
        return web.json_response(material_json(material))

    async def _segment(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self._require(request, Permission.REVIEW, f"review segment {name}")
        with closing(open_database(self._base.database)) as db:
            known = next(db.query("SELECT path FROM segments WHERE path = ?", [name]), None)
        root = self._base.recordings.resolve()
        path = (root / name).resolve()
        if known is None or not path.is_relative_to(root) or not path.is_file():
            raise web.HTTPNotFound(text="no such segment in the ledger\n")
        return web.FileResponse(path, headers={"Content-Type": "video/mp2t"})


def material_json(material: ClipMaterial) -> dict[str, Any]:
    return {
        "clip": material.clip.public(),
        "segments": [
            {
                "name": s.name,
                "start_utc": s.start_utc,
                "end_utc": s.end_utc,
                "sha256": s.sha256,
            }
            for s in material.segments
        ],
        "track": [
            {
                "lat": p.lat,
                "lon": p.lon,
                "accuracy_m": p.accuracy_m,
                "at": p.at,
                "heading": p.heading_deg,
                "speed": p.speed_mps,
            }
            for p in material.track
        ],
    }


async def _off_loop(work: Callable[[], Any]) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, work)

"""The evidence, audit and link commands of a desk, done on the room server.

`vigil link`, `vigil evidence` and `vigil audit` given a config with [room] sign the person
in to the server and ask it here (app/room/command_line.py is the desk's side); the server
does what the command does on a standalone instance, with the same functions, on its own
database, recordings, signing key and [gateway], under the person signed in:

    GET    /api/v1/links?all=1                   links (INVITE_CALLERS)         -> [link]
    POST   /api/v1/links   {"name", "phone"?, "incident"?, "location_only"?, "officer"?,
                            "send"?}             a link from the server's gateway
                                                 -> {"link", "url", "sent", "sms_error"}
    DELETE /api/v1/links/{id}                    revoked                         -> link
    GET    /api/v1/evidence/clips?tag=&incident=&feed=&all=1   clips (REVIEW)   -> [clip]
    POST   /api/v1/evidence/tag {"feed", "last" | "start_utc" and "end_utc", "tags"?,
                            "note"?, "incident"?}   (TAG)         -> {"clip", "warning"}
    POST   /api/v1/evidence/clips/{id}/lock {"reason"}   (LOCK)   -> {"clip", "was_locked"}
    POST   /api/v1/evidence/clips/{id}/export {"name"?}   (EXPORT): the signed bundle,
                            written here as a local export writes it, sent as a tar stream;
                            the export's summary in the X-Vigil-Export header (JSON)
    POST   /api/v1/audit/verify                  (REVIEW)        -> the audit's report

Refusals are the API's (403 and a REFUSED entry); an unknown clip, link or feed is 404, a
withdrawn clip 409, bad input 400, each with the reason. No Qt here.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import secrets
import shutil
import tarfile
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from aiohttp import web

from app.access import Permission
from app.callers import LinkBook, LinkError, SmsError, make_link, validate_e164, viewer_feeds
from app.callers.gateway.service import text_link
from app.config import Config
from app.database import open_database
from app.evidence import (
    ClipBook,
    ClipError,
    ClipWithdrawnError,
    CustodyLog,
    SegmentLedger,
    UnknownClipError,
    audit_evidence,
    coverage_warning,
    open_segment_start,
    unknown_feed,
)
from app.map import TrackBook
from app.paths import BaseDir
from app.room.requests import json_body, number_in, person_of
from media.live import FeedKind

log = logging.getLogger(__name__)

Require = Callable[[web.Request, Permission, str], None]
EXPORT_HEADER = "X-Vigil-Export"
"""The export's summary (JSON): what `vigil evidence export` prints after the folder."""
CHUNK = 1 << 20
_BLOCK = tarfile.BLOCKSIZE


class DeskCommands:
    """The routes above for the server with base dir `base` and `config`; `require` is the
    API's role check, `kinds` a feed's kind by its name among the server's feeds."""

    def __init__(
        self,
        base: BaseDir,
        config: Config,
        require: Require,
        kinds: Callable[[str], str | None],
    ) -> None:
        self._base = base
        self._config = config
        self._require = require
        self._kinds = kinds

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/api/v1/links", self._links)
        app.router.add_post("/api/v1/links", self._link)
        app.router.add_delete("/api/v1/links/{link}", self._revoke)
        app.router.add_get("/api/v1/evidence/clips", self._clips)
        app.router.add_post("/api/v1/evidence/tag", self._tag)
        app.router.add_post("/api/v1/evidence/clips/{clip}/lock", self._lock)
        app.router.add_post("/api/v1/evidence/clips/{clip}/export", self._export)
        app.router.add_post("/api/v1/audit/verify", self._audit)

    # -- links ----------------------------------------------------------------------------

    async def _links(self, request: web.Request) -> web.Response:
        self._require(request, Permission.INVITE_CALLERS, "vigil link list")
        every = request.query.get("all", "") in ("1", "true", "yes")
        with closing(open_database(self._base.database)) as db:
            found = LinkBook(db).all(active_only=not every)
        return web.json_response([link.public() for link in found])

    async def _link(self, request: web.Request) -> web.Response:
        self._require(request, Permission.INVITE_CALLERS, "vigil link create")
        body = await json_body(request)
        name, phone, incident = (body.get(k) for k in ("name", "phone", "incident"))
        flags = {k: body.get(k, False) for k in ("location_only", "officer", "send", "viewer")}
        if not isinstance(name, str) or not name.strip():
            raise web.HTTPBadRequest(text='expected {"name"} and the link\'s other details\n')
        if any(v is not None and not isinstance(v, str) for v in (phone, incident)):
            raise web.HTTPBadRequest(text="phone and incident are text\n")
        if not all(isinstance(v, bool) for v in flags.values()):
            raise web.HTTPBadRequest(
                text="location_only, officer, send and viewer are true or false\n"
            )
        if sum(bool(flags[k]) for k in ("location_only", "officer", "viewer")) > 1:
            raise web.HTTPBadRequest(
                text="a link is one of: for location only, an officer's, a viewer's\n"
            )
        feeds: tuple[str, ...] = ()
        if flags["viewer"]:
            if not incident:
                raise web.HTTPBadRequest(text="a viewer link needs an incident\n")
            with closing(open_database(self._base.database)) as db:
                known = [f.name for f in self._config.feeds] + LinkBook(db).streaming_feeds()
            try:
                given = body.get("feeds")
                feeds = viewer_feeds(given if isinstance(given, str) else None, known)
            except ValueError as exc:
                raise web.HTTPBadRequest(text=f"{exc}\n") from None
        settings = self._config.gateway
        if settings is None:
            raise web.HTTPConflict(
                text="the room server has no [gateway], so nothing would serve the link\n"
            )
        if phone:
            try:
                phone = validate_e164(phone)
            except ValueError as exc:
                raise web.HTTPBadRequest(text=f"phone: {exc}\n") from None
        sms = self._config.sms
        if flags["send"] and not phone:
            raise web.HTTPBadRequest(text="send needs a phone\n")
        if flags["send"] and sms.provider == "none":
            raise web.HTTPConflict(text="the room server has no SMS provider ([sms])\n")
        person = person_of(request)
        with closing(open_database(self._base.database)) as db:
            links = LinkBook(db)
            link, url = make_link(
                links,
                settings,
                name=name,
                phone=phone or None,
                incident=incident or None,
                location_only=flags["location_only"],
                officer=flags["officer"],
                viewer=flags["viewer"],
                feeds=feeds,
                created_by=person.user,
            )
            sent: bool | None = None
            why: str | None = None
            if flags["send"]:
                try:
                    await text_link(sms, settings.organisation, link, url)
                    links.mark_sent(link.id)
                    sent = True
                except SmsError as exc:
                    sent, why = False, str(exc)
        return web.json_response(
            {"link": link.public(), "url": url, "sent": sent, "sms_error": why}, status=201
        )

    async def _revoke(self, request: web.Request) -> web.Response:
        link_id = request.match_info["link"]
        self._require(request, Permission.INVITE_CALLERS, "vigil link revoke")
        try:
            with closing(open_database(self._base.database)) as db:
                link = LinkBook(db).revoke(link_id)
        except LinkError:
            raise web.HTTPNotFound(text=f"no link {link_id}\n") from None
        return web.json_response(link.public())

    # -- evidence -------------------------------------------------------------------------

    async def _clips(self, request: web.Request) -> web.Response:
        self._require(request, Permission.REVIEW, "vigil evidence list")
        query = request.query
        try:
            with closing(open_database(self._base.database)) as db:
                found = ClipBook(db, CustodyLog(db)).search(
                    tag=query.get("tag"),
                    incident=query.get("incident"),
                    feed=query.get("feed"),
                    include_withdrawn=query.get("all", "") in ("1", "true", "yes"),
                )
        except ClipError as exc:
            raise web.HTTPBadRequest(text=f"{exc}\n") from None
        return web.json_response([clip.public() for clip in found])

    async def _tag(self, request: web.Request) -> web.Response:
        self._require(request, Permission.TAG, "vigil evidence tag")
        body = await json_body(request)
        feed, last = body.get("feed"), number_in(body, "last")
        start, end = number_in(body, "start_utc"), number_in(body, "end_utc")
        if not isinstance(feed, str) or (last is None) == (start is None or end is None):
            raise web.HTTPBadRequest(
                text='expected {"feed"} and either "last" or "start_utc" and "end_utc"\n'
            )
        options = {k: body.get(k) for k in ("tags", "note", "incident")}
        if any(v is not None and not isinstance(v, str | list) for v in options.values()):
            raise web.HTTPBadRequest(text="tags are a list, note and incident text\n")
        person = person_of(request)
        with closing(open_database(self._base.database)) as db:
            ledger = SegmentLedger(db, self._base.recordings)
            pulled = self._kinds(feed.strip())  # the server's own feeds: all recorded here
            known, kind = self._find(feed.strip(), pulled, db, ledger)
            if not known:
                raise web.HTTPNotFound(text=f"{unknown_feed(feed, ledger)}\n")
            clips = ClipBook(db, CustodyLog(db))
            try:
                if last is not None:
                    clip = clips.last(feed, last, **options, kind=kind, actor=person.user)
                else:
                    assert start is not None
                    assert end is not None
                    clip = clips.tag(feed, start, end, **options, kind=kind, actor=person.user)
            except ClipError as exc:
                raise web.HTTPBadRequest(text=f"{exc}\n") from None
            since = open_segment_start(self._base.recordings, clip.feed_name) if pulled else None
            warning = coverage_warning(ledger, clip, since)
        return web.json_response({"clip": clip.public(), "warning": warning}, status=201)

    def _find(
        self, name: str, pulled: str | None, db: Any, ledger: SegmentLedger
    ) -> tuple[bool, FeedKind | None]:
        """Whether the server knows a feed of this name (its feeds, its config, the tracks,
        the ledger, as `vigil evidence tag` asks on an instance) and its kind where known."""
        if pulled is not None:
            return True, FeedKind(pulled)
        for spec in self._config.feeds:
            if spec.name == name:
                return True, spec.kind
        point = TrackBook(db).latest(name)
        if point is not None:
            return True, point.kind
        return name in ledger.feeds(), None

    async def _lock(self, request: web.Request) -> web.Response:
        clip_id = request.match_info["clip"]
        self._require(request, Permission.LOCK, "vigil evidence lock")
        body = await json_body(request)
        reason = body.get("reason")
        if not isinstance(reason, str):
            raise web.HTTPBadRequest(text='expected {"reason"}\n')
        person = person_of(request)
        try:
            with closing(open_database(self._base.database)) as db:
                clips = ClipBook(db, CustodyLog(db))
                before = clips.get(clip_id)
                clip = clips.lock(clip_id, reason, actor=person.user)
        except UnknownClipError as exc:
            raise web.HTTPNotFound(text=f"{exc}\n") from None
        except ClipWithdrawnError as exc:
            raise web.HTTPConflict(text=f"{exc}\n") from None
        except ClipError as exc:
            raise web.HTTPBadRequest(text=f"{exc}\n") from None
        return web.json_response({"clip": clip.public(), "was_locked": before.locked})

    async def _export(self, request: web.Request) -> web.StreamResponse:
        from app.evidence.bundle import ExportError, export_clip  # PyAV and the keyring

        clip_id = request.match_info["clip"]
        self._require(request, Permission.EXPORT, "vigil evidence export")
        body = await json_body(request, empty_ok=True)
        name = body.get("name") or clip_id
        if not isinstance(name, str) or not _plain_name(name):
            raise web.HTTPBadRequest(text="name: a folder's name, with no slashes\n")
        person = person_of(request)
        try:
            with closing(open_database(self._base.database)) as db:
                ClipBook(db, CustodyLog(db)).get(clip_id)
        except ClipError as exc:
            raise web.HTTPNotFound(text=f"{exc}\n") from None
        staging = self._base.root / "exports" / secrets.token_hex(8)
        out = staging / name
        try:
            try:
                result = await asyncio.to_thread(
                    export_clip, self._base, clip_id, out, actor=person.user, config=self._config
                )
            except ExportError as exc:  # the clip is there: what stopped its export
                raise web.HTTPUnprocessableEntity(text=f"{exc}\n") from None
            summary = {
                "folder": name,
                "files": list(result.files),
                "first_frame_utc": result.first_frame_utc,
                "last_frame_utc": result.last_frame_utc,
                "key_frame_utc": result.key_frame_utc,
                "frames": result.frames,
                "gaps": [[gap.after_utc, gap.before_utc] for gap in result.gaps],
                "fingerprint": result.fingerprint,
                "manifest_sha256": result.manifest_sha256,
                "notes": list(result.notes),
            }
            response = web.StreamResponse(
                headers={
                    "Content-Type": "application/x-tar",
                    "Cache-Control": "no-store",
                    EXPORT_HEADER: json.dumps(summary, ensure_ascii=True),
                }
            )
            await response.prepare(request)
            try:
                for piece in _tar(out, result.files):
                    await response.write(await asyncio.to_thread(piece))
                await response.write_eof()
            except ConnectionError:
                log.warning("the desk went away while its export of %s was sent", clip_id)
            return response
        finally:
            await asyncio.to_thread(shutil.rmtree, staging, True)

    # -- audit ----------------------------------------------------------------------------

    async def _audit(self, request: web.Request) -> web.Response:
        self._require(request, Permission.REVIEW, "vigil audit verify")
        person = person_of(request)
        details = {"via": "desk API", "from": request.remote or "?"}
        report = await asyncio.to_thread(
            audit_evidence, self._base, actor=person.user, details=details
        )
        return web.json_response(report.public())


def _tar(folder: Path, files: tuple[str, ...]) -> list[Callable[[], bytes]]:
    """A ustar/pax stream of `files` under `folder`, as pieces each read when called (off
    the event loop), so a bundle of any size streams without being held whole."""
    pieces: list[Callable[[], bytes]] = []
    for name in sorted(files):
        path = folder / name
        size = path.stat().st_size
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o644, int(path.stat().st_mtime)
        pieces.append(functools.partial(info.tobuf, format=tarfile.PAX_FORMAT))
        pieces.extend(functools.partial(_read, path, offset) for offset in range(0, size, CHUNK))
        if size % _BLOCK:
            pieces.append(functools.partial(bytes, _BLOCK - size % _BLOCK))
    pieces.append(functools.partial(bytes, 2 * _BLOCK))
    return pieces


def _read(path: Path, offset: int) -> bytes:
    with path.open("rb") as file:
        file.seek(offset)
        return file.read(CHUNK)


def _plain_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\0" not in name

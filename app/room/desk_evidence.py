"""What desks send the room server for the evidence store: tags and custody entries.

The server is the evidence store's only writer, so a desk's T and Shift+T, its viewings,
body-cam reasons and locks arrive here, each under the person whose token sent it:

    POST   /api/v1/clips             {"feed", "start_utc", "end_utc", "incident"?} -> the clip
    PATCH  /api/v1/clips/{id}        {"tags"?, "note"?, "incident"?}               -> the clip
    DELETE /api/v1/clips/{id}        {"reason"?}: withdrawn, never removed         -> the clip
    POST   /api/v1/custody           {"action", "subject", "details", "at"}: one entry

A desk that was cut off delivers what it kept once it is back (app/room/outbox.py), each
request with an `Idempotency-Key`: a request the server has already answered is answered
again from `desk_requests`, not done twice, so nothing is doubled when a desk never heard
the first answer. No Qt here.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from aiohttp import web

from app.access import Permission
from app.database import open_database
from app.evidence import (
    ClipBook,
    ClipError,
    ClipWithdrawnError,
    CustodyAction,
    CustodyLog,
    UnknownClipError,
)
from app.room.requests import json_body, number_in, person_of

MAX_KEY_CHARS = 100
FROM_DESKS = frozenset(
    {
        CustodyAction.VIEW_OPENED,
        CustodyAction.VIEW_CLOSED,
        CustodyAction.SESSION_LOCKED,
        CustodyAction.SESSION_UNLOCKED,
        CustodyAction.REFUSED,
        CustodyAction.STILL_EXPORT,
    }
)
"""Custody entries a desk may write itself; the rest the server writes as it acts."""

Require = Callable[[web.Request, Permission, str], None]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class DeskEvidence:
    """The routes above, on the server's database; `require` is the API's role check."""

    def __init__(self, database: Path, require: Require, kinds: Callable[[str], str | None]):
        self._database = database
        self._require = require
        self._kinds = kinds
        """A feed's kind by its name, as the server knows it (None: not a feed of the room)."""

    def add_to(self, app: web.Application) -> None:
        app.router.add_post("/api/v1/clips", self._tag)
        app.router.add_patch("/api/v1/clips/{clip}", self._edit)
        app.router.add_delete("/api/v1/clips/{clip}", self._withdraw)
        app.router.add_post("/api/v1/custody", self._custody)

    @web.middleware
    async def once(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """A request with an Idempotency-Key is done once: a repeat gets the first answer."""
        key = request.headers.get("Idempotency-Key")
        if key is None or request.method in ("GET", "HEAD"):
            return await handler(request)
        if not 8 <= len(key) <= MAX_KEY_CHARS or not key.isascii():
            raise web.HTTPBadRequest(text="Idempotency-Key: 8 to 100 ASCII characters\n")
        with closing(open_database(self._database)) as db:
            done = next(
                db.query("SELECT status, body FROM desk_requests WHERE key = ?", [key]), None
            )
        if done is not None:
            return web.Response(
                status=done["status"], text=done["body"], content_type="application/json"
            )
        try:
            response = await handler(request)
        except web.HTTPException as refused:
            if refused.status < 500 and refused.status not in (401, 429):
                self._remember(key, request, refused.status, refused.text or "")
            raise
        if isinstance(response, web.Response) and response.status < 500:
            self._remember(key, request, response.status, response.text or "")
        return response

    # -- handlers -------------------------------------------------------------------------

    async def _tag(self, request: web.Request) -> web.Response:
        self._require(request, Permission.TAG, "tag evidence")
        body = await json_body(request)
        feed = body.get("feed")
        start, end = number_in(body, "start_utc"), number_in(body, "end_utc")
        if not isinstance(feed, str) or start is None or end is None:
            raise web.HTTPBadRequest(text='expected {"feed", "start_utc", "end_utc"}\n')
        incident = body.get("incident")
        person = person_of(request)
        clip = self._clips(
            lambda book: book.tag(
                feed,
                start,
                end,
                kind=self._kinds(feed),
                incident=incident if isinstance(incident, str) else None,
                actor=person.user,
            )
        )
        return web.json_response(clip, status=201)

    async def _edit(self, request: web.Request) -> web.Response:
        self._require(request, Permission.TAG, "edit a tag")
        body = await json_body(request)
        fields = {k: body.get(k) for k in ("tags", "note", "incident")}
        if any(v is not None and not isinstance(v, str | list) for v in fields.values()):
            raise web.HTTPBadRequest(text="tags are a list, note and incident text\n")
        clip_id, person = request.match_info["clip"], person_of(request)
        clip = self._clips(lambda book: book.edit(clip_id, **fields, actor=person.user))
        return web.json_response(clip)

    async def _withdraw(self, request: web.Request) -> web.Response:
        self._require(request, Permission.TAG, "withdraw a tag")
        body = await json_body(request, empty_ok=True)
        reason = body.get("reason")
        clip_id, person = request.match_info["clip"], person_of(request)
        clip = self._clips(
            lambda book: book.delete(
                clip_id, actor=person.user, reason=reason if isinstance(reason, str) else None
            )
        )
        return web.json_response(clip)

    async def _custody(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        try:
            action = CustodyAction(str(body.get("action")))
        except ValueError:
            action = None
        if action not in FROM_DESKS:
            raise web.HTTPBadRequest(
                text=f"a desk may log only {', '.join(sorted(a.value for a in FROM_DESKS))}\n"
            )
        subject, details, at = body.get("subject"), body.get("details") or {}, number_in(body, "at")
        if not isinstance(subject, str) or not isinstance(details, dict) or at is None:
            raise web.HTTPBadRequest(text='expected {"action", "subject", "details", "at"}\n')
        person = person_of(request)
        with closing(open_database(self._database)) as db:
            entry = CustodyLog(db).append(
                action,
                subject,
                {**details, "via": "desk API", "from": request.remote or "?", "desk_at": at},
                actor=person.user,
            )
        return web.json_response({"id": entry.id}, status=201)

    # -- inside ---------------------------------------------------------------------------

    def _clips(self, work: Callable[[ClipBook], Any]) -> dict[str, Any]:
        try:
            with closing(open_database(self._database)) as db:
                clip = work(ClipBook(db, CustodyLog(db)))
        except UnknownClipError as exc:
            raise web.HTTPNotFound(text=f"{exc}\n") from None
        except ClipWithdrawnError as exc:
            raise web.HTTPConflict(text=f"{exc}\n") from None
        except ClipError as exc:
            raise web.HTTPBadRequest(text=f"{exc}\n") from None
        public: dict[str, Any] = clip.public()
        return public

    def _remember(self, key: str, request: web.Request, status: int, body: str) -> None:
        with closing(open_database(self._database)) as db:
            db.table("desk_requests").insert(
                {
                    "key": key,
                    "user": person_of(request).user,
                    "path": request.path,
                    "status": status,
                    "body": body,
                    "at": time.time(),
                },
                ignore=True,
            )

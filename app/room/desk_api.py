"""The room server's HTTPS API for desks: the person at a desk signs in, then asks.

No request reaches the server unauthenticated: every route but sign-in needs the bearer
token sign-in gave, and what a token may do is its person's role (app/access/roles.py),
checked as on the command line, with a REFUSED custody entry and 403 when it may not. A
desk pins the server's certificate (its fingerprint, printed by `vigil server`), so the
password travels only to this server.

    POST   /api/v1/sign-in   {"user", "password"} -> {"token", "user", "role", "expires_in_s"}
    DELETE /api/v1/session   sign out
    GET    /api/v1/room      what the room has: feeds (as `vigil status` lists them), Janus
    POST   /api/v1/clips, /api/v1/custody, …   tags and custody entries from desks
                             (app/room/desk_evidence.py)
    GET    /api/v1/feeds/{id}/stream   the feed as the server pulls it, MPEG-TS, for as long
                             as the desk reads (app/room/restream.py); a body cam's needs the
                             right to open body cams

Sign-in needs an account with a password (`vigil users add NAME --role ROLE
--password-stdin`). Until an admin account exists (setup mode) desks are refused: setup mode
gives every right to the server's own OS user, never to a desk on the network. Passwords are
checked off the event loop (scrypt is slow on purpose), five failures from one address in a
minute answer 429. No Qt here.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import ssl
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from app.access import AccountBook, How, NotPermittedError, Permission, Person, Role, require
from app.database import open_database
from app.evidence import CustodyAction, CustodyLog
from app.room.desk_evidence import DeskEvidence
from app.room.restream import Restream

log = logging.getLogger(__name__)

TOKEN_HOURS = 12.0
"""A desk signs in again after a shift."""
MAX_BODY = 16 * 1024
FAILURES_PER_MINUTE = 5


class Routes(Protocol):
    def add_to(self, app: web.Application) -> None: ...


Restreams = Callable[[str], tuple[str, Restream] | None]
"""A feed's kind and restream by its id, or None for a feed the room does not have."""


@dataclass
class _Signed:
    person: Person
    expires_at: float


class DeskApi:
    """The desks' API on aiohttp; `room` answers GET /api/v1/room."""

    def __init__(
        self,
        database: Path,
        room: Callable[[], Awaitable[dict[str, Any]]],
        restreams: Restreams = lambda feed_id: None,
        kinds: Callable[[str], str | None] = lambda feed_name: None,
    ) -> None:
        self._database = database
        self._room = room
        self._restreams = restreams
        self.evidence = DeskEvidence(database, self._require, kinds)
        self.routes: list[Routes] = [self.evidence]
        """Each part's routes (tags and custody, Review, the commands), added to the app."""
        self._tokens: dict[str, _Signed] = {}
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def app(self) -> web.Application:
        app = web.Application(
            client_max_size=MAX_BODY, middlewares=[self._authenticate, self.evidence.once]
        )
        app.router.add_post("/api/v1/sign-in", self._sign_in)
        app.router.add_delete("/api/v1/session", self._sign_out)
        app.router.add_get("/api/v1/room", self._room_view)
        app.router.add_get("/api/v1/feeds/{feed}/stream", self._stream)
        for routes in self.routes:
            routes.add_to(app)
        return app

    async def start(self, host: str, port: int, context: ssl.SSLContext) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=context)
        await site.start()
        server = site._server  # the only way aiohttp tells the port it bound (port 0 in tests)
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- handlers -------------------------------------------------------------------------

    @web.middleware
    async def _authenticate(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path == "/api/v1/sign-in":
            return await handler(request)
        header = request.headers.get("Authorization", "")
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else ""
        signed = self._signed(token)
        if signed is None:
            raise web.HTTPUnauthorized(
                text="sign in first\n", headers={"WWW-Authenticate": 'Bearer realm="vigil room"'}
            )
        request["person"] = signed.person
        request["token"] = token
        return await handler(request)

    async def _sign_in(self, request: web.Request) -> web.Response:
        address = request.remote or "?"
        if self._too_many(address):
            raise web.HTTPTooManyRequests(text="too many failed sign-ins; wait a minute\n")
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text='expected JSON: {"user", "password"}\n') from None
        user, password = (
            body.get(k) if isinstance(body, dict) else None for k in ("user", "password")
        )
        if not isinstance(user, str) or not isinstance(password, str):
            raise web.HTTPBadRequest(text='expected JSON: {"user", "password"}\n')
        person = await asyncio.get_running_loop().run_in_executor(
            None, self._check, user.strip(), password, address
        )
        if person is None:
            self._failures[address].append(time.monotonic())
            raise web.HTTPUnauthorized(text="wrong user name or password\n")
        token = secrets.token_urlsafe(32)
        self._keep(token, person, address)
        assert person.role is not None
        return web.json_response(
            {
                "token": token,
                "user": person.user,
                "role": person.role.value,
                "expires_in_s": int(TOKEN_HOURS * 3600),
            }
        )

    async def _sign_out(self, request: web.Request) -> web.Response:
        signed = self._tokens.pop(request["token"], None)
        with closing(open_database(self._database)) as db:
            db.table("desk_sessions").delete_where("token_sha256 = ?", [_hash(request["token"])])
        if signed is not None:
            self._custody(CustodyAction.SIGNED_OUT, signed.person, {"via": "desk API"})
        return web.json_response({"signed_out": True})

    async def _room_view(self, request: web.Request) -> web.Response:
        self._require(request, Permission.WATCH_FEEDS, "watch the room's feeds")
        return web.json_response(await self._room())

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        found = self._restreams(request.match_info["feed"])
        if found is None:
            raise web.HTTPNotFound(text="the room has no such feed\n")
        kind, restream = found
        self._require(request, Permission.WATCH_FEEDS, "watch the room's feeds")
        if kind == "bodycam":
            self._require(request, Permission.OPEN_BODYCAMS, f"open body cam {restream.feed_name}")
        response = web.StreamResponse(
            headers={"Content-Type": "video/mp2t", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        watcher = restream.watch()
        try:
            while data := await watcher.next():
                await response.write(data)
        except ConnectionError:
            pass  # the desk went away: nothing of ours to keep
        finally:
            restream.unwatch(watcher)
        return response

    # -- inside ---------------------------------------------------------------------------

    def _keep(self, token: str, person: Person, address: str) -> None:
        """Remember a sign-in, in memory and (its hash) in the database, so a desk stays
        signed in when the server restarts."""
        now = time.time()
        self._tokens[token] = _Signed(person, now + TOKEN_HOURS * 3600)
        with closing(open_database(self._database)) as db:
            db.table("desk_sessions").delete_where("expires_at < ?", [now])
            db.table("desk_sessions").insert(
                {
                    "token_sha256": _hash(token),
                    "user": person.user,
                    "signed_in_at": now,
                    "expires_at": now + TOKEN_HOURS * 3600,
                    "address": address,
                }
            )

    def _signed(self, token: str) -> _Signed | None:
        """Who holds this token: from memory, else from a sign-in before a restart, with the
        account as it is now (a disabled account or a changed role counts from now on)."""
        now = time.time()
        signed = self._tokens.get(token)
        if signed is None and token:
            with closing(open_database(self._database)) as db:
                row = next(
                    db.query(
                        "SELECT s.expires_at, a.user, a.display, a.role FROM desk_sessions s"
                        " JOIN accounts a ON a.user = s.user"
                        " WHERE s.token_sha256 = ? AND a.disabled = 0",
                        [_hash(token)],
                    ),
                    None,
                )
            if row is not None:
                person = Person(row["user"], row["display"], Role(row["role"]), How.VIGIL)
                signed = self._tokens[token] = _Signed(person, row["expires_at"])
        if signed is None or signed.expires_at < now:
            self._tokens.pop(token, None)
            return None
        return signed

    def _check(self, user: str, password: str, address: str) -> Person | None:
        """The person for a good password (and a SIGNED_IN entry), else None (REFUSED)."""
        db = open_database(self._database)
        try:
            custody = CustodyLog(db)
            book = AccountBook(db, custody)
            details: dict[str, object] = {"via": "desk API", "from": address}
            if not book.has_admin():
                custody.append(
                    CustodyAction.REFUSED, "sign in", {**details, "why": "setup mode"}, actor=user
                )
                return None
            if not book.verify_password(user, password):
                custody.append(CustodyAction.REFUSED, "sign in", details, actor=user)
                return None
            account = book.get(user)
            assert account is not None
            person = Person(account.user, account.display, account.role, How.VIGIL)
            custody.append(CustodyAction.SIGNED_IN, user, details, actor=user)
            return person
        finally:
            db.close()

    def require(self, request: web.Request, permission: Permission, what: str) -> None:
        """The person behind the request may do `what`, or 403 and a REFUSED entry."""
        self._require(request, permission, what)

    def _require(self, request: web.Request, permission: Permission, what: str) -> None:
        person: Person = request["person"]
        db = open_database(self._database)
        try:
            require(person, permission, what, CustodyLog(db), via="desk API")
        except NotPermittedError as exc:
            raise web.HTTPForbidden(text=f"{exc}\n") from None
        finally:
            db.close()

    def _custody(self, action: CustodyAction, person: Person, details: dict[str, object]) -> None:
        db = open_database(self._database)
        try:
            CustodyLog(db).append(action, person.user, details, actor=person.user)
        finally:
            db.close()

    def _too_many(self, address: str) -> bool:
        failures = self._failures[address]
        now = time.monotonic()
        while failures and now - failures[0] > 60:
            failures.popleft()
        return len(failures) >= FAILURES_PER_MINUTE


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

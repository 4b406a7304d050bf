"""The gateway's HTTPS endpoints (DESIGN.md lists them), on aiohttp.

Each handler checks the request's shape, spends from its rate limits and hands over to
the `CallerDesk`. Connections are capped per address and in all, and a request's head and
body must arrive within seconds (connections.py): slow clients cannot take the process's
file descriptors, which the recorder needs too. Refusals become 4xx answers with a log
line that names the link, never the token; every 410 looks the same whatever made the link
unusable, and so does every 404. The access log masks tokens too: a log file gives nobody
a working link.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from app.callers.gateway.connections import (
    HEAD_TIMEOUT_S,
    IDLE_TIMEOUT_S,
    CappedListener,
    CappedSite,
    ConnectionCaps,
    handling,
)
from app.callers.gateway.desk import CallerDesk
from app.callers.gateway.limits import (
    BODY_TIMEOUT_S,
    MAX_JSON_BYTES,
    MAX_SDP_BYTES,
    RateLimiter,
    RefusedError,
    holder_key,
    parse_json,
)
from app.callers.gateway.page import (
    CALLER_DIR,
    GONE_PAGE,
    UNKNOWN_PAGE,
    VIEWER_DIR,
    VIEWER_GONE_PAGE,
    render_page,
    render_viewer_page,
)
from app.callers.links import LinkError, UnknownLinkError
from app.callers.viewing import ViewerDesk

log = logging.getLogger(__name__)

DEVICE_COOKIE = "vigil_device"
_TOKEN_IN_PATH = re.compile(r"/([cv])/[^/?\s]+")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; media-src 'self' blob: mediastream:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(self), geolocation=(self), microphone=()",
    "Strict-Transport-Security": "max-age=86400",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def mask_token(path: str) -> str:
    return _TOKEN_IN_PATH.sub(lambda found: f"/{found.group(1)}/…", path)


class MaskedAccessLogger(AbstractAccessLogger):
    """aiohttp's access log line, with the token cut out of the path."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %d %.0f ms",
            request.remote,
            request.method,
            mask_token(request.path),
            response.status,
            time * 1000,
        )


class Limits:
    """Request rates the gateway allows: per address overall, and per link and endpoint.
    A phone posts its location every few seconds and sends one offer per (re)connection;
    these leave room for that and for a reload, not for a flood.

    A link's budget is the holder's: it is kept per link *and* device cookie, so requests
    from a browser without the holder's cookie (which the desk answers 410) spend a budget
    of their own, never the one the real phone's offers and fixes draw on."""

    def __init__(self) -> None:
        self.per_address = RateLimiter(per_s=20, burst=60)
        self.per_endpoint = {
            "page": RateLimiter(per_s=1, burst=10),
            "consent": RateLimiter(per_s=1, burst=5),
            "whip": RateLimiter(per_s=0.5, burst=4),
            "location": RateLimiter(per_s=2, burst=10),
            # A viewer's page asks for its feeds' states every second and subscribes to
            # each feed it shows (a few at once, again after a lost connection).
            "view-status": RateLimiter(per_s=2, burst=10),
            "watch": RateLimiter(per_s=2, burst=12),
            "reason": RateLimiter(per_s=0.5, burst=5),
        }

    def take(self, request: web.Request, endpoint: str) -> None:
        self.per_address.take(request.remote)
        device = request.cookies.get(DEVICE_COOKIE)
        self.per_endpoint[endpoint].take(holder_key(request.match_info.get("token", ""), device))


class Gateway:
    """The caller gateway: an aiohttp application serving one `CallerDesk`."""

    def __init__(
        self,
        desk: CallerDesk,
        *,
        caps: ConnectionCaps | None = None,
        head_timeout_s: float = HEAD_TIMEOUT_S,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        body_timeout_s: float = BODY_TIMEOUT_S,
    ) -> None:
        self.desk = desk
        self.limits = Limits()
        self.caps = caps or ConnectionCaps()
        self.head_timeout_s = head_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.body_timeout_s = body_timeout_s
        self.viewers: ViewerDesk | None = None
        """Viewer links' desk (a room server's: app/room/viewers.py); none, and every
        viewer link is unknown here."""
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        """The port listened on, once started (the configured one, or the one picked)."""

    def application(self) -> web.Application:
        # aiohttp refuses larger bodies itself (413); our handlers check tighter limits.
        app = web.Application(client_max_size=MAX_SDP_BYTES, middlewares=[self._guard])
        app.router.add_get("/c/{token}", self._page, name="page")
        app.router.add_post("/c/{token}/consent", self._consent, name="consent")
        app.router.add_post("/c/{token}/whip", self._whip, name="whip")
        app.router.add_delete("/c/{token}/whip/{session}", self._hang_up, name="hang-up")
        app.router.add_post("/c/{token}/location", self._location, name="location")
        app.router.add_static("/caller/", CALLER_DIR, show_index=False, follow_symlinks=False)
        app.router.add_get("/v/{token}", self._viewer_page, name="viewer-page")
        app.router.add_get("/v/{token}/status", self._viewer_status, name="viewer-status")
        app.router.add_post("/v/{token}/watch", self._watch, name="watch")
        app.router.add_post("/v/{token}/watch/{viewing}", self._watch_answer, name="watch-answer")
        app.router.add_delete("/v/{token}/watch/{viewing}", self._watch_stop, name="watch-stop")
        app.router.add_post("/v/{token}/reason", self._reason, name="reason")
        app.router.add_static("/viewer/", VIEWER_DIR, show_index=False, follow_symlinks=False)
        return app

    async def start(self, host: str, port: int, ssl_context: ssl.SSLContext) -> None:
        listener = CappedListener.bound(host, port, self.caps)  # OSError: the port is taken
        self._runner = web.AppRunner(
            self.application(),
            access_log_class=MaskedAccessLogger,
            handle_signals=False,
            # Backstops behind the Watched deadlines: aiohttp's own idle close, and how
            # long an unread body is drained after its answer (10 s by default).
            keepalive_timeout=self.idle_timeout_s + self.head_timeout_s,
            lingering_time=1.0,
        )
        await self._runner.setup()
        site = CappedSite(
            self._runner,
            listener,
            ssl_context=ssl_context,
            head_timeout_s=self.head_timeout_s,
            idle_timeout_s=self.idle_timeout_s,
        )
        try:
            await site.start()
        except BaseException:
            listener.close()
            raise
        self.port = int(listener.getsockname()[1])
        log.info(
            "caller gateway listening on https://%s:%s (at most %d connections, %d per address)",
            host,
            self.port,
            self.caps.total,
            self.caps.per_address,
        )

    def connections(self) -> dict[str, Any]:
        """Open and refused connections, and the caps, for `vigil status`."""
        return self.caps.status()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- the guard every request passes ------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        with handling(request):
            response = await self._answer(request, handler)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    async def _answer(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except RefusedError as exc:
            token = request.match_info.get("token")
            # Name the link in the log (not for floods: their log lines are cheap on purpose).
            link_id = self.desk.links.id_for(token) if token and exc.status != 429 else None
            self._log_refusal(request, exc.status, exc.reason, link_id)
            response = web.json_response({"error": exc.reason}, status=exc.status)
            if exc.retry_after_s is not None:
                response.headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
            if exc.status == 408:  # the rest of the body may never come: do not wait for it
                response.force_close()
        except LinkError as exc:
            self._log_refusal(request, exc.status, exc.reason, exc.link_id)
            response = self._link_error(request, exc)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            if exc.status < 500:
                self._log_refusal(request, exc.status, exc.reason)
            response = web.json_response({"error": exc.reason}, status=exc.status)
        except Exception:  # a bug: the caller gets a plain 500, the log gets the detail
            log.exception("gateway failed on %s %s", request.method, mask_token(request.path))
            response = web.json_response({"error": "internal error"}, status=500)
        return response

    @staticmethod
    def _link_error(request: web.Request, exc: LinkError) -> web.Response:
        """One answer for every unknown token, one for every unusable one."""
        html_wanted = request.method == "GET" and request.match_info.route.name in (
            "page",
            "viewer-page",
        )
        viewer = request.path.startswith("/v/")
        if isinstance(exc, UnknownLinkError):
            if html_wanted:
                return web.Response(text=UNKNOWN_PAGE, status=404, content_type="text/html")
            return web.json_response({"error": "unknown link"}, status=404)
        if html_wanted:
            page = VIEWER_GONE_PAGE if viewer else GONE_PAGE
            return web.Response(text=page, status=410, content_type="text/html")
        return web.json_response({"error": "this link can no longer be used"}, status=410)

    @staticmethod
    def _log_refusal(
        request: web.Request, status: int, reason: str, link_id: str | None = None
    ) -> None:
        route = request.match_info.route.name or mask_token(request.path)
        log.warning(
            "gateway refused %s %s (%s) from %s: %d %s",
            request.method,
            route,
            link_id or "no link",
            request.remote,
            status,
            reason,
        )

    # -- endpoints --------------------------------------------------------------------------

    @staticmethod
    def _device(request: web.Request) -> str | None:
        return request.cookies.get(DEVICE_COOKIE)

    async def _page(self, request: web.Request) -> web.Response:
        self.limits.take(request, "page")
        token = request.match_info["token"]
        view = self.desk.open_page(token, self._device(request))
        base = f"/c/{token}"
        page = render_page(view, base=base, ice_servers=self._ice_servers())
        response = web.Response(text=page, content_type="text/html")
        if view.device is not None:
            response.set_cookie(
                DEVICE_COOKIE,
                view.device,
                path=base,
                secure=True,
                httponly=True,
                samesite="Strict",
                max_age=round(view.link.usable_until - view.link.created_at) + 3600,
            )
        return response

    async def _json_body(self, request: web.Request) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise RefusedError(415, f"expected application/json, not {request.content_type}")
        return parse_json(await self._body(request, MAX_JSON_BYTES))

    async def _body(self, request: web.Request, limit: int) -> bytes:
        """The whole body, at most `limit` bytes, within `body_timeout_s` of asking (408)."""
        if request.content_length is not None and request.content_length > limit:
            raise RefusedError(413, f"body of {request.content_length} bytes; at most {limit}")
        try:
            async with asyncio.timeout(self.body_timeout_s):
                body = await request.read()
        except TimeoutError:
            raise RefusedError(408, f"body not received within {self.body_timeout_s:g} s") from None
        except ConnectionResetError:  # the client went away mid-body: no bug, no traceback
            raise RefusedError(400, "the connection closed before the body was whole") from None
        if len(body) > limit:
            raise RefusedError(413, f"body of {len(body)} bytes; at most {limit}")
        return body

    async def _consent(self, request: web.Request) -> web.Response:
        self.limits.take(request, "consent")
        data = await self._json_body(request)
        answer, shown = data.get("answer"), data.get("consent_sha256")
        if not isinstance(answer, str) or not isinstance(shown, str):
            raise RefusedError(422, "answer and consent_sha256 must be text")
        state = await self.desk.answer(
            request.match_info["token"],
            self._device(request),
            answer,
            shown,
            user_agent=request.headers.get("User-Agent"),
            remote_addr=request.remote,
        )
        return web.json_response({"state": state.value})

    async def _whip(self, request: web.Request) -> web.Response:
        self.limits.take(request, "whip")
        if request.content_type != "application/sdp":
            raise RefusedError(415, f"expected application/sdp, not {request.content_type}")
        body = await self._body(request, MAX_SDP_BYTES)
        try:
            offer = body.decode("utf-8")
        except UnicodeDecodeError:
            raise RefusedError(400, "the offer is not UTF-8 text") from None
        token = request.match_info["token"]
        session_id, answer = await self.desk.offer(token, self._device(request), offer)
        return web.Response(
            status=201,
            text=answer,
            content_type="application/sdp",
            headers={"Location": f"/c/{token}/whip/{session_id}"},
        )

    async def _hang_up(self, request: web.Request) -> web.Response:
        self.limits.take(request, "whip")
        await self.desk.hang_up(
            request.match_info["token"], self._device(request), request.match_info["session"]
        )
        return web.Response(status=200)

    async def _location(self, request: web.Request) -> web.Response:
        self.limits.take(request, "location")
        if request.content_type != "application/json":
            raise RefusedError(415, f"expected application/json, not {request.content_type}")
        body = await self._body(request, MAX_JSON_BYTES)
        state = await self.desk.report_location(
            request.match_info["token"], self._device(request), body
        )
        return web.json_response({"state": state.value})

    # -- viewer links -----------------------------------------------------------------------

    def _viewer_desk(self, request: web.Request) -> ViewerDesk:
        if self.viewers is None:  # no room here: no viewer link can exist
            raise UnknownLinkError("viewer links need a room server")
        return self.viewers

    async def _viewer_page(self, request: web.Request) -> web.Response:
        self.limits.take(request, "page")
        viewers = self._viewer_desk(request)
        token = request.match_info["token"]
        view = viewers.open_page(token, self._device(request))
        base = f"/v/{token}"
        page = render_viewer_page(view, base=base, ice_servers=self._ice_servers())
        response = web.Response(text=page, content_type="text/html")
        # The page shows; it takes neither camera, microphone nor position.
        response.headers["Permissions-Policy"] = "camera=(), geolocation=(), microphone=()"
        if view.device is not None:
            response.set_cookie(
                DEVICE_COOKIE,
                view.device,
                path=base,
                secure=True,
                httponly=True,
                samesite="Strict",
                max_age=round(view.link.usable_until - view.link.created_at) + 3600,
            )
        return response

    def _ice_servers(self) -> list[dict[str, Any]]:
        return [
            {
                "urls": s.urls,
                **({"username": s.username, "credential": s.credential} if s.username else {}),
            }
            for s in self.desk.ice_servers
        ]

    async def _viewer_status(self, request: web.Request) -> web.Response:
        self.limits.take(request, "view-status")
        viewers = self._viewer_desk(request)
        status = await viewers.status(request.match_info["token"], self._device(request))
        return web.json_response(status)

    async def _watch(self, request: web.Request) -> web.Response:
        self.limits.take(request, "watch")
        viewers = self._viewer_desk(request)
        data = await self._json_body(request)
        feed = data.get("feed")
        if isinstance(feed, bool) or not isinstance(feed, int):
            raise RefusedError(422, "feed must be the feed's number on the page")
        token = request.match_info["token"]
        viewing, offer = await viewers.watch(token, self._device(request), feed, request.remote)
        return web.json_response(
            {"viewing": viewing, "sdp": offer},
            status=201,
            headers={"Location": f"/v/{token}/watch/{viewing}"},
        )

    async def _watch_answer(self, request: web.Request) -> web.Response:
        self.limits.take(request, "watch")
        viewers = self._viewer_desk(request)
        if request.content_type != "application/sdp":
            raise RefusedError(415, f"expected application/sdp, not {request.content_type}")
        body = await self._body(request, MAX_SDP_BYTES)
        try:
            answer = body.decode("utf-8")
        except UnicodeDecodeError:
            raise RefusedError(400, "the answer is not UTF-8 text") from None
        await viewers.answer(
            request.match_info["token"],
            self._device(request),
            request.match_info["viewing"],
            answer,
        )
        return web.Response(status=204)

    async def _watch_stop(self, request: web.Request) -> web.Response:
        self.limits.take(request, "watch")
        viewers = self._viewer_desk(request)
        await viewers.stop(
            request.match_info["token"], self._device(request), request.match_info["viewing"]
        )
        return web.Response(status=200)

    async def _reason(self, request: web.Request) -> web.Response:
        self.limits.take(request, "reason")
        viewers = self._viewer_desk(request)
        data = await self._json_body(request)
        feed, reason, detail = data.get("feed"), data.get("reason"), data.get("detail", "")
        if isinstance(feed, bool) or not isinstance(feed, int):
            raise RefusedError(422, "feed must be the feed's number on the page")
        if not isinstance(reason, str) or not isinstance(detail, str):
            raise RefusedError(422, "reason and detail must be text")
        chip = await viewers.state_reason(
            request.match_info["token"],
            self._device(request),
            feed=feed,
            reason=reason,
            detail=detail,
            remote=request.remote,
        )
        return web.json_response({"chip": chip})

"""Janus's HTTP API, spoken by the room server: a session, plugin handles, and their events.

As in aiortc's Janus example: a small session object that creates, attaches, long-polls its
events and keeps itself alive, and handles that send a plugin message and wait for its
answer. Every request carries the API secret the managed Janus was started with
(app/room/janus_config.py); nothing about forwarding media is here. No Qt here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

KEEPALIVE_S = 25.0
"""Janus ends a session silent for `session_timeout` (60 s, as we configure it)."""


class JanusError(Exception):
    """Janus refused or failed a request; `code` is Janus's or the plugin's error code."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class JanusSession:
    """One Janus session over HTTP. Use `async with JanusSession(url, secret) as session`."""

    def __init__(self, url: str, secret: str | None, *, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._secret = secret
        self._timeout = timeout_s
        self._http: aiohttp.ClientSession | None = None
        self.id: int | None = None
        self._handles: dict[int, JanusHandle] = {}
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.closed = asyncio.Event()
        """Set when the session ends: closed by us, or lost (Janus went away)."""

    async def __aenter__(self) -> JanusSession:
        await self.create()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.destroy()

    async def info(self) -> dict[str, Any]:
        """Janus's `info`: its version, plugins and transports."""
        return await self._get(f"{self.url}/info")

    async def create(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        try:
            answer = await self._post(self.url, {"janus": "create"})
        except BaseException:
            await self._http.close()
            raise
        self.id = int(answer["data"]["id"])
        self._tasks = [
            asyncio.create_task(self._poll(), name=f"janus-poll-{self.id}"),
            asyncio.create_task(self._keepalive(), name=f"janus-keepalive-{self.id}"),
        ]

    async def attach(self, plugin: str) -> JanusHandle:
        answer = await self._post(self._session_url, {"janus": "attach", "plugin": plugin})
        handle = JanusHandle(self, int(answer["data"]["id"]), plugin)
        self._handles[handle.id] = handle
        return handle

    async def destroy(self) -> None:
        """End the session on Janus (if it is still there) and stop polling."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self.id is not None and self._http is not None:
            with contextlib.suppress(JanusError, aiohttp.ClientError, asyncio.TimeoutError):
                await self._post(self._session_url, {"janus": "destroy"})
        self._fail_waiting(JanusError("the Janus session ended"))
        if self._http is not None:
            await self._http.close()
        self.closed.set()

    # -- inside -----------------------------------------------------------------------------

    @property
    def _session_url(self) -> str:
        return f"{self.url}/{self.id}"

    async def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self._http is not None, "create() the session first"
        message = {**body, "transaction": secrets.token_hex(8)}
        if self._secret is not None:
            message["apisecret"] = self._secret
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        async with self._http.post(url, json=message, timeout=timeout) as response:
            answer: dict[str, Any] = await response.json(content_type=None)
        _raise_for(answer)
        return answer

    async def _get(self, url: str) -> dict[str, Any]:
        params = {"apisecret": self._secret} if self._secret else {}
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        if self._http is None:
            async with (
                aiohttp.ClientSession() as http,
                http.get(url, params=params, timeout=timeout) as response,
            ):
                answer: dict[str, Any] = await response.json(content_type=None)
        else:
            async with self._http.get(url, params=params, timeout=timeout) as response:
                answer = await response.json(content_type=None)
        _raise_for(answer)
        return answer

    async def _message(
        self, handle: JanusHandle, body: dict[str, Any], jsep: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Send a plugin message and wait for the event that answers it (Janus acks first)."""
        assert self._http is not None
        transaction = secrets.token_hex(8)
        message: dict[str, Any] = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            message["jsep"] = jsep
        if self._secret is not None:
            message["apisecret"] = self._secret
        done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[transaction] = done
        try:
            url = f"{self._session_url}/{handle.id}"
            timeout = aiohttp.ClientTimeout(total=self._timeout)
            async with self._http.post(url, json=message, timeout=timeout) as response:
                answer: dict[str, Any] = await response.json(content_type=None)
            _raise_for(answer)
            if answer.get("janus") == "success":  # answered at once (synchronous request)
                return answer
            return await asyncio.wait_for(done, self._timeout)
        finally:
            self._waiting.pop(transaction, None)

    async def _poll(self) -> None:
        """Long-poll the session's events and hand each to whoever waits for it."""
        assert self._http is not None
        params = {"maxev": "10", **({"apisecret": self._secret} if self._secret else {})}
        while True:
            try:
                async with self._http.get(
                    self._session_url, params=params, timeout=aiohttp.ClientTimeout(total=40)
                ) as response:
                    answer = await response.json(content_type=None)
            except asyncio.CancelledError:
                raise
            except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
                log.warning("Janus session %s lost: %s", self.id, exc)
                self._fail_waiting(JanusError(f"Janus went away ({exc})"))
                self.closed.set()
                return
            events = answer if isinstance(answer, list) else [answer]
            for event in events:
                self._dispatch(event)

    def _dispatch(self, event: dict[str, Any]) -> None:
        kind = event.get("janus")
        if kind == "keepalive":
            return
        transaction = event.get("transaction")
        waiting = self._waiting.get(transaction) if isinstance(transaction, str) else None
        if kind == "event" and waiting is not None and not waiting.done():
            waiting.set_result(event)
            return
        handle = self._handles.get(int(event.get("sender", 0) or 0))
        if handle is not None:
            handle.events.put_nowait(event)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_S)
            try:
                await self._post(self._session_url, {"janus": "keepalive"})
            except (TimeoutError, JanusError, aiohttp.ClientError) as exc:
                log.warning("Janus keepalive failed: %s", exc)

    def _fail_waiting(self, error: JanusError) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(error)


class JanusHandle:
    """A handle on one plugin in a session: requests to it, and events from it."""

    def __init__(self, session: JanusSession, handle_id: int, plugin: str) -> None:
        self.session = session
        self.id = handle_id
        self.plugin = plugin
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        """Events not answering a request: media up or down, a publisher leaving, hang-ups."""

    async def request(
        self, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The plugin's answer to `body` (its `data`) and any SDP it sent back; JanusError
        when the plugin says error."""
        answer = await self.session._message(self, body, jsep)
        data: dict[str, Any] = answer.get("plugindata", {}).get("data", {})
        if "error" in data or (data.get("videoroom") == "event" and "error_code" in data):
            raise JanusError(str(data.get("error", data)), data.get("error_code"))
        return data, answer.get("jsep")

    async def detach(self) -> None:
        with contextlib.suppress(JanusError, aiohttp.ClientError, asyncio.TimeoutError):
            await self.session._post(f"{self.session._session_url}/{self.id}", {"janus": "detach"})
        self.session._handles.pop(self.id, None)


def _raise_for(answer: Any) -> None:
    if not isinstance(answer, dict):
        raise JanusError(f"not a Janus answer: {answer!r:.200}")
    if answer.get("janus") == "error":
        error = answer.get("error", {})
        raise JanusError(str(error.get("reason", "error")), error.get("code"))

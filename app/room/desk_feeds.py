"""The room's feeds on a desk: each read from the room server's restream of it.

A desk pulls no camera itself. For each feed the room has, it keeps one pinned TLS
connection to the server (GET /api/v1/feeds/{id}/stream, the person's token) and hands
what arrives, MPEG-TS as the server pulled it, to its feed's source on a loopback UDP
port, where it is read and decoded like any udp:// feed (`RoomRelay`, a `Relay`). So the
desk's CPU per feed is a plain decode's, the server decodes nothing for it, and the
states, health, `+N ms`, telemetry and alerts are the same code as a standalone desk's.

When the server goes away the relay says so in the operator's words (the tile shows the
feed lost, with the reason) and tries again every second; within a second of the server's
return the feed is back. No Qt here.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import ssl
import threading
import time
import urllib.parse
from typing import Any

from app.room.client import NotPinnedError, RoomClient, RoomError
from media.live import LOOPBACK, Backoff, FeedKind, FeedSpec, free_udp_port

log = logging.getLogger(__name__)

DATAGRAM = 7 * 188
"""MPEG-TS packets per UDP datagram, as every TS-over-UDP sender sends them."""
READ_S = 5.0
"""A stream silent this long is given up and asked for again (the source stalls at 2 s)."""


def room_feed_spec(listed: dict[str, Any], server: str) -> FeedSpec:
    """A desk's spec of a feed the room lists (`vigil status`'s fields): its name and kind,
    and, for the record, where it comes from."""
    kind = FeedKind(listed.get("kind", FeedKind.CAMERA.value))
    feed_id = urllib.parse.quote(str(listed["id"]), safe="")
    return FeedSpec(str(listed["name"]), kind, f"{server}/api/v1/feeds/{feed_id}/stream")


class RoomRelay:
    """One feed from the room server to a loopback UDP port, from `start()` to `stop()`."""

    def __init__(self, client: RoomClient, feed_id: str, *, name: str) -> None:
        self._client = client
        self._path = f"/api/v1/feeds/{urllib.parse.quote(feed_id, safe='')}/stream"
        self._name = name
        self.port = free_udp_port()
        self._to = (LOOPBACK, self.port)
        self.fatal: str | None = None
        self.problem: str | None = None
        """Why nothing arrives, when the relay knows (the server refused or went away)."""
        self.connects = 0
        self.bytes = 0
        self._stop = threading.Event()
        self._backoff = Backoff()
        self._connection: http.client.HTTPSConnection | None = None
        self._thread = threading.Thread(target=self._run, name=f"room-{name}", daemon=True)

    @property
    def local_url(self) -> str:
        return f"udp://{LOOPBACK}:{self.port}"

    def open_options(self) -> dict[str, str] | None:
        return None  # a udp:// URL: the usual ones

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 1.0) -> None:
        self._stop.set()
        connection = self._connection
        if connection is not None and connection.sock is not None:
            with contextlib.suppress(OSError):  # unblock a read waiting on the server
                connection.sock.shutdown(socket.SHUT_RDWR)
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def explain(self, error: str) -> str:
        return self.problem or error

    # -- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            while not self._stop.is_set():
                try:
                    self._relay_once(out)
                except NotPinnedError as exc:
                    self.problem = str(exc)
                except RoomError as exc:
                    self.problem = str(exc)
                except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
                    self.problem = f"the room server went away ({exc or type(exc).__name__})"
                if self._stop.is_set():
                    break
                delay = self._backoff.next_delay()
                log.info("room feed %s: %s; again in %.1f s", self._name, self.problem, delay)
                self._stop.wait(delay)

    def _relay_once(self, out: socket.socket) -> None:
        connection = self._client.connect(READ_S)
        self._connection = connection
        try:
            connection.request("GET", self._path, headers=self._client.headers())
            response = connection.getresponse()
            if response.status != 200:
                text = response.read(2048).decode("utf-8", "replace").strip()
                raise RoomError(_refusal(response.status, text), response.status)
            self.connects += 1
            self.problem = None
            began = time.monotonic()
            pending = b""
            while not self._stop.is_set():
                data = response.read1(65536)
                if not data:
                    self.problem = "the room server ended this feed's stream"
                    return
                if time.monotonic() - began > 2.0:
                    self._backoff.reset()  # it flowed: the next loss starts over quickly
                self.bytes += len(data)
                pending += data
                whole = len(pending) - len(pending) % 188
                for offset in range(0, whole, DATAGRAM):
                    out.sendto(pending[offset : min(offset + DATAGRAM, whole)], self._to)
                pending = pending[whole:]
        finally:
            self._connection = None
            connection.close()


def _refusal(status: int, text: str) -> str:
    """The server's refusal of a stream, as the tile says it."""
    if status == 401:
        return "signed out of the room server (sign in again)"
    if status == 403:
        return f"the room server refused: {text}" if text else "the room server refused"
    if status == 404:
        return "the room server no longer has this feed"
    said = f"the room server answered {status}"
    return f"{said}: {text}" if text else said

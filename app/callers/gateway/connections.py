"""The gateway's connections: how many may be open, and how long a request may take to arrive.

Every open connection holds a file descriptor, and the process shares its open-file limit
with the recorder: a thousand slow TLS clients once took every descriptor, and recording
stopped with "Too many open files". So connections are counted where they are made, at
`accept()`, before TLS and before any header: a request middleware would only see a
connection once its headers had come, which a slow client never lets happen.

- `ConnectionCaps` counts open connections per client address (an IPv6 address by its /64,
  which one subscriber holds whole) and in all; a connection over either cap is closed as
  soon as it is accepted, so it never holds a descriptor.
- `CappedListener` is the listening socket that asks the caps on each `accept()` and hands
  the event loop sockets that give their place back when closed.
- `Watched` wraps aiohttp's per-connection protocol with a deadline for a request's head:
  a client that has begun a request and not finished its headers within `head_timeout_s`
  gets 408 and is closed; an idle kept-alive one is closed quietly after `idle_timeout_s`.
  Bodies have their own deadline where they are read (server.py).
- `CappedSite` serves aiohttp's application on such a listener, with a TLS handshake deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

PER_ADDRESS = 32
"""Open connections one address may hold. A phone's browser opens at most six to one
host; this leaves room for a few phones behind one carrier NAT address."""
TOTAL_AT_MOST = 1024
HEAD_TIMEOUT_S = 8.0
"""From a request's first byte to its last header. A phone sends its headers in a packet
or two; seconds more forgive a poor mobile link, not a client that trickles them."""
IDLE_TIMEOUT_S = 15.0
"""A kept-alive connection with no request: a phone posts its location every 5 s."""
HANDSHAKE_TIMEOUT_S = 10.0
REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


def total_for_open_files(soft_limit: int | None) -> int:
    """The cap on all connections for a process allowed `soft_limit` open files: a quarter
    of them (the rest stay for recording, the database and the wall), 64 to 1024."""
    if soft_limit is None or soft_limit <= 0:
        return TOTAL_AT_MOST
    return max(64, min(TOTAL_AT_MOST, soft_limit // 4))


def open_file_limit() -> int | None:
    try:
        import resource  # POSIX only
    except ImportError:
        return None
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return None if soft == resource.RLIM_INFINITY else soft


def address_key(host: str) -> str:
    """Whom a connection counts against: the IPv4 address, or the IPv6 /64."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class ConnectionCaps:
    """Open connections per address key and in all. Thread-safe: sockets may be closed
    from any thread (a transport's close runs on the loop, but a test's may not)."""

    def __init__(self, per_address: int = PER_ADDRESS, total: int | None = None) -> None:
        self.per_address = per_address
        self.total = total if total is not None else total_for_open_files(open_file_limit())
        self._open = Counter[str]()
        self._lock = threading.Lock()
        self.refused = 0
        self.most_open = 0
        """The most connections open at once since start."""

    def admit(self, key: str) -> bool:
        with self._lock:
            open_now = self._open.total()
            if self._open[key] >= self.per_address or open_now >= self.total:
                self.refused += 1
                return False
            self._open[key] += 1
            self.most_open = max(self.most_open, open_now + 1)
            return True

    def release(self, key: str) -> None:
        with self._lock:
            self._open[key] -= 1
            if self._open[key] <= 0:
                del self._open[key]

    def open(self, key: str | None = None) -> int:
        with self._lock:
            return self._open.total() if key is None else self._open[key]

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "open": self._open.total(),
                "most_open": self.most_open,
                "refused": self.refused,
                "per_address_at_most": self.per_address,
                "at_most": self.total,
            }


class _CountedSocket(socket.socket):
    """An accepted connection that gives its place back to the caps when closed."""

    _release: Callable[[], None] | None = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class CappedListener(socket.socket):
    """A listening TCP socket whose `accept()` admits only what `caps` allow. The event
    loop calls `accept()` on the socket it is given until it would block; a refused
    connection is closed here at once and the next one is tried."""

    caps: ConnectionCaps

    @classmethod
    def bound(
        cls, host: str, port: int, caps: ConnectionCaps, backlog: int = 128
    ) -> CappedListener:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = cls(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host, port))
            listener.listen(backlog)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        listener.caps = caps
        return listener

    def accept(self) -> tuple[socket.socket, Any]:
        while True:
            fd, address = self._accept()  # type: ignore[attr-defined]
            key = address_key(str(address[0]))
            if not self.caps.admit(key):
                socket.socket(self.family, self.type, self.proto, fileno=fd).close()
                log.warning(
                    "gateway refused a connection from %s: %d open from there, %d in all "
                    "(at most %d and %d)",
                    address[0],
                    self.caps.open(key),
                    self.caps.open(),
                    self.caps.per_address,
                    self.caps.total,
                )
                continue
            conn = _CountedSocket(self.family, self.type, self.proto, fileno=fd)
            conn._release = functools.partial(self.caps.release, key)
            if socket.getdefaulttimeout() is None and self.gettimeout():
                conn.setblocking(True)  # as socket.accept() does
            return conn, address


class Watched(asyncio.Protocol):
    """aiohttp's protocol for one connection, with a deadline on each request's head.

    The deadline runs while no request is being handled: from the connection's start, or
    the end of the last request, `idle_timeout_s` (shortened to `head_timeout_s` from the
    first byte of the next request). The gateway's middleware says when a request has
    arrived (`request_began`) and when it is done (`request_ended`)."""

    def __init__(
        self, inner: asyncio.Protocol, *, head_timeout_s: float, idle_timeout_s: float
    ) -> None:
        self.inner = inner
        self.head_timeout_s = head_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._busy = 0
        self._begun = False
        """Bytes of a request arrived since the last one was handled."""

    # -- asyncio's side, passed on ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self.inner.connection_made(transport)
        self._arm(self.idle_timeout_s)

    def data_received(self, data: bytes) -> None:
        if not self._busy and not self._begun:
            self._begun = True
            self._arm(self.head_timeout_s)
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._transport = None
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    # -- the middleware's side --------------------------------------------------------------

    def request_began(self) -> None:
        self._busy += 1
        self._disarm()

    def request_ended(self) -> None:
        self._busy = max(0, self._busy - 1)
        if not self._busy and self._transport is not None:
            self._begun = False
            self._arm(self.idle_timeout_s)

    # -- inside -------------------------------------------------------------------------------

    def _arm(self, after_s: float) -> None:
        self._disarm()
        self._timer = asyncio.get_running_loop().call_later(after_s, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        transport = self._transport
        if transport is None or self._busy:
            return
        if self._begun:
            peer = transport.get_extra_info("peername")
            log.warning(
                "gateway closed a connection from %s: no whole request head within %g s: 408",
                peer[0] if peer else "?",
                self.head_timeout_s,
            )
            with contextlib.suppress(Exception):
                transport.write(REQUEST_TIMEOUT)
        transport.close()


def watched(request: web.BaseRequest) -> Watched | None:
    """The `Watched` protocol a request came in on (None when served otherwise)."""
    transport = request.transport
    protocol = transport.get_protocol() if transport is not None else None
    return protocol if isinstance(protocol, Watched) else None


@contextlib.contextmanager
def handling(request: web.BaseRequest) -> Iterator[None]:
    """While a request is being handled its connection's head deadline is off."""
    connection = watched(request)
    if connection is not None:
        connection.request_began()
    try:
        yield
    finally:
        if connection is not None:
            connection.request_ended()


class CappedSite(web.BaseSite):
    """Serves a runner's application on a `CappedListener`, each connection `Watched`,
    and TLS handshakes cut after `HANDSHAKE_TIMEOUT_S` (asyncio's default is 60 s)."""

    def __init__(
        self,
        runner: web.BaseRunner,
        listener: CappedListener,
        *,
        ssl_context: ssl.SSLContext | None,
        head_timeout_s: float = HEAD_TIMEOUT_S,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context)
        self.listener = listener
        self.head_timeout_s = head_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.handshake_timeout_s = handshake_timeout_s
        host, port = listener.getsockname()[:2]
        self._site_name = f"{'https' if ssl_context else 'http'}://{host}:{port}"

    @property
    def name(self) -> str:
        return self._site_name

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None

        def protocol() -> Watched:
            return Watched(
                server(), head_timeout_s=self.head_timeout_s, idle_timeout_s=self.idle_timeout_s
            )

        self._server = await asyncio.get_running_loop().create_server(
            protocol,
            sock=self.listener,
            ssl=self._ssl_context,
            ssl_handshake_timeout=self.handshake_timeout_s if self._ssl_context else None,
        )

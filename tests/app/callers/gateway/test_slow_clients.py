"""Slow clients against the real gateway over real TLS on loopback: connections capped per
address and in all (refused at accept, before TLS), a request head trickled in cut with
408, a body trickled in cut with 408, an idle connection closed quietly, and the places
given back so a phone gets in again.

The clients are raw asyncio TLS streams bound to loopback addresses (127.0.0.2 and
127.0.0.3 stand for hostile networks, 127.0.0.1 for a phone), as a slowloris tool would
be; the gateway runs with small caps and deadlines so each test takes seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.callers.gateway.connections import ConnectionCaps, address_key, total_for_open_files
from app.callers.gateway.desk import CallerDesk
from app.callers.gateway.server import Gateway
from app.config import GatewaySettings
from app.database import open_database
from app.feeds.service import FeedService
from app.tls import server_ssl_context
from tests.media.recording.test_recorder import encode_ts
from tests.servers import LOOPBACK, free_port

pytestmark = pytest.mark.network

HOSTILE, ELSEWHERE = "127.0.0.2", "127.0.0.3"


@dataclass
class Served:
    gateway: Gateway
    port: int
    trust: ssl.SSLContext


@contextlib.asynccontextmanager
async def serving(folder: Path, **options: Any) -> AsyncIterator[Served]:
    """The real gateway (desk, database, certificate) on 127.0.0.1, with `options` for
    `Gateway` (caps and deadlines)."""
    port = free_port()
    db = open_database(folder / "vigil.db")
    feeds = FeedService()
    settings = GatewaySettings(host=LOOPBACK, port=port, public_url=f"https://{LOOPBACK}:{port}")
    desk = CallerDesk(db, settings, feeds)
    context, info = server_ssl_context(folder / "certs", [LOOPBACK])
    gateway = Gateway(desk, **options)
    await gateway.start(LOOPBACK, port, context)
    try:
        yield Served(gateway, port, ssl.create_default_context(cafile=str(info.path)))
    finally:
        await gateway.close()
        await desk.close()
        feeds.stop()
        db.close()


class SlowClient:
    """One TLS connection from `address`, writing what it is told when it is told."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, served: Served, address: str) -> SlowClient | None:
        """None when the gateway closes the connection before TLS is up (refused)."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    LOOPBACK,
                    served.port,
                    ssl=served.trust,
                    server_hostname=LOOPBACK,
                    local_addr=(address, 0),
                ),
                5,
            )
        except (OSError, ssl.SSLError):
            return None
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer(self, within_s: float) -> tuple[bytes, float]:
        """Everything the gateway sends until it closes, and when it closed (monotonic)."""
        data = await asyncio.wait_for(self.reader.read(), within_s)
        return data, time.monotonic()

    def close(self) -> None:
        self.writer.close()


def slow_offer() -> bytes:
    """The head of a WHIP offer of 60,000 bytes, and its first few bytes: all that comes."""
    token = secrets.token_urlsafe(18)  # each its own link: no rate limit stops it first
    return (
        f"POST /c/{token}/whip HTTP/1.1\r\nHost: {LOOPBACK}\r\n"
        "Content-Type: application/sdp\r\nContent-Length: 60000\r\n\r\nv=0\r\n"
    ).encode()


def test_connections_are_capped_per_address_and_in_all_and_slow_bodies_are_cut(
    short_tmp: Path,
) -> None:
    """In: a gateway allowing 8 connections per address and 12 in all, a body 1.5 s; 20
    TLS clients from 127.0.0.2 each send a WHIP offer's head (Content-Length 60,000) and
    5 bytes of it, then nothing; 6 more from 127.0.0.3 do the same; then a phone from
    127.0.0.1 asks for the caller script.
    Out: 8 clients of 127.0.0.2 get TLS up and 12 are closed at once; 4 of 127.0.0.3 get
    in and 2 are closed (12 in all); the gateway never has more than 12 open; while all
    12 places are taken the phone is refused too; each admitted client gets "408 Request
    Timeout" about 1.5 s after its head, and is closed within 3 s of it; then every place
    is free again (0 open) and the phone gets the script (200)."""

    async def scenario() -> None:
        caps = ConnectionCaps(per_address=8, total=12)
        async with serving(short_tmp, caps=caps, body_timeout_s=1.5, head_timeout_s=5) as served:
            hostile = [await SlowClient.connect(served, HOSTILE) for _ in range(20)]
            elsewhere = [await SlowClient.connect(served, ELSEWHERE) for _ in range(6)]
            admitted = [c for c in hostile + elsewhere if c is not None]
            assert sum(c is not None for c in hostile) == 8
            assert sum(c is not None for c in elsewhere) == 4
            assert caps.open(HOSTILE) == 8
            assert caps.open() == 12
            assert await SlowClient.connect(served, LOOPBACK) is None

            sent_at = time.monotonic()
            await asyncio.gather(*(c.send(slow_offer()) for c in admitted))
            answers = await asyncio.gather(*(c.answer(10) for c in admitted))
            for data, closed_at in answers:
                assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), data[:200]
                assert b"body not received within 1.5 s" in data
                assert 1.4 <= closed_at - sent_at <= 3.0, closed_at - sent_at
            for client in admitted:
                client.close()
            deadline = time.monotonic() + 2
            while caps.open() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert caps.open() == 0
            status = served.gateway.connections()
            assert status["most_open"] == 12
            assert status["refused"] == 12 + 2 + 1

            phone = await SlowClient.connect(served, LOOPBACK)
            assert phone is not None
            await phone.send(
                f"GET /caller/caller.js HTTP/1.1\r\nHost: {LOOPBACK}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            data, _ = await phone.answer(5)
            assert data.startswith(b"HTTP/1.1 200 OK\r\n")
            phone.close()

    asyncio.run(scenario())


def test_a_trickled_head_gets_408_and_an_idle_connection_is_closed(short_tmp: Path) -> None:
    """In: a gateway allowing 1 s for a request's head and 3 s of idleness; client A sends
    the first line of a request and then one byte of a header every 0.2 s, never ending
    the head; client B connects and sends nothing; client C sends one whole request with
    keep-alive and then nothing.
    Out: A gets exactly "HTTP/1.1 408 Request Timeout" (Connection: close) and is closed
    1 to 1.6 s after its first byte; B is closed with no bytes 3 s (not before 2.8 s) after
    connecting; C gets its 200 at once and is closed quietly about 3 s after it; every
    place is given back."""

    async def scenario() -> None:
        async with serving(short_tmp, head_timeout_s=1.0, idle_timeout_s=3.0) as served:
            caps = served.gateway.caps
            trickler = await SlowClient.connect(served, HOSTILE)
            idle = await SlowClient.connect(served, ELSEWHERE)
            keeper = await SlowClient.connect(served, LOOPBACK)
            assert trickler is not None
            assert idle is not None
            assert keeper is not None
            connected = time.monotonic()

            async def trickle() -> None:
                await trickler.send(b"GET /caller/caller.js HTTP/1.1\r\n")
                with contextlib.suppress(OSError):
                    for byte in b"X-Slow: " + b"a" * 40:
                        await asyncio.sleep(0.2)
                        await trickler.send(bytes([byte]))

            trickling = asyncio.create_task(trickle())
            started = time.monotonic()
            await keeper.send(
                f"GET /caller/caller.js HTTP/1.1\r\nHost: {LOOPBACK}\r\n\r\n".encode()
            )
            head = await asyncio.wait_for(keeper.reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 200 OK\r\n")
            answered = time.monotonic()

            data, cut_at = await trickler.answer(5)
            assert (
                data
                == b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
            )
            assert 1.0 <= cut_at - started <= 1.6, cut_at - started
            trickling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await trickling

            nothing, idle_at = await idle.answer(6)
            assert nothing == b""
            assert 2.8 <= idle_at - connected <= 4.0, idle_at - connected

            rest, kept_until = await keeper.answer(6)
            assert b"HTTP/1.1" not in rest  # the script's body only, no second answer
            assert 2.8 <= kept_until - answered <= 4.0, kept_until - answered
            for client in (trickler, idle, keeper):
                client.close()
            deadline = time.monotonic() + 2
            while caps.open() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert caps.open() == 0

    asyncio.run(scenario())


def test_addresses_are_counted_by_whom_they_belong_to() -> None:
    """In: IPv4, IPv4-mapped IPv6, two IPv6 addresses in one /64 and one in another, and a
    scoped link-local address; open-file limits of 1024, 256, 100 000 and unknown.
    Out: IPv4 counts as itself (mapped too); an IPv6 address counts as its /64 (one
    subscriber's whole prefix); the cap in all is a quarter of the limit, 64 to 1024."""
    assert address_key("203.0.113.7") == "203.0.113.7"
    assert address_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("fe80::1%eth0") == "fe80::/64"
    assert [total_for_open_files(n) for n in (1024, 256, 100_000, None)] == [256, 64, 1024, 1024]


STARVED_CHILD = """
import asyncio, json, resource, sys, threading, time
from pathlib import Path
import av
from app.callers.gateway.desk import CallerDesk
from app.callers.gateway.server import Gateway
from app.config import GatewaySettings
from app.database import open_database
from app.feeds.service import FeedService
from app.tls import server_ssl_context
from media.recording.recorder import Recorder

folder, drone, port, limit = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
resource.setrlimit(resource.RLIMIT_NOFILE, (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
recorder = Recorder(folder / "rec", "DRONE", segment_s=2.0)
stop = threading.Event()

def record():  # the drone file, looped at 4x real time, as a live feed's packets
    container = av.open(drone)  # open while its packets are in use
    streams = [*container.streams.video, *container.streams.audio, *container.streams.data]
    packets = [p for p in container.demux(streams) if p.size]
    recorder.begin(streams)
    shift = 0
    while not stop.is_set():
        for p in packets:
            if stop.is_set():
                break
            step = round(12 / p.time_base) if shift else 0
            p.pts += step
            p.dts += step
            recorder.put(p)
            time.sleep(0.25 / 30)
        shift += 1

async def main():
    db = open_database(folder / "vigil.db")
    settings = GatewaySettings(host="127.0.0.1", port=port, public_url=f"https://127.0.0.1:{port}")
    desk = CallerDesk(db, settings, FeedService())
    context, info = server_ssl_context(folder / "certs", ["127.0.0.1"])
    gateway = Gateway(desk)
    await gateway.start("127.0.0.1", port, context)
    thread = threading.Thread(target=record, daemon=True)
    thread.start()
    print("READY", info.path, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    stop.set(); thread.join()
    recorder.end(); recorder.stop()
    s = recorder.stats()
    print(json.dumps({"connections": gateway.connections(), "segments": s.segments_closed,
                      "interruptions": s.interruptions, "error": s.last_error}), flush=True)
    await gateway.close()

asyncio.run(main())
"""


def test_a_thousand_slow_connections_leave_recording_alone(short_tmp: Path) -> None:
    """In: a child process with a soft open-file limit of 256 runs the real gateway with its
    default caps (32 per address; a quarter of 256, 64, in all) and a recorder taking a
    drone's packets at 4x real time; 1,000 TLS clients from 127.0.0.2 connect and send a
    WHIP offer's head and a few bytes of its 60,000-byte body, then a phone from 127.0.0.1
    asks for the caller script.
    Out: at most 32 of the slow clients get in (the rest are closed at once), the gateway
    never has more than 64 open; the phone gets 200; the recorder is never interrupted
    (no "Too many open files") and closes segments; the child's log (stderr: warnings)
    holds no traceback (clients vanishing mid-body are refusals, not bugs)."""
    root = Path(__file__).resolve().parents[4]
    drone = encode_ts(short_tmp / "drone.ts", 12.0)
    port = free_port()
    stderr = (short_tmp / "stderr.txt").open("wb")  # a file: a full pipe would block it
    child = subprocess.Popen(
        [sys.executable, "-c", STARVED_CHILD, str(short_tmp), str(drone), str(port), "256"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )
    try:
        assert child.stdout is not None
        assert child.stdin is not None
        ready = child.stdout.readline().decode().split()
        assert ready[:1] == ["READY"], ready
        trust = ssl.create_default_context(cafile=ready[1])
        served = Served(None, port, trust)  # type: ignore[arg-type]

        async def attack() -> tuple[int, bytes]:
            clients = []
            for _ in range(1000):
                client = await SlowClient.connect(served, HOSTILE)
                if client is not None:
                    await client.send(slow_offer())
                    clients.append(client)
            phone = await SlowClient.connect(served, LOOPBACK)
            assert phone is not None, (len(clients), child.poll())
            await phone.send(
                f"GET /caller/caller.js HTTP/1.1\r\nHost: {LOOPBACK}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            data, _ = await phone.answer(10)
            for client in clients:
                client.close()
            return len(clients), data

        admitted, answer = asyncio.run(attack())
        child.stdin.write(b"report\n")
        child.stdin.flush()
        report = json.loads(child.stdout.readline())
    finally:
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        stderr.close()
    log = (short_tmp / "stderr.txt").read_text()
    assert admitted <= 32
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert report["connections"]["at_most"] == 64
    assert report["connections"]["most_open"] <= 64
    assert report["connections"]["refused"] >= 1000 - 32
    assert (report["interruptions"], report["error"]) == (0, None)
    assert report["segments"] >= 1
    assert "Traceback" not in log

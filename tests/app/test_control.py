"""The control socket answers one JSON request per line, is private to its owner, tells its
handler who is asking (as the kernel says), and says clearly when no instance is there."""

import asyncio
import json
import os
import pwd
import socket
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from app.control import ControlServer, Handler, NoInstanceError, request
from app.paths import BaseDir


async def echo(req: dict[str, Any], peer: str) -> dict[str, Any]:
    return {"echo": req, "feeds": [], "peer": peer}


def serve_in_thread(
    path: Path, handler: Handler = echo
) -> tuple[asyncio.AbstractEventLoop, ControlServer, threading.Thread]:
    loop = asyncio.new_event_loop()
    server = ControlServer(path, handler)
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(5)
    return loop, server, thread


def stop(loop: asyncio.AbstractEventLoop, server: ControlServer, thread: threading.Thread) -> None:
    asyncio.run_coroutine_threadsafe(server.close(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_request_and_answer_over_a_private_socket(short_tmp: Path) -> None:
    base = BaseDir(short_tmp / "base").ensure()
    loop, server, thread = serve_in_thread(base.control_socket)
    try:
        answer = request(base.control_socket, {"cmd": "status"})
        assert (answer["echo"], answer["feeds"]) == ({"cmd": "status"}, [])
        assert stat.S_IMODE(os.stat(base.control_socket).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(base.run_dir).st_mode) == 0o700
    finally:
        stop(loop, server, thread)
    assert not base.control_socket.exists(), "the socket is removed on close"


def test_garbage_request_gets_an_error_and_the_server_lives_on(short_tmp: Path) -> None:
    base = BaseDir(short_tmp / "base").ensure()
    loop, server, thread = serve_in_thread(base.control_socket)
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(base.control_socket))
            sock.sendall(b"this is not json\n")
            answer = json.loads(sock.makefile().readline())
        assert "error" in answer
        assert request(base.control_socket, {"cmd": "status"})["feeds"] == []
    finally:
        stop(loop, server, thread)


def test_no_instance_is_reported(short_tmp: Path) -> None:
    base = BaseDir(short_tmp / "base").ensure()
    with pytest.raises(NoInstanceError):
        request(base.control_socket, {"cmd": "status"})


def test_a_stale_socket_from_a_dead_instance_is_replaced(short_tmp: Path) -> None:
    base = BaseDir(short_tmp / "base").ensure()
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(base.control_socket))
    dead.close()  # file left behind, nobody listening
    loop, server, thread = serve_in_thread(base.control_socket)
    try:
        assert request(base.control_socket, {"cmd": "status"})["feeds"] == []
    finally:
        stop(loop, server, thread)


def test_the_handler_is_told_the_peer_as_the_kernel_says(short_tmp: Path) -> None:
    """In: this test process connects; its request claims to be someone else. Out: the
    handler's peer is this process's own user name (from its uid, SO_PEERCRED), not the
    claim."""
    base = BaseDir(short_tmp / "base").ensure()
    loop, server, thread = serve_in_thread(base.control_socket)
    try:
        answer = request(base.control_socket, {"cmd": "status", "user": "somebody-else"})
    finally:
        stop(loop, server, thread)
    assert answer["peer"] == pwd.getpwuid(os.getuid()).pw_name


def test_a_handler_raising_value_error_answers_an_error(short_tmp: Path) -> None:
    """In: a handler that raises ValueError. Out: {"error": its message}; the next request
    is still answered."""
    calls: list[str] = []

    async def picky(req: dict[str, Any], peer: str) -> dict[str, Any]:
        calls.append(peer)
        if req.get("cmd") != "status":
            raise ValueError(f"unknown command {req.get('cmd')!r}")
        return {"ok": True}

    base = BaseDir(short_tmp / "base").ensure()
    loop, server, thread = serve_in_thread(base.control_socket, picky)
    try:
        assert request(base.control_socket, {"cmd": "nonsense"}) == {
            "error": "unknown command 'nonsense'"
        }
        assert request(base.control_socket, {"cmd": "status"}) == {"ok": True}
    finally:
        stop(loop, server, thread)
    assert len(calls) == 2

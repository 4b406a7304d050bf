"""The control socket: how `vigil status`, `vigil wall` and later commands talk to a running
instance.

A Unix socket under the base dir, in a folder only the owner can enter and itself mode
0600. One JSON request per line, one JSON answer per line. The server runs on the
instance's asyncio loop (the Qt loop, through qasync); the client is plain blocking code.

One instance per base dir: `InstanceLock` is an exclusive lock on `run/instance.lock`,
taken before an instance opens anything and held until its process ends (the kernel lets go
however it ends, kill -9 included, so a stale lock never blocks a restart). A second `vigil
run` on the same base dir finds it held and says so in one line, rather than recovering,
recording or writing the wall's layout over the first, or failing with a traceback.

The handler is told who is asking: the user name of the process at the other end, as the
kernel says it (SO_PEERCRED), never as the request claims. A permission check
(app/access/control_desk.py) needs a name nobody can forge; the file mode keeps strangers out,
but root, or the owner's own account used by someone else, still get through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import pwd
import socket
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], str], Awaitable[dict[str, Any]]]
"""`await handler(request, peer_user)`: the answer to one request from the named user."""
MAX_REQUEST = 64 * 1024


class NoInstanceError(Exception):
    """No instance answers on this base dir's control socket."""


class InstanceRunningError(Exception):
    """Another process holds this base dir; the message names the base dir and its pid."""


class InstanceLock:
    """The one running instance of a base dir: an exclusive `flock` on `instance.lock` in its
    run folder (beside the control socket), held open for the life of the process. `take` it
    before anything is opened; `release` when done (the process's end releases it too). A
    snapshot, which has no socket, takes it alike."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def take(cls, run_dir: Path) -> InstanceLock:
        """The lock of the base dir whose run folder is `run_dir`, or InstanceRunningError
        when another process holds it."""
        path = run_dir / "instance.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise InstanceRunningError(_running_text(run_dir, holder)) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)  # for the second one's message
        return cls(path, fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = None


def _running_text(run_dir: Path, pid: str) -> str:
    root = run_dir.parent
    return f"another vigil is running with base dir {root}" + (f" (pid {pid})" if pid else "")


class ControlServer:
    def __init__(self, path: Path, handler: Handler, *, lock: InstanceLock | None = None) -> None:
        """`lock`: the base dir's InstanceLock when the caller took it already (before
        opening the database); otherwise `start` takes it, and `close` lets it go."""
        self.path = path
        self._handler = handler
        self._server: asyncio.Server | None = None
        self._lock = lock

    async def start(self) -> None:
        """Listen; InstanceRunningError when another instance holds the base dir."""
        if self._lock is None:
            self._lock = InstanceLock.take(self.path.parent)
        if self.path.exists():
            if _answers(self.path):  # an instance of a Vigil that took no lock
                self._lock.release()
                self._lock = None
                raise InstanceRunningError(_running_text(self.path.parent, ""))
            self.path.unlink()  # left behind by an instance that died
        old_umask = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(
                self._serve, path=str(self.path), limit=MAX_REQUEST
            )
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)
        log.info("control socket listening at %s", self.path)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), timeout=5)
            try:
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise ValueError("request must be a JSON object")
                peer = await asyncio.to_thread(user_name, peer_uid(writer))
                answer = await self._handler(request, peer)
            except (ValueError, KeyError) as exc:
                answer = {"error": str(exc)}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.LimitOverrunError) as exc:
            log.warning("control socket: dropped a client (%s)", type(exc).__name__)
        finally:
            writer.close()


def peer_uid(writer: asyncio.StreamWriter) -> int:
    """The uid of the process at the other end of an accepted Unix socket."""
    sock = writer.get_extra_info("socket")
    if sock is not None and hasattr(socket, "SO_PEERCRED"):
        # struct ucred: pid, uid, gid of the peer when it connected, as the kernel
        # recorded them (pid_t is signed, uid_t and gid_t are not).
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("iII", creds)
        return int(uid)
    # Where the kernel cannot say (no SO_PEERCRED: macOS), the socket's 0600 mode means
    # only its owner (or root) could have connected: the owner is the best answer left.
    return os.getuid()


def user_name(uid: int) -> str:
    """The user name of `uid`. Run off the loop: with a directory service (LDAP, sssd)
    behind it, the lookup can wait on the network, and the loop paints the wall."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        # A uid with no name (some containers): written as app/evidence/custody.py's os_user()
        # writes it, so the socket and the command line name the same person alike.
        return f"uid {uid}"


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        try:
            sock.connect(str(path))
        except OSError:
            return False
        return True


def request(path: Path, message: dict[str, Any], timeout_s: float = 5.0) -> dict[str, Any]:
    """Send one request to the instance at `path` and return its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise NoInstanceError(str(path)) from exc
        sock.sendall(json.dumps(message).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    answer = json.loads(data)
    if not isinstance(answer, dict):
        raise ValueError("the instance answered with something other than a JSON object")
    return answer

"""Janus as the room server's supervised child: configured under the base dir, started,
watched, and started again when it dies.

The room server owns the one Janus it runs (as Frigate owns go2rtc): it writes Janus's
config (app/room/janus_config.py), starts `janus` with it, waits until Janus answers its
`info` request, and watches the process. If Janus dies, it is started again after a short
backoff and everyone who asked is told (`restarted`), so what was live is published again.
Janus gets SIGTERM if the server itself dies, so a killed server never leaves a Janus holding
its ports. Janus's own log goes to `<base>/logs/janus.log`. No Qt here.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import shutil
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from app.room.janus_api import JanusError, JanusSession
from app.room.janus_config import JanusFiles, JanusSettings, write_config

log = logging.getLogger(__name__)

READY_S = 15.0
"""How long a starting Janus may take to answer `info` before it is called failed."""
RESTART_FIRST_S, RESTART_LIMIT_S = 0.5, 5.0

try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
except OSError:
    _LIBC = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child between fork and exec: SIGTERM when the room server goes (Linux). libc is
    loaded beforehand: the child of a threaded process must not dlopen."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class JanusStartError(Exception):
    """Janus did not start; the message carries the end of its log."""


class JanusProcess:
    """The managed Janus: `await start()`, then `files` says where its API is and its secret."""

    def __init__(
        self, folder: Path, settings: JanusSettings, log_file: Path, *, program: str = "janus"
    ) -> None:
        self.folder = folder
        self.settings = settings
        self.log_file = log_file
        self.program = program
        self.files: JanusFiles | None = None
        self.restarted: list[Callable[[], Awaitable[None]]] = []
        """Called (awaited) after Janus has been started again, to republish what was live."""
        self.restarts = 0
        self.last_exit: int | None = None
        self.started_at: float | None = None
        self.version: str | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process and self._process.returncode is None else None

    async def start(self) -> None:
        """Configure and start Janus, and keep it running until `stop()`."""
        self._stopping = False
        await self._spawn()
        self._watch = asyncio.create_task(self._supervise(), name="janus-supervisor")

    async def stop(self) -> None:
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        await self._end()

    def status(self) -> dict[str, Any]:
        return {
            "managed": True,
            "running": self.pid is not None,
            "pid": self.pid,
            "version": self.version,
            "api": self.files.api_url if self.files else None,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
            "up_s": round(time.monotonic() - self.started_at, 1) if self.started_at else None,
            "log": str(self.log_file),
        }

    # -- inside -----------------------------------------------------------------------------

    async def _spawn(self) -> None:
        path = shutil.which(self.program)
        if path is None:
            raise JanusStartError(
                f"{self.program} not found: apt-get install janus (Debian's package), "
                "or name a Janus to use in [sfu] janus"
            )
        self.files = write_config(self.folder, self.settings)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._process = await asyncio.create_subprocess_exec(
            path,
            "--config",
            str(self.files.config),
            "--configs-folder",
            str(self.folder),
            "--log-file",
            str(self.log_file),
            "--disable-stdout",
            "--disable-colors",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        try:
            await self._ready()
        except JanusStartError:
            await self._end()
            raise
        self.started_at = time.monotonic()
        log.info("Janus %s running, pid %s, API %s", self.version, self.pid, self.files.api_url)

    async def _ready(self) -> None:
        """Wait until Janus answers `info` with our secret; JanusStartError if it dies or
        stays silent."""
        assert self._process is not None
        assert self.files is not None
        deadline = time.monotonic() + READY_S
        probe = JanusSession(self.files.api_url, self.files.api_secret, timeout_s=2.0)
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self._process.returncode is not None:
                raise JanusStartError(
                    f"Janus exited with status {self._process.returncode} as it started: "
                    f"{self._log_tail()}"
                )
            try:
                info = await probe.info()
            except (TimeoutError, JanusError, OSError, ValueError) as exc:
                last = str(exc) or type(exc).__name__
                await asyncio.sleep(0.1)
                continue
            self.version = str(info.get("version_string", info.get("version", "?")))
            return
        raise JanusStartError(
            f"Janus did not answer within {READY_S:g} s ({last}): {self._log_tail()}"
        )

    async def _supervise(self) -> None:
        delay = RESTART_FIRST_S
        while True:
            assert self._process is not None
            code = await self._process.wait()
            if self._stopping:
                return
            self.last_exit = code
            self.restarts += 1
            log.warning("Janus exited (status %s); starting it again in %.1f s", code, delay)
            await asyncio.sleep(delay)
            try:
                await self._spawn()
            except JanusStartError as exc:
                log.error("Janus would not start again: %s", exc)
                delay = min(delay * 2, RESTART_LIMIT_S)
                continue
            delay = RESTART_FIRST_S
            for callback in list(self.restarted):
                try:
                    await callback()
                except Exception:
                    log.exception("after Janus restarted, %s failed", callback)

    async def _end(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 5.0)
        except TimeoutError:
            log.warning("Janus did not stop on SIGTERM; killing it")
            process.kill()
            await process.wait()

    def _log_tail(self, lines: int = 6) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(line.strip() for line in text.splitlines()[-lines:] if line.strip())

"""What `vigil gateway` and `vigil server` share: a headless process that answers `vigil
status` on its control socket, says once on stdout that it is ready, and stops cleanly on
SIGTERM or Ctrl+C.

The base dir's lock is taken by the caller before anything opens (one instance per base
dir); this takes it over for the control socket.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from app.access import Command, ControlDesk, Person
from app.control import ControlServer, InstanceLock
from app.paths import BaseDir

log = logging.getLogger(__name__)


class CannotStartError(Exception):
    """The service cannot start; the message says why, for the person who started it."""


def serve_headless(
    base: BaseDir,
    lock: InstanceLock,
    *,
    name: str,
    status: Callable[[], dict[str, Any]],
    start: Callable[[], Awaitable[list[str]]],
    close: Callable[[], Awaitable[None]],
) -> int:
    """Run `start` (the lines it returns are printed once it is ready), answer `vigil
    status` with `status`, and `close` on a signal; 1 when `start` raises CannotStartError."""

    def answer(request: dict[str, Any], person: Person) -> dict[str, Any]:
        return status()

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        desk = ControlDesk(base.database)
        desk.add("status", Command(None, "vigil status", answer))
        control = ControlServer(base.control_socket, desk.handle, lock=lock)
        await control.start()
        try:
            try:
                ready = await start()
            except CannotStartError as exc:
                print(f"vigil: {exc}", file=sys.stderr)
                return 1
            for line in ready:
                print(line, flush=True)
            await stop.wait()
            return 0
        finally:
            await close()
            await control.close()
            log.info("%s stopped", name)

    return asyncio.run(main())

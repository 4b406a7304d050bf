"""`vigil server`: the control room's server, headless (app/room/server.py composes it).

Prints `room server on https://HOST:PORT` and `fingerprint SHA256:…` once ready (a desk's
[room] names both), answers `vigil status` on its base dir, and stops cleanly on SIGTERM or
Ctrl+C. A server that cannot start (Janus will not run, the address is taken) says why and
exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Any

from app import config as config_module
from app.access import Command, ControlDesk, Person
from app.config import Config
from app.control import ControlServer, InstanceLock
from app.logs import setup_logging
from app.paths import BaseDir

log = logging.getLogger(__name__)


def server_command(args: argparse.Namespace) -> int:
    from app.room import JanusError, JanusStartError, RoomServer
    from app.tls import TlsError

    base = BaseDir.resolve(args.base_dir).ensure()
    setup_logging(base, verbose=args.verbose)
    lock = InstanceLock.take(base.run_dir)  # before anything opens: one instance per base dir
    config = config_module.read(args.config) or Config()
    server = RoomServer(config, base)

    def status(request: dict[str, Any], person: Person) -> dict[str, Any]:
        return server.status()

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        desk = ControlDesk(base.database)
        desk.add("status", Command(None, "vigil status", status))
        control = ControlServer(base.control_socket, desk.handle, lock=lock)
        await control.start()
        try:
            try:
                await server.start()
            except (JanusStartError, JanusError, TlsError, OSError) as exc:
                print(f"vigil: the room server cannot start: {exc}", file=sys.stderr)
                return 1
            print(f"room server on {server.address}", flush=True)
            print(f"fingerprint {server.fingerprint}", flush=True)
            await stop.wait()
            return 0
        finally:
            await server.close()
            await control.close()
            log.info("room server stopped")

    return asyncio.run(main())

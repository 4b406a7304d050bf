"""`vigil server`: the control room's server, headless (app/room/server.py composes it).

Prints `room server on https://HOST:PORT` and `fingerprint SHA256:…` once ready (a desk's
[room] names both), answers `vigil status` on its base dir, and stops cleanly on SIGTERM or
Ctrl+C. A server that cannot start (Janus will not run, the address is taken) says why and
exits 1.
"""

from __future__ import annotations

import argparse
import logging

from app import config as config_module
from app.commands.headless import CannotStartError, serve_headless
from app.config import Config
from app.control import InstanceLock
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

    async def start() -> list[str]:
        try:
            await server.start()
        except (JanusStartError, JanusError, TlsError, OSError) as exc:
            raise CannotStartError(f"the room server cannot start: {exc}") from exc
        return [f"room server on {server.address}", f"fingerprint {server.fingerprint}"]

    return serve_headless(
        base, lock, name="room server", status=server.status, start=start, close=server.close
    )

"""`vigil gateway`: the caller gateway alone, with no wall (a server in the control room's
network, or a test). Callers' feeds are received and counted, and `vigil status` shows
them and their positions, as it does for a running wall.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from typing import Any

from app import config as config_module
from app.callers.gateway.service import GatewayService
from app.commands.headless import CannotStartError, serve_headless
from app.config import GatewaySettings, SmsSettings
from app.control import InstanceLock
from app.feeds import FeedService, feed_status
from app.logs import setup_logging
from app.paths import BaseDir

log = logging.getLogger(__name__)


def gateway_command(args: argparse.Namespace) -> int:
    base = BaseDir.resolve(args.base_dir).ensure()
    setup_logging(base, verbose=args.verbose)
    lock = InstanceLock.take(base.run_dir)  # before anything opens: one instance per base dir
    config = config_module.read(args.config)
    settings = config.gateway if config and config.gateway else GatewaySettings()
    feeds = FeedService()
    service = GatewayService(settings, config.sms if config else SmsSettings(), base, feeds)
    started_at = time.time()

    def status() -> dict[str, Any]:
        now = time.monotonic()
        return {
            "pid": os.getpid(),
            "started_at": started_at,
            "base_dir": str(base.root),
            "config": str(config.path) if config and config.path else None,
            "demo": False,
            "feeds": [feed_status(feed, now) for feed in feeds.feeds],
            "gateway": service.status(),
        }

    async def start() -> list[str]:
        feeds.start()
        if not await service.start():
            raise CannotStartError(service.error or "the caller gateway cannot start")
        return [f"caller gateway on https://{settings.host}:{service.gateway.port}"]

    async def close() -> None:
        await service.close()
        feeds.stop()

    return serve_headless(base, lock, name="gateway", status=status, start=start, close=close)

"""Starts the demo sender in its own process and describes the feeds it sends.

The sender (media/demo.py) encodes nine live streams and sends them to UDP ports on
127.0.0.1 that this side chose; the wall receives them like any other udp:// feed. The body
cams and drones also send a sub-stream, to a port of its own, named as their
`substream_url`, so the demo shows small tiles from it (SUB) and a spotlit one from the main.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys

from media.demo import DEMO_FEEDS
from media.live import FeedSpec

log = logging.getLogger(__name__)


def free_udp_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def vigil_command() -> list[str]:
    """How to start this program again (a frozen build is its own interpreter)."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "app"]


class DemoSender:
    def __init__(self) -> None:
        ports = iter(free_udp_ports(len(DEMO_FEEDS) + sum(f.has_substream for f in DEMO_FEEDS)))
        self.ports = [next(ports) for _ in DEMO_FEEDS]
        """Each feed's main stream's port."""
        self.sub_ports: list[int | None] = [
            next(ports) if feed.has_substream else None for feed in DEMO_FEEDS
        ]
        self._process: subprocess.Popen[bytes] | None = None

    def specs(self) -> list[FeedSpec]:
        return [
            FeedSpec(
                name=feed.name,
                kind=feed.kind,
                url=f"udp://127.0.0.1:{port}",
                substream_url=f"udp://127.0.0.1:{sub}" if sub is not None else None,
            )
            for feed, port, sub in zip(DEMO_FEEDS, self.ports, self.sub_ports, strict=True)
        ]

    def start(self) -> None:
        ports = ",".join(
            f"{port}/{sub}" if sub is not None else str(port)
            for port, sub in zip(self.ports, self.sub_ports, strict=True)
        )
        command = [*vigil_command(), "_demo-sender", "--ports", ports]
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        log.info("demo sender started (pid %d) on ports %s", self._process.pid, self.ports)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self._process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=3)
        self._process = None

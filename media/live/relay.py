"""What a feed is read through when FFmpeg cannot open its URL itself.

A relay brings a feed's media to something PyAV can open on this machine: SRT through
srt-live-transmit to a loopback UDP port (`SrtRelay`), a room server's restream to a desk
through a pinned TLS connection (app/room), a caller forwarded by Janus as RTP described by
an SDP file. The feed's source opens `local_url` with `open_options` and, when a read
fails, lets the relay say why in words the operator understands (`explain`).
"""

from __future__ import annotations

import socket
from typing import Protocol

LOOPBACK = "127.0.0.1"


class Relay(Protocol):
    fatal: str | None
    """Why this relay can never work (bad settings); the feed is FAILED with it."""

    @property
    def local_url(self) -> str: ...

    def open_options(self) -> dict[str, str] | None:
        """FFmpeg's options for `local_url`, or None for the usual ones for its scheme."""
        ...

    def start(self) -> None: ...

    def stop(self, timeout_s: float = ...) -> None: ...

    def explain(self, error: str) -> str:
        """The reason to show for a failed read, knowing what the relay saw."""
        ...


def free_udp_port() -> int:
    """A UDP port on loopback nobody holds now (the kernel's choice, released again), for
    a relay to send its MPEG-TS to."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])

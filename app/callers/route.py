"""Where a caller's video goes when it is not received by the gateway itself.

The caller desk (app/callers/gateway/desk.py) checks a link's token, device and consent;
a `CallerRoute` then takes the phone's WHIP offer somewhere else: on a room server, to the
room's Janus, which answers the phone and forwards its video (app/room/callers.py). These
are the shapes the desk needs of it; nothing here imports aiortc.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from media.live import Feed


class CannotCarryError(Exception):
    """The route cannot take this phone's video (its codec); the desk receives it itself."""


class MediaSession(Protocol):
    """A phone's media session, wherever it ends: its id (the WHIP resource) and codec."""

    @property
    def id(self) -> str: ...

    @property
    def codec(self) -> str | None: ...

    async def close(self) -> None: ...


class RoutedSource(Protocol):
    """A caller feed's source when its video is carried by a route."""

    def start(self) -> None: ...

    def stop(self, timeout_s: float = ...) -> None: ...

    def detach(self) -> None: ...


class CallerRoute(Protocol):
    """Somewhere else that takes a caller's video (the room's SFU): the desk checks the link
    and the consent, the route answers the phone's offer and records what arrives."""

    def carries(self, offer_sdp: str) -> str | None:
        """None when the route can take this (well-formed) offer; else why not, and the
        caller is received here instead."""
        ...

    def source(self, feed: Feed) -> RoutedSource:
        """The feed's source while the caller goes by the route (it reads nothing until
        `publish`)."""
        ...

    async def publish(
        self, source: RoutedSource, display: str, offer_sdp: str, on_state: Callable[[str], None]
    ) -> tuple[MediaSession, str]:
        """Hand the offer on; the session and its SDP answer. RefusedError (503 when the
        route is down) when it cannot; CannotCarryError when it could not use what the phone
        offered after all. `on_state` hears "connected", "disconnected", "failed"
        and "closed" as the phone's connection changes."""
        ...

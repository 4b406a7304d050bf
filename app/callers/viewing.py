"""What the gateway needs of whoever shows feeds to viewer links (`/v/{token}`).

A viewer link names feeds of the room (app/callers/links.py, LinkKind.VIEWER); its page
watches them live from the room's Janus. The gateway (app/callers/gateway/server.py) checks
each request's shape and rate and hands it to a `ViewerDesk`; a room server provides one
(app/room/viewers.py), since only it has Janus, the feeds and the custody log. A gateway
without one (a standalone `vigil run` or `vigil gateway`) knows no viewer link: 404.
These are the shapes; nothing here imports aiortc or Janus.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from app.callers.links import CallerLink


@dataclass(frozen=True)
class ViewerPage:
    """What the viewer's page starts from."""

    link: CallerLink
    device: str | None
    """A new device secret, when this browser is the first to open the link."""
    feeds: list[dict[str, Any]]
    """Each named feed as `ViewerDesk.status` gives it."""
    reasons: tuple[str, ...]
    """The reasons a body cam may be opened for, as at a desk (app/access/bodycam.py)."""
    other_reason: str
    """The one of `reasons` that needs the viewer's own words."""


class ViewerDesk(Protocol):
    """The viewer links' side of a room: each method checks the token and the device
    (LinkError: 404 or 410) before anything else, and refuses with RefusedError."""

    def open_page(self, token: str, device: str | None) -> ViewerPage: ...

    async def status(self, token: str, device: str | None) -> dict[str, Any]:
        """`{"feeds": [...]}`, each feed `{index, name, kind, state, said, watchable,
        shuttered, chip}`: state one of live, stalled, lost, starting, ended, not available,
        and `said` the same in plain words."""
        ...

    async def watch(
        self, token: str, device: str | None, feed: int, remote: str | None
    ) -> tuple[str, str]:
        """Subscribe to the link's `feed` (an index into its feeds): the viewing's id and
        Janus's SDP offer, to be answered with `answer`."""
        ...

    async def answer(self, token: str, device: str | None, viewing: str, sdp: str) -> None: ...

    async def stop(self, token: str, device: str | None, viewing: str) -> None: ...

    async def state_reason(
        self,
        token: str,
        device: str | None,
        *,
        feed: int,
        reason: str,
        detail: str,
        remote: str | None,
    ) -> str:
        """Open a shuttered body cam for this link with a stated reason; the chip to show.
        RefusedError 422 with the words to show when the statement is not acceptable."""
        ...

    def start(self) -> None: ...

    async def close(self) -> None: ...

"""Viewer links on the room server: named feeds watched live in a browser, from Janus.

A viewer link (app/callers/links.py, LinkKind.VIEWER) names feeds of the room. Its page
(resources/viewer/, served by the gateway) asks for each feed it shows; `RoomViewers`, the
gateway's `ViewerDesk` (app/callers/viewing.py), subscribes to that feed's publisher in the
room (looked up by its display name, which is the feed's name: callers and officers today,
the server's pulled feeds once they are published too) and hands back Janus's offer; the
page answers it, ICE gathered whole, and the media flows from Janus to the browser, never
through Vigil.

- Every viewing is in the custody log: `view_opened` when the page's answer is taken,
  `view_closed` when it ends (the viewer stops or leaves, the connection is lost, the link
  is revoked or runs out, the server stops), each naming the link, the feed, the viewer's
  address and, on closing, from when to when and the seconds between.
- A body cam stays shuttered for a link until the viewer states a reason from the desk's
  list (app/access/bodycam.py); the reason is logged with each of its viewings.
- A revoked or expired link is found within `WATCH_INTERVAL_S`: its Janus subscribers
  leave, so even a page that ignored the 410 it now gets would receive nothing more.

No Qt here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from app.access import REASON_KEYS, ReasonError, stated_reason
from app.callers import (
    CallerLink,
    GoneLinkError,
    LinkBook,
    LinkKind,
    LinkState,
    RefusedError,
    ViewerPage,
)
from app.evidence import CustodyAction, CustodyLog, utc_text
from app.room.janus_api import JanusError
from app.room.videoroom import Room, Subscriber
from media.live import Feed, FeedKind, FeedState

log = logging.getLogger(__name__)

VIEWER_LINKS = frozenset({LinkKind.VIEWER})
WATCH_INTERVAL_S = 0.5
"""How often the links being watched are read again, for a revocation or an expiry."""
PUBLISHERS_FRESH_S = 1.0
"""Janus's list of publishers is asked again when older than this."""
UNANSWERED_S = 30.0
"""A subscription whose page never answers is let go after this."""
WHERE = "viewer link"
_JANUS_DOWN = (JanusError, TimeoutError, aiohttp.ClientError, OSError)
_ENDED = frozenset({LinkState.ENDED, LinkState.REVOKED, LinkState.DECLINED})

_STATES = {
    FeedState.CONNECTING: ("starting", "Starting…"),
    FeedState.LIVE: ("live", "Live"),
    FeedState.STALLED: ("stalled", "Stalled: no new picture"),
    FeedState.RECONNECTING: ("lost", "Lost: the control room is reconnecting"),
    FeedState.FAILED: ("lost", "Lost: the control room cannot reach it"),
    FeedState.ENDED: ("ended", "Ended"),
}
NOT_AVAILABLE = ("not available", "Not available to watch yet")


@dataclass
class _Viewing:
    """One feed watched by one link's page: its Janus subscriber, and when it opened."""

    id: str
    link: CallerLink
    feed: str
    kind: str
    remote: str | None
    subscriber: Subscriber
    made_at: float = field(default_factory=time.monotonic)
    opened_at: float | None = None
    """Unix time the page's answer was taken (the viewing's start in the custody log)."""
    reason: dict[str, str] = field(default_factory=dict)
    follow: asyncio.Task[None] | None = None


def check_answer(sdp: str) -> None:
    """A browser's SDP answer, checked enough that nothing malformed reaches Janus: 400."""
    lines = [line for line in sdp.replace("\r\n", "\n").split("\n") if line]
    if not lines or lines[0] != "v=0":
        raise RefusedError(400, "the answer is not SDP: it does not begin v=0")
    if not any(line.startswith("m=") for line in lines):
        raise RefusedError(400, "the answer is not SDP: it has no m= line")
    for needed in ("a=ice-ufrag:", "a=fingerprint:"):
        if not any(line.startswith(needed) for line in lines):
            raise RefusedError(400, f"the answer has no {needed[2:-1]}")


class RoomViewers:
    """The room's `ViewerDesk`: `room()` is the room open now (None while Janus is down),
    `feeds()` the server's feeds, `custody` the log every viewing goes in."""

    def __init__(
        self,
        links: LinkBook,
        room: Callable[[], Room | None],
        feeds: Callable[[], Iterable[Feed]],
        custody: CustodyLog,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.links = links
        self._room = room
        self._feeds = feeds
        self._custody = custody
        self._clock = clock
        self._viewings: dict[str, _Viewing] = {}
        self._reasons: dict[tuple[str, str], dict[str, str]] = {}
        """A body cam's stated reason, by (link id, feed name): it is open for that link."""
        self._chips: dict[tuple[str, str], str] = {}
        self._publishers: dict[str, int] = {}
        self._publishers_at = -PUBLISHERS_FRESH_S
        self._watch: asyncio.Task[None] | None = None

    # -- the page's side ----------------------------------------------------------------------

    def open_page(self, token: str, device: str | None) -> ViewerPage:
        link, fresh = self.links.open(token, device, VIEWER_LINKS)
        log.info("viewer link %s opened (%d feeds)", link.id, len(link.feeds))
        return ViewerPage(
            link,
            fresh,
            self._shown(link),
            tuple(REASON_KEYS.values()),
            REASON_KEYS["other"],
        )

    async def status(self, token: str, device: str | None) -> dict[str, Any]:
        link = await self._check(token, device)
        await self._refresh_publishers()
        return {"feeds": self._shown(link)}

    async def watch(
        self, token: str, device: str | None, feed: int, remote: str | None
    ) -> tuple[str, str]:
        link = await self._check(token, device)
        name = self._feed_name(link, feed)
        kind = self._kind(name)
        if kind == FeedKind.BODYCAM.value and (link.id, name) not in self._reasons:
            raise RefusedError(403, "a body cam opens only once a reason is stated")
        room = self._room()
        if room is None:
            raise RefusedError(503, "the control room's media server is not available just now")
        await self._refresh_publishers(force=True)
        publisher = self._publishers.get(name)
        if publisher is None:
            raise RefusedError(409, f"{name} is not available to watch yet")
        for earlier in [
            v for v in self._viewings.values() if (v.link.id, v.feed) == (link.id, name)
        ]:
            await self._close(earlier, "watched again from the page")  # a reload, a retry
        try:
            subscriber = await room.subscribe(publisher)
        except _JANUS_DOWN as exc:
            log.warning("viewer link %s: subscribing to %s failed: %s", link.id, name, exc)
            raise RefusedError(
                503, "the control room's media server did not offer the feed"
            ) from None
        viewing = _Viewing(
            secrets.token_urlsafe(12),
            link,
            name,
            kind,
            remote,
            subscriber,
            reason=dict(self._reasons.get((link.id, name), {})),
        )
        self._viewings[viewing.id] = viewing
        return viewing.id, subscriber.offer_sdp

    async def answer(self, token: str, device: str | None, viewing: str, sdp: str) -> None:
        link = await self._check(token, device)
        check_answer(sdp)  # nothing malformed goes further, whatever the viewing
        found = self._mine(link, viewing)
        if found.opened_at is not None:
            raise RefusedError(409, "this viewing has been answered already")
        try:
            await found.subscriber.handle.request(
                {"request": "start"}, {"type": "answer", "sdp": sdp, "trickle": False}
            )
        except _JANUS_DOWN as exc:
            await self._close(found, "Janus refused the page's answer")
            raise RefusedError(400, f"the answer could not be used: {exc}") from None
        found.opened_at = self._clock()
        self._custody.append(
            CustodyAction.VIEW_OPENED,
            found.feed,
            {
                "where": WHERE,
                "link": link.id,
                "viewer": link.name,
                "kind": found.kind,
                "address": found.remote or "",
                "from": utc_text(found.opened_at),
                **({"incident": link.incident} if link.incident else {}),
                **found.reason,
            },
            actor=_actor(link),
        )
        found.follow = asyncio.get_running_loop().create_task(
            self._follow(found), name=f"viewing-{found.id}"
        )
        log.info("viewer link %s watches %s from %s", link.id, found.feed, found.remote)

    async def stop(self, token: str, device: str | None, viewing: str) -> None:
        link = await self._check(token, device)
        await self._close(self._mine(link, viewing), "stopped by the viewer")

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
        link = await self._check(token, device)
        name = self._feed_name(link, feed)
        if self._kind(name) != FeedKind.BODYCAM.value:
            raise RefusedError(409, f"{name} is not a body cam: it needs no reason")
        try:
            stated = stated_reason(reason, detail, link.incident or "none given")
        except ReasonError as exc:
            raise RefusedError(422, str(exc)) from None
        self._reasons[(link.id, name)] = stated.details()
        self._chips[(link.id, name)] = stated.chip
        log.info(
            "viewer link %s opened body cam %s from %s: %s", link.id, name, remote, stated.chip
        )
        return stated.chip

    # -- lifetime ----------------------------------------------------------------------------

    def start(self) -> None:
        self._watch = asyncio.get_running_loop().create_task(self._watch_links())

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        for viewing in list(self._viewings.values()):
            await self._close(viewing, "the room server stopped")

    def viewings(self) -> list[dict[str, Any]]:
        """What is being watched now, for status and tests."""
        return [
            {"id": v.id, "link": v.link.id, "feed": v.feed, "opened": v.opened_at is not None}
            for v in self._viewings.values()
        ]

    # -- inside ------------------------------------------------------------------------------

    async def _check(self, token: str, device: str | None) -> CallerLink:
        """The link for a request; one that has just become unusable has its viewings
        closed on the way."""
        try:
            return self.links.check(token, device, VIEWER_LINKS)
        except GoneLinkError as exc:
            # Not for "held by another device": that one's requests end nothing of the holder's.
            if exc.link_id is not None:
                link = self.links.get(exc.link_id)
                if link.state in _ENDED or self._clock() >= link.usable_until:
                    await self._close_link(link.id, link.end_reason or "the link expired")
            raise

    def _mine(self, link: CallerLink, viewing: str) -> _Viewing:
        found = self._viewings.get(viewing)
        if found is None or found.link.id != link.id:
            raise RefusedError(404, "no such viewing")
        return found

    @staticmethod
    def _feed_name(link: CallerLink, index: int) -> str:
        if not 0 <= index < len(link.feeds):
            raise RefusedError(404, f"the link has no feed {index}")
        return link.feeds[index]

    def _feed(self, name: str) -> Feed | None:
        return next((f for f in self._feeds() if f.name == name), None)

    def _kind(self, name: str) -> str:
        feed = self._feed(name)
        return feed.kind.value if feed is not None else ""

    def _shown(self, link: CallerLink) -> list[dict[str, Any]]:
        now = time.monotonic()
        shown = []
        for index, name in enumerate(link.feeds):
            feed = self._feed(name)
            published = name in self._publishers
            state, said = NOT_AVAILABLE
            if feed is not None:
                state, said = _STATES.get(feed.state(now), NOT_AVAILABLE)
                quiet = feed.quiet_s(now)
                if state == "stalled" and quiet is not None:
                    said = f"Stalled: no new picture for {quiet:.0f} s"
                if state in ("live", "stalled") and not published:
                    state, said = NOT_AVAILABLE
            elif published:
                state, said = "live", "Live"
            kind = feed.kind.value if feed is not None else ""
            shuttered = kind == FeedKind.BODYCAM.value and (link.id, name) not in self._reasons
            shown.append(
                {
                    "index": index,
                    "name": name,
                    "kind": kind,
                    "state": state,
                    "said": said,
                    "watchable": published and state in ("live", "stalled"),
                    "shuttered": shuttered,
                    "chip": self._chips.get((link.id, name)),
                }
            )
        return shown

    async def _refresh_publishers(self, *, force: bool = False) -> None:
        if not force and time.monotonic() - self._publishers_at < PUBLISHERS_FRESH_S:
            return
        room = self._room()
        self._publishers_at = time.monotonic()
        if room is None:
            self._publishers = {}
            return
        try:
            listed = await room.publishers()
        except _JANUS_DOWN as exc:
            log.debug("listing the room's publishers: %s", exc)
            self._publishers = {}
            return
        self._publishers = {
            str(p["display"]): int(p["id"]) for p in listed if p.get("display") and "id" in p
        }

    async def _follow(self, viewing: _Viewing) -> None:
        """Close the viewing when Janus says the browser's connection is gone, or Janus
        itself is (its session ended)."""
        handle = viewing.subscriber.handle
        lost = handle.session.closed
        while viewing.id in self._viewings:
            waits = {
                asyncio.ensure_future(handle.events.get()),
                asyncio.ensure_future(lost.wait()),
            }
            try:
                done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
            if lost.is_set():
                await self._close(viewing, "the room's media server went away")
                return
            for finished in done:
                event = finished.result() if not finished.cancelled() else None
                if isinstance(event, dict) and event.get("janus") == "hangup":
                    await self._close(viewing, f"connection ended ({event.get('reason')})")
                    return

    async def _close(self, viewing: _Viewing, why: str) -> None:
        """End one viewing: its subscriber leaves Janus, and an opened one is logged closed."""
        if self._viewings.pop(viewing.id, None) is None:
            return
        follow = viewing.follow
        if follow is not None and follow is not asyncio.current_task():
            follow.cancel()
        try:
            await viewing.subscriber.leave()
        except _JANUS_DOWN as exc:
            log.debug("viewing %s had left Janus already: %s", viewing.id, exc)
        if viewing.opened_at is None:
            return
        until = self._clock()
        link = viewing.link
        self._custody.append(
            CustodyAction.VIEW_CLOSED,
            viewing.feed,
            {
                "where": WHERE,
                "link": link.id,
                "viewer": link.name,
                "kind": viewing.kind,
                "address": viewing.remote or "",
                "from": utc_text(viewing.opened_at),
                "to": utc_text(until),
                "seconds": round(until - viewing.opened_at, 1),
                "why": why,
                **viewing.reason,
            },
            actor=_actor(link),
        )
        log.info("viewer link %s stopped watching %s: %s", link.id, viewing.feed, why)

    async def _close_link(self, link_id: str, why: str) -> None:
        for viewing in [v for v in self._viewings.values() if v.link.id == link_id]:
            await self._close(viewing, why)

    async def _watch_links(self) -> None:
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            try:
                await self._check_links()
            except Exception:  # a bug here must not end the watch over every link
                log.exception("checking the viewer links")

    async def _check_links(self) -> None:
        now = self._clock()
        for link_id in {v.link.id for v in self._viewings.values()}:
            link = self.links.get(link_id)
            if link.state not in (LinkState.ENDED, LinkState.REVOKED) and now >= link.usable_until:
                link = self.links.set_state(link_id, LinkState.ENDED, "the link expired")
            if link.state in _ENDED:
                await self._close_link(link_id, link.end_reason or link.state.value)
        stale = time.monotonic() - UNANSWERED_S
        for viewing in list(self._viewings.values()):
            if viewing.opened_at is None and viewing.made_at < stale:
                await self._close(viewing, "the page never answered")


def _actor(link: CallerLink) -> str:
    """Who watched, in the custody log: the person the link was made for, by the link."""
    return f"{link.name} (viewer link {link.id})"

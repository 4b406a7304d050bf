"""The caller desk: invitations, the caller's answer, their video and their position.

Everything the gateway's endpoints do goes through here, on the event loop (the GUI
thread's, under qasync, or `vigil gateway`'s own). A link's life drives its feed's: the
tile appears when the caller opens the link ("waiting for the caller's answer"), goes
live with the first picture, shows RECONNECTING while the phone's connection is lost,
and ENDED when the caller declines or ends, the control room ends it, or the link runs
out or is revoked (also from another process: a watch re-reads the links every few s).

Where the video goes is the desk's `route`: without one (a standalone desk, `vigil gateway`)
the phone's WHIP session is answered here by aiortc (app/callers/gateway/whip.py), decoded
and, for the recording, encoded again. A room server gives a `CallerRoute` instead
(app/room/callers.py): the same checks of token, device and consent, then the offer goes to
the room's Janus, which answers it, and the caller is recorded from what Janus forwards,
still the phone's own H.264. A phone that offers no codec the route can carry (no H.264:
MPEG-TS segments cannot hold VP8) is received here as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Unpack

import sqlite_utils
from aiortc import RTCIceServer

from app.callers.consent import Answer, ConsentBook, ConsentText, consent_text
from app.callers.gateway.limits import RefusedError, parse_location
from app.callers.gateway.whip import WhipSession, check_offer, with_start_bitrate
from app.callers.links import (
    FINAL_STATES,
    CallerLink,
    GoneLinkError,
    LinkBook,
    LinkKind,
    LinkRequest,
    LinkState,
    make_link,
)
from app.callers.route import CallerRoute, CannotCarryError, MediaSession, RoutedSource
from app.config import GatewaySettings
from app.feeds import FeedService
from media.live import Connection, Feed, FeedKind, FeedSpec, FeedState
from media.live.webrtc import WebRtcSource

if TYPE_CHECKING:
    from aiortc.mediastreams import MediaStreamTrack

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 0.5
"""How often live links are re-read, to notice a revocation made by another process: a
revoked link's stream ends within a second (the README promises 2 s), for one indexed
read per live call."""
BITRATE_INTERVAL_S = 2.0
"""How often each live call's bitrate is measured (WebRTC statistics, for the tile)."""


@dataclass(frozen=True)
class PageView:
    """What the caller's page shows for a link."""

    link: CallerLink
    text: ConsentText
    device: str | None
    """A new device secret, when this browser is the first to open the link."""


class Call:
    """A link's feed, its source (WebRTC received here, or the route's) and the phone's
    current session."""

    def __init__(self, link: CallerLink, route: CallerRoute | None = None) -> None:
        self.link_id = link.id
        kind = FeedKind.OFFICER if link.kind is LinkKind.OFFICER else FeedKind.CALLER
        spec = FeedSpec(link.feed_name, kind, f"webrtc:{link.id}", incident=link.incident)
        self.feed = Feed(spec, feed_id=f"caller-{link.id}")
        self.feed.can_end = True
        self.route: CallerRoute | None = None
        self.source: WebRtcSource | RoutedSource = WebRtcSource(self.feed)
        if route is not None:
            self.use(route)
        self.session: MediaSession | None = None
        self.finished = False
        """Whether the link has ended for good (the feed then stays ENDED)."""
        self._received: tuple[float, int] | None = None

    def use(self, route: CallerRoute | None) -> None:
        """Carry the video by `route` (a feed URL `room:LINK`, read from what the route
        forwards), or receive it here (`webrtc:LINK`, frames tapped for the recorder). The
        feed must be out of the feed service while this changes."""
        scheme = "room" if route is not None else "webrtc"
        self.route = route
        self.feed.spec = dataclasses.replace(self.feed.spec, url=f"{scheme}:{self.link_id}")
        self.source = route.source(self.feed) if route is not None else WebRtcSource(self.feed)

    async def measure_bitrate(self) -> None:
        """The feed's bitrate from the session's byte count (frames come decoded). A routed
        feed's source counts its own packets."""
        if self.route is not None:
            return
        session = self.session
        if not isinstance(session, WhipSession):
            self._received = None
            self.feed.stats.bitrate_bps = 0.0
            return
        now, total = time.monotonic(), await session.bytes_received()
        if self._received is not None and now > self._received[0]:
            delta = max(0, total - self._received[1])
            self.feed.stats.bitrate_bps = delta * 8 / (now - self._received[0])
        self._received = (now, total)


class CallerDesk:
    def __init__(
        self,
        db: sqlite_utils.Database,
        settings: GatewaySettings,
        feeds: FeedService,
        *,
        turn_credential: Callable[[str], str | None] = lambda _username: None,
        clock: Callable[[], float] = time.time,
        route: CallerRoute | None = None,
    ) -> None:
        self.settings = settings
        self.route = route
        """Where callers' video goes instead of being received here (the room's SFU); set
        before the first link is opened."""
        self.links = LinkBook(db, clock)
        self.consents = ConsentBook(db, clock)
        self._feeds = feeds
        self._calls: dict[str, Call] = {}
        self._ice_servers = [
            RTCIceServer(
                list(server.urls),
                server.username,
                turn_credential(server.username) if server.username else None,
            )
            for server in settings.ice_servers
        ]
        self._watch: asyncio.Task[None] | None = None
        self.link_ended: list[Callable[[CallerLink], None]] = []
        """Told when a link with a feed ends: declined, ended by either side, revoked,
        expired (the alert list listens)."""

    # -- the control room's side --------------------------------------------------------

    def invite(self, *, name: str, **more: Unpack[LinkRequest]) -> tuple[CallerLink, str]:
        """A new one-time link and its address (shown once: only its hash is kept)."""
        return make_link(self.links, self.settings, name=name, **more)

    @property
    def ice_servers(self) -> list[RTCIceServer]:
        return list(self._ice_servers)

    async def end(self, link_id: str, reason: str = "ended by the control room") -> None:
        """End a caller's stream from the wall; the link cannot be used again."""
        link = self.links.set_state(link_id, LinkState.ENDED, reason)
        await self._finish(link)

    async def revoke(self, link_id: str) -> None:
        link = self.links.revoke(link_id)
        await self._finish(link)

    def call_for_feed(self, feed: Feed) -> str | None:
        """The link behind a caller's feed, if it is one."""
        return next((c.link_id for c in self._calls.values() if c.feed is feed), None)

    # -- the caller's side: one method per endpoint ----------------------------------------

    def open_page(self, token: str, device: str | None) -> PageView:
        link, fresh = self.links.open(token, device)
        call = self._call(link)
        if link.state is LinkState.WAITING and call.feed.connection.state is FeedState.CONNECTING:
            call.feed.set_connection(
                Connection(FeedState.CONNECTING, "link opened; waiting for the caller's answer")
            )
        return PageView(link, consent_text(link, self.settings.organisation), fresh)

    async def answer(
        self,
        token: str,
        device: str | None,
        answer: str,
        shown_sha256: str,
        *,
        user_agent: str | None,
        remote_addr: str | None,
    ) -> LinkState:
        link = await self._check(token, device)
        try:
            said = Answer(answer)
        except ValueError:
            raise RefusedError(
                422, f"answer {answer!r} is not agree, decline or withdraw"
            ) from None
        expected = consent_text(link, self.settings.organisation).sha256
        if shown_sha256 != expected:
            raise RefusedError(409, "the consent text shown is not the current one")
        if said is Answer.AGREE and link.state is not LinkState.WAITING:
            return link.state  # a second tap, or a reload after agreeing
        self.consents.record(
            link.id, said, expected, user_agent=user_agent, remote_addr=remote_addr
        )
        call = self._call(link)
        if said is Answer.AGREE:
            link = self.links.set_state(link.id, LinkState.CONSENTED)
            note = (
                "caller agreed; sharing location"
                if link.location_only
                else ("caller agreed; starting video")
            )
            call.feed.set_connection(
                Connection(FeedState.LIVE if link.location_only else FeedState.CONNECTING, note)
            )
            log.info("link %s: the caller agreed", link.id)
        elif said is Answer.DECLINE:
            link = self.links.set_state(link.id, LinkState.DECLINED, "the caller declined")
            log.info("link %s: the caller declined", link.id)
            await self._finish(link)
        else:
            link = self.links.set_state(link.id, LinkState.ENDED, "the caller ended the stream")
            log.info("link %s: the caller ended the stream", link.id)
            await self._finish(link)
        return link.state

    async def offer(self, token: str, device: str | None, sdp: str) -> tuple[str, str]:
        """Answer the phone's WHIP offer: the session's id (for its Location) and our SDP
        (or the route's: the room's Janus answers for itself)."""
        link = await self._check(token, device)
        if link.location_only:
            raise RefusedError(403, "this link shares location only")
        if link.state not in (LinkState.CONSENTED, LinkState.LIVE):
            raise RefusedError(403, "no consent given yet")
        check_offer(sdp)  # nothing malformed goes further, whichever way it goes
        call = self._call(link)
        if call.session is not None:  # the same phone, reconnecting: the new one wins
            old, call.session = call.session, None
            await old.close()
        route = self.route
        if route is not None:
            why_not = route.carries(sdp)
            if why_not is not None:
                log.info("link %s: received here, not by the room: %s", link.id, why_not)
                route = None
        self._carry(call, route)
        if route is not None:
            try:
                return await self._offer_to_route(call, route, link, sdp)
            except CannotCarryError as exc:
                log.info("link %s: received here, not by the room: %s", link.id, exc)
                self._carry(call, None)
        session = WhipSession(
            ice_servers=self._ice_servers,
            preferred_codec=self.settings.video_codec,
            start_kbps=self.settings.video_start_kbps or None,
            on_track=self._on_track(call),
            on_state=lambda state: self._on_session_state(call, session, state),
        )
        call.session = session
        try:
            session_answer = await session.answer(sdp)
        except RefusedError:
            call.session = None
            raise
        call.feed.stats.codec = session.codec
        log.info("link %s: media session %s answered (%s)", link.id, session.id, session.codec)
        return session.id, session_answer

    async def _offer_to_route(
        self, call: Call, route: CallerRoute, link: CallerLink, sdp: str
    ) -> tuple[str, str]:
        routed: MediaSession | None = None

        def on_state(state: str) -> None:
            if routed is not None:
                self._on_session_state(call, routed, state)

        routed, answer = await route.publish(call.source, link.feed_name, sdp, on_state)
        if self.settings.video_start_kbps:  # as for an answer of ours: 720p from the start
            answer = with_start_bitrate(answer, self.settings.video_start_kbps)
        call.session = routed
        call.feed.stats.codec = routed.codec
        log.info("link %s: media session %s by the room (%s)", link.id, routed.id, routed.codec)
        return routed.id, answer

    async def hang_up(self, token: str, device: str | None, session_id: str) -> None:
        link = await self._check(token, device)
        call = self._calls.get(link.id)
        if call is None or call.session is None or call.session.id != session_id:
            raise RefusedError(404, "no such media session")
        # WHIP's DELETE ends the media session, not the caller's consent: the page then
        # withdraws (End) or offers again (a restarted camera).
        session, call.session = call.session, None
        await session.close()
        call.source.detach()
        self.links.set_state(link.id, LinkState.CONSENTED)
        call.feed.set_connection(Connection(FeedState.ENDED, "the caller stopped the video"))
        log.info("link %s: the caller stopped the video", link.id)

    async def report_location(self, token: str, device: str | None, body: bytes) -> LinkState:
        link = await self._check(token, device)
        if link.state not in (LinkState.CONSENTED, LinkState.LIVE):
            raise RefusedError(403, "no consent given yet")
        self._call(link).feed.location = parse_location(body)
        return link.state

    # -- lifetime ---------------------------------------------------------------------------

    def start(self) -> None:
        self._watch = asyncio.get_running_loop().create_task(self._watch_links())

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        for call in list(self._calls.values()):
            if call.session is not None:
                await call.session.close()
            call.source.stop(timeout_s=0.5)

    # -- inside -----------------------------------------------------------------------------

    async def _check(self, token: str, device: str | None) -> CallerLink:
        """The link for a request, or the error to answer; a link that has just become
        unusable (revoked elsewhere, expired) has its call ended on the way."""
        try:
            return self.links.check(token, device)
        except GoneLinkError as exc:
            if exc.link_id is not None and exc.link_id in self._calls:
                await self._finish(self.links.get(exc.link_id))
            raise

    def _call(self, link: CallerLink) -> Call:
        call = self._calls.get(link.id)
        if call is None:
            call = Call(link, self.route)
            self._calls[link.id] = call
            self._feeds.add(call.feed, call.source)
        return call

    def _carry(self, call: Call, route: CallerRoute | None) -> None:
        """Have the call's video go by `route` (or be received here), as this offer allows.
        The feed leaves the feed service and comes back with its new source, so the
        recording service records it the new way (packets, or frames encoded once) from
        the next segment on."""
        if call.route is route:
            return
        self._feeds.remove(call.feed)
        call.use(route)
        self._feeds.add(call.feed, call.source)

    def _on_track(self, call: Call) -> Callable[[MediaStreamTrack], None]:
        def on_track(track: MediaStreamTrack) -> None:
            if isinstance(call.source, WebRtcSource):
                call.source.attach(track)

        return on_track

    def _on_session_state(self, call: Call, session: MediaSession, state: str) -> None:
        if call.session is not session:
            return  # an older session closing after the phone reconnected
        link = self.links.get(call.link_id)
        if link.state in FINAL_STATES:
            return
        if state == "connected":
            self.links.set_state(call.link_id, LinkState.LIVE)
        elif state in ("disconnected", "failed", "closed"):
            log.info("link %s: the phone's connection is %s", call.link_id, state)
            self.links.set_state(call.link_id, LinkState.CONSENTED)
            call.feed.set_connection(
                Connection(FeedState.RECONNECTING, f"connection {state}; waiting for the phone")
            )

    async def _finish(self, link: CallerLink) -> None:
        """Stop what a link shared: close its session, mark its feed ended."""
        call = self._calls.get(link.id)
        if call is None:
            return
        session, call.session = call.session, None
        if session is not None:
            await session.close()
        call.source.detach()
        if not call.finished:
            call.finished = True
            call.feed.set_connection(Connection(FeedState.ENDED, link.end_reason or "ended"))
            for listener in self.link_ended:
                listener(link)

    async def _watch_links(self) -> None:
        measured = time.monotonic()
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            now = time.time()
            measure = time.monotonic() - measured >= BITRATE_INTERVAL_S
            if measure:
                measured = time.monotonic()
            for link_id, call in list(self._calls.items()):
                if call.finished:
                    continue
                # The link first: a revocation must never wait on a statistics call.
                link = self.links.get(link_id)
                if link.state not in FINAL_STATES and now >= link.usable_until:
                    link = self.links.set_state(link_id, LinkState.ENDED, "the link expired")
                if link.state in FINAL_STATES:
                    await self._finish(link)
                elif measure:
                    try:
                        await asyncio.wait_for(call.measure_bitrate(), WATCH_INTERVAL_S)
                    except TimeoutError:
                        log.debug("link %s: no statistics within %s s", link_id, WATCH_INTERVAL_S)

"""The caller desk with a route (what the room server gives it, app/room/callers.py): the
desk still checks the link and the consent, then hands well-formed offers to the route, and
receives a phone the route cannot carry itself. A stand-in route records what reached it;
the phones' offers are aiortc's own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from aiortc import RTCPeerConnection, RTCRtpSender

from app.callers import RefusedError
from app.callers.gateway.desk import CallerDesk
from app.config import GatewaySettings
from app.database import open_database
from app.feeds import FeedService
from media.live import Feed
from media.live.webrtc import WebRtcSource

JANUS_ANSWER = (
    "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=rtpmap:102 H264/90000\r\n"
    "a=fmtp:102 packetization-mode=1\r\n"
)


class StandInSource:
    def __init__(self) -> None:
        self.started = self.stopped = self.detached = 0

    def start(self) -> None:
        self.started += 1

    def stop(self, timeout_s: float = 1.0) -> None:
        self.stopped += 1

    def detach(self) -> None:
        self.detached += 1


class StandInSession:
    def __init__(self) -> None:
        self.id = "room-session-1"
        self.codec: str | None = "h264"
        self.closed = False

    async def close(self) -> None:
        self.closed = True


class StandInRoute:
    def __init__(self) -> None:
        self.offers: list[str] = []
        self.sessions: list[StandInSession] = []
        self.down = False

    def carries(self, offer_sdp: str) -> str | None:
        return None if "H264/90000" in offer_sdp else "no H.264 offered"

    def source(self, feed: Feed) -> StandInSource:
        return StandInSource()

    async def publish(
        self,
        source: object,
        display: str,
        offer_sdp: str,
        on_state: Callable[[str], None],
    ) -> tuple[StandInSession, str]:
        if self.down:
            raise RefusedError(503, "the control room's media server is not available just now")
        self.offers.append(offer_sdp)
        self.sessions.append(StandInSession())
        return self.sessions[-1], JANUS_ANSWER


async def phone_offer(*codecs: str) -> str:
    """An aiortc phone's offer of video, in these codecs only."""
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver("video", direction="sendonly")
    capabilities = RTCRtpSender.getCapabilities("video")
    assert capabilities is not None
    transceiver.setCodecPreferences(
        [c for c in capabilities.codecs if c.mimeType.split("/")[1] in codecs]
    )
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp
    await pc.close()
    return offer


def test_offers_go_by_the_route_and_a_phone_it_cannot_carry_is_received_here(
    tmp_path: Path,
) -> None:
    """In: a desk with a route; a link opened and agreed to; an offer before consent on a
    second link; offers of H.264 and VP8, of VP8 alone, of broken SDP; H.264 again; then
    the route down.
    Out: before consent 403 and the route saw nothing; the H.264 offer reaches the route,
    whose answer comes back with the start bitrate added, the feed reads `room:LINK` from
    the route's source; VP8 alone is answered here by aiortc (VP8 in the answer), the
    route's session is closed and the feed becomes `webrtc:LINK` with a WebRTC source; the
    broken offer is 400 and reaches no one; H.264 again goes by the route; with the route
    down the phone gets its 503 and the link stays consented."""

    async def run() -> None:
        route = StandInRoute()
        feeds = FeedService()
        desk = CallerDesk(
            open_database(tmp_path / "vigil.db"), GatewaySettings(), feeds, route=route
        )
        _, url = desk.invite(name="Jane Doe")
        token = url.rsplit("/", 1)[1]
        view = desk.open_page(token, None)
        device = view.device
        _, other_url = desk.invite(name="John Roe")
        other = other_url.rsplit("/", 1)[1]
        other_device = desk.open_page(other, None).device
        with pytest.raises(RefusedError) as refused:
            await desk.offer(other, other_device, await phone_offer("H264", "VP8"))
        assert refused.value.status == 403
        assert route.offers == []

        await desk.answer(
            token, device, "agree", view.text.sha256, user_agent=None, remote_addr=None
        )
        (feed,) = [f for f in feeds.feeds if f.name.startswith("Jane Doe")]
        session_id, answer = await desk.offer(token, device, await phone_offer("H264", "VP8"))
        assert session_id == "room-session-1"
        assert len(route.offers) == 1
        assert "x-google-start-bitrate=2000" in answer
        assert feed.spec.url.startswith("room:")
        assert isinstance(feeds.source(feed), StandInSource)

        _, answer = await desk.offer(token, device, await phone_offer("VP8"))
        assert "VP8/90000" in answer
        assert route.sessions[0].closed
        assert len(route.offers) == 1
        assert feed in feeds.feeds
        assert feed.spec.url.startswith("webrtc:")
        assert isinstance(feeds.source(feed), WebRtcSource)

        with pytest.raises(RefusedError) as refused:
            await desk.offer(token, device, "v=0\r\nm=video\r\n")
        assert refused.value.status == 400
        assert len(route.offers) == 1

        await desk.offer(token, device, await phone_offer("H264"))
        assert len(route.offers) == 2
        assert feed.spec.url.startswith("room:")

        route.down = True
        with pytest.raises(RefusedError) as refused:
            await desk.offer(token, device, await phone_offer("H264"))
        assert refused.value.status == 503
        assert desk.links.check(token, device).state.value == "consented"
        await desk.close()

    asyncio.run(run())

"""A link's request budget is its holder's: another device with the link cannot spend it.

Real gateway over HTTPS on loopback (tests/app/callers/gateway/test_server.py's harness),
a real phone's WHIP offers made by aiortc, and a second browser without the device cookie
flooding the same link's endpoint.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from aiortc import RTCPeerConnection

from app.callers.gateway import ice
from app.callers.gateway.limits import holder_key
from tests.app.callers.gateway.test_server import (
    AUDIO_ONLY_SDP,
    OTHER_ADDRESS,
    Logs,
    MovingPattern,
    Running,
    Serve,
    fix,
)
from tests.servers import LOOPBACK

pytest_plugins = ["tests.app.callers.gateway.test_server"]


async def real_offer() -> tuple[RTCPeerConnection, str]:
    sender = RTCPeerConnection()
    sender.addTransceiver(MovingPattern(), direction="sendonly")
    await sender.setLocalDescription(await sender.createOffer())
    return sender, sender.localDescription.sdp


def test_another_device_flooding_offers_never_blocks_the_holders(serve: Serve) -> None:
    """In: a caller's phone (127.0.0.1) opens its link and agrees; a second browser
    (127.0.0.2, no device cookie) then sends 30 WHIP offers for the same link at once, and
    20 location fixes; then the phone sends three real aiortc offers one after another
    (reconnects) and a fix.
    Out: the second browser gets only 410 (the link is held) and 429 (its own budget spent),
    never 201 or 200; each of the phone's offers is answered 201 with SDP, and its fix 200:
    the holder's budget (the link's 4-offer burst) was not spent by the other device."""

    async def scenario(gw: Running, logs: Logs) -> None:
        _link, token = gw.invite()
        phone, other = gw.phone(LOOPBACK), gw.phone(OTHER_ADDRESS)
        await phone.agree(token)
        flood = await asyncio.gather(*(other.whip(token, AUDIO_ONLY_SDP) for _ in range(30)))
        fixes = await asyncio.gather(*(other.location(token, fix()) for _ in range(20)))
        seen = Counter(reply.status for reply in flood + fixes)
        assert set(seen) <= {410, 429}, seen
        assert seen[410] >= 4
        assert seen[429] >= 1  # the other device is still limited, by its own budget

        ice.offer_addresses([LOOPBACK])
        senders = []
        try:
            for _ in range(3):
                sender, sdp = await real_offer()
                senders.append(sender)
                answer = await phone.whip(token, sdp)
                assert answer.status == 201, answer.body[:300]
                assert answer.headers["Content-Type"].startswith("application/sdp")
            located = await phone.location(token, fix())
            assert located.status == 200, located.body[:300]
        finally:
            for sender in senders:
                await sender.close()
            ice.offer_addresses(None)
        logs.new_refusals()

    serve(scenario)


def test_a_links_budget_key_is_the_link_and_the_cookie_sent() -> None:
    """In: one token with the holder's cookie, another device's cookie, no cookie, and a
    cookie of 8 KiB. Out: three different keys for the three browsers, the same key for the
    same cookie twice, and no key longer than the token and a 32-character digest (a long
    made-up cookie costs the gateway no more memory)."""
    token = "T" * 24
    holder, other, none = (
        holder_key(token, "holder-secret"),
        holder_key(token, "other"),
        holder_key(token, None),
    )
    assert len({holder, other, none}) == 3
    assert holder == holder_key(token, "holder-secret")
    assert none == (token, "")
    assert holder_key(token, "x" * 8192)[0] == token
    assert len(holder_key(token, "x" * 8192)[1]) == 32

"""A room on Janus's VideoRoom plugin: every feed published into it once, and as many
subscribers as want it, each forwarded by Janus.

As simple-whip-server does in front of Janus: a publisher's SDP offer goes in and Janus's
answer comes back, so the media flows between the phone (or the server's own restream) and
Janus, never through Vigil. A subscriber gets Janus's offer for one feed and answers it.
No Qt here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.room.janus_api import JanusError, JanusHandle, JanusSession

PLUGIN = "janus.plugin.videoroom"
MAX_PUBLISHERS = 64
"""Feeds live at once in one room: callers, officers, body cams, drones and cameras."""


@dataclass
class Publisher:
    """A feed published into the room: its Janus feed id and the answer to its offer."""

    handle: JanusHandle
    feed_id: int
    display: str
    answer_sdp: str
    streams: list[dict[str, Any]] = field(default_factory=list)
    """What Janus took of the offer, one entry per m-line: its type, mid and codec."""

    def video(self) -> dict[str, Any] | None:
        """The published video stream (its mid and codec), if the offer had one."""
        return next((s for s in self.streams if s.get("type") == "video"), None)

    async def keyframe(self) -> None:
        """Ask the publisher for a key frame (Janus sends it a PLI)."""
        await self.handle.request({"request": "configure", "keyframe": True})

    async def leave(self) -> None:
        await _leave(self.handle)


@dataclass
class Subscriber:
    """One viewer of one feed: Janus's offer, to be answered with `start`."""

    handle: JanusHandle
    feed_id: int
    offer_sdp: str

    async def start(self, answer_sdp: str) -> None:
        await self.handle.request({"request": "start"}, {"type": "answer", "sdp": answer_sdp})

    async def leave(self) -> None:
        await _leave(self.handle)


async def _leave(handle: JanusHandle) -> None:
    """Leave the room and let go of the handle. One whose session has ended (Janus died, or
    the room was reopened on a new session since) left with it: there is nothing to say,
    and nothing to say it on."""
    if handle.session.closed.is_set():
        return
    try:
        await handle.request({"request": "leave"})
    finally:
        if not handle.session.closed.is_set():
            await handle.detach()


class Room:
    """One VideoRoom room, made with the admin key the room server started Janus with."""

    def __init__(self, session: JanusSession, room_id: int, admin_key: str) -> None:
        self.session = session
        self.id = room_id
        self._admin_key = admin_key
        self._control: JanusHandle | None = None

    async def ensure(self, description: str = "vigil room") -> None:
        """Create the room unless Janus has it already (after a restart it has none)."""
        control = await self._handle()
        exists, _ = await control.request({"request": "exists", "room": self.id})
        if exists.get("exists"):
            return
        await control.request(
            {
                "request": "create",
                "room": self.id,
                "admin_key": self._admin_key,
                "description": description,
                "publishers": MAX_PUBLISHERS,
                "videocodec": "h264,vp8",
                "audiocodec": "opus",
                "notify_joining": False,
            }
        )

    async def publish(self, display: str, offer_sdp: str) -> Publisher:
        """Publish a feed from its SDP offer; Janus's answer is in the result."""
        handle = await self.session.attach(PLUGIN)
        try:
            joined, _ = await handle.request(
                {"request": "join", "ptype": "publisher", "room": self.id, "display": display}
            )
            configured, jsep = await handle.request(
                {"request": "configure", "audio": True, "video": True},
                {"type": "offer", "sdp": offer_sdp},
            )
        except BaseException:
            await handle.detach()
            raise
        if jsep is None or jsep.get("type") != "answer":
            await handle.detach()
            raise JanusError(f"Janus gave no answer to {display}'s offer: {configured}")
        streams = configured.get("streams")
        return Publisher(
            handle,
            int(joined["id"]),
            display,
            str(jsep["sdp"]),
            list(streams) if isinstance(streams, list) else [],
        )

    async def subscribe(self, feed_id: int) -> Subscriber:
        """Janus's offer of one published feed, for a viewer to answer."""
        handle = await self.session.attach(PLUGIN)
        try:
            _, jsep = await handle.request(
                {
                    "request": "join",
                    "ptype": "subscriber",
                    "room": self.id,
                    "streams": [{"feed": feed_id}],
                }
            )
        except BaseException:
            await handle.detach()
            raise
        if jsep is None or jsep.get("type") != "offer":
            await handle.detach()
            raise JanusError(f"Janus offered nothing for feed {feed_id}")
        return Subscriber(handle, feed_id, str(jsep["sdp"]))

    async def forward(
        self, feed_id: int, mid: str, port: int, *, host: str = "127.0.0.1", pt: int, ssrc: int
    ) -> int:
        """Have Janus send one published stream as plain RTP to `host`:`port` (with the
        payload type and SSRC given); the forwarder's id, for `stop_forward`. Needs the admin
        key: the room server's Janus locks RTP forwarding behind it (app/room/janus_config.py),
        so no one else can send a feed off the machine."""
        control = await self._handle()
        answer, _ = await control.request(
            {
                "request": "rtp_forward",
                "room": self.id,
                "publisher_id": feed_id,
                "admin_key": self._admin_key,
                "host": host,
                "host_family": "ipv4",
                "streams": [{"mid": mid, "port": port, "pt": pt, "ssrc": ssrc}],
            }
        )
        forwarders = answer.get("forwarders") or []
        if not forwarders:
            raise JanusError(f"Janus made no forwarder for feed {feed_id}: {answer}")
        return int(forwarders[0]["stream_id"])

    async def stop_forward(self, feed_id: int, stream_id: int) -> None:
        control = await self._handle()
        await control.request(
            {
                "request": "stop_rtp_forward",
                "room": self.id,
                "publisher_id": feed_id,
                "stream_id": stream_id,
                "admin_key": self._admin_key,
            }
        )

    async def publishers(self) -> list[dict[str, Any]]:
        """Who is publishing now, as Janus lists them."""
        control = await self._handle()
        listed, _ = await control.request({"request": "listparticipants", "room": self.id})
        return [p for p in listed.get("participants", []) if p.get("publisher")]

    async def _handle(self) -> JanusHandle:
        if self._control is None:
            self._control = await self.session.attach(PLUGIN)
        return self._control

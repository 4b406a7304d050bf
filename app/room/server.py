"""`vigil server`: a control room's one server, headless.

It pulls every configured feed once and records it (the evidence store's only writer, so
each feed is recorded once whatever the number of desks), decoding nothing: no one looks
at pictures here. It runs the caller gateway, Janus (started and supervised, or one named
in [sfu]) with the room's VideoRoom, and the HTTPS API desks sign in to
(app/room/desk_api.py). `vigil status` on the server's base dir reports all of it.

Desks show the room's feeds from the server's restream of the packets it pulls
(app/room/restream.py): a camera is pulled once whatever the number of desks, and adding
a desk costs the server no decode.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from app.callers.gateway.service import GatewayService
from app.config import Config, ServerSettings
from app.evidence import CustodyLog
from app.evidence.recording import RecordingService
from app.feeds import FeedService, feed_status, with_password
from app.paths import BaseDir
from app.room.callers import RoomCallers
from app.room.desk_api import DeskApi
from app.room.desk_commands import DeskCommands
from app.room.janus_api import JanusError, JanusSession
from app.room.janus_config import JanusSettings
from app.room.janus_process import JanusProcess
from app.room.publish import FeedPublishing
from app.room.restream import Restream
from app.room.review_api import ReviewRoutes
from app.room.videoroom import Room
from app.room.viewers import RoomViewers
from app.tls import server_ssl_context
from media.live import Decoding, Feed

log = logging.getLogger(__name__)

ROOM_ID = 1
"""The room's VideoRoom id on its Janus: one room per server."""


class RoomServer:
    """The pieces of a room server, composed; `start()` then `serve until stopped`."""

    def __init__(self, config: Config, base: BaseDir) -> None:
        self.config = config
        self.base = base
        self.settings = config.server or ServerSettings()
        self.started_at = time.time()
        self.feeds = FeedService([with_password(spec) for spec in config.feeds])
        for feed in self.feeds.feeds:
            feed.decoding = Decoding.NONE  # recorded and forwarded, never shown here
        self.feeds.added.append(lambda feed: setattr(feed, "decoding", Decoding.NONE))
        self.recording = RecordingService(
            base, lambda: list(self.feeds.feeds), policy=config.recording, sources=self.feeds.source
        )
        self.feeds.added.append(self.recording.add)
        self.feeds.removed.append(self.recording.remove)
        self.gateway = GatewayService.from_config(config, base, self.feeds)
        if self.gateway is not None:  # callers go to Janus, recorded from its forward
            self.gateway.desk.route = RoomCallers(lambda: self.room, base.root / "forwards")
            self.gateway.gateway.viewers = RoomViewers(  # viewer links watch from Janus
                self.gateway.desk.links,
                lambda: self.room,
                lambda: self.feeds.feeds,
                CustodyLog(self.gateway.db),
            )
        sfu = config.sfu
        self.janus = (
            JanusProcess(
                base.root / "janus",
                JanusSettings(
                    api_port=sfu.api_port,
                    admin_port=sfu.admin_port,
                    rtp_ports=sfu.rtp_ports,
                    ice_enforce=sfu.interfaces,
                    nat_1_1=sfu.public_addresses,
                ),
                base.log_dir / "janus.log",
            )
            if sfu.managed
            else None
        )
        if self.janus is not None:
            self.janus.restarted.append(self._open_room)
        self.session: JanusSession | None = None
        self.room: Room | None = None
        self.room_error: str | None = None
        self.restreams: dict[str, Restream] = {}
        """Each feed's restream to the desks, by feed id."""
        self.feeds.added.append(self._restream)
        self.feeds.removed.append(self._end_restream)
        self.publishing = FeedPublishing(lambda: self.room)
        """Every configured feed published into the room once (callers publish themselves)."""
        if self.janus is not None:  # after _open_room: the room is open again first
            self.janus.restarted.append(self.publishing.republish)
        self.feeds.removed.append(self.publishing.remove)
        self.api = DeskApi(base.database, self._room_view, self._find_restream, self._kind_of)
        self.api.routes.append(ReviewRoutes(base, self.api.require))
        self.api.routes.append(DeskCommands(base, config, self.api.require, self._kind_of))
        self.fingerprint: str | None = None

    async def start(self) -> None:
        """Start everything; raises what stops the server from being one (Janus will not
        start, the API's address is taken) with the reason."""
        if self.janus is not None:
            await self.janus.start()
        await self._open_room()
        for feed in self.feeds.feeds:
            self._restream(feed)
            self.publishing.add(feed)
        self.recording.start()  # recovers what a crash left before anything records
        self.feeds.start()
        if self.gateway is not None:
            await self.gateway.start()
        context, certificate = server_ssl_context(
            self.base.certificates / "room",
            self.settings.hostnames,
            certificate=self.settings.certificate,
            private_key=self.settings.private_key,
        )
        self.fingerprint = "SHA256:" + certificate.sha256.replace(":", "").lower()
        await self.api.start(self.settings.host, self.settings.port, context)

    async def close(self) -> None:
        await self.publishing.close()  # leaves the room while Janus is there
        for feed in list(self.feeds.feeds):
            self._end_restream(feed)  # desks' streams end, so the API closes at once
        await self.api.close()
        if self.gateway is not None:
            await self.gateway.close()
        self.feeds.stop()
        self.recording.stop()  # after the sources: the open segments close whole
        if self.session is not None:
            await self.session.destroy()
        if self.janus is not None:
            await self.janus.stop()

    @property
    def address(self) -> str:
        return f"https://{self.settings.host}:{self.api.port or self.settings.port}"

    def status(self) -> dict[str, Any]:
        now = time.monotonic()
        return {
            "pid": os.getpid(),
            "started_at": self.started_at,
            "base_dir": str(self.base.root),
            "config": str(self.config.path) if self.config.path else None,
            "server": {
                "address": self.address,
                "public_url": self.settings.public_url,
                "fingerprint": self.fingerprint,
            },
            "feeds": [self._feed_status(feed, now) for feed in self.feeds.feeds],
            "gateway": self.gateway.status() if self.gateway else None,
            "recording": self.recording.status(),
            "room": self._room_status(),
        }

    # -- inside ---------------------------------------------------------------------------

    def _restream(self, feed: Feed) -> None:
        """Restream the feed to the desks from the packets its source already pulls."""
        restream = Restream(feed.name, asyncio.get_running_loop())
        self.restreams[feed.id] = restream
        feed.packet_taps = (*feed.packet_taps, restream)

    def _end_restream(self, feed: Feed) -> None:
        restream = self.restreams.pop(feed.id, None)
        if restream is None:
            return
        feed.packet_taps = tuple(tap for tap in feed.packet_taps if tap is not restream)
        restream.close()

    def _feed_status(self, feed: Feed, now: float) -> dict[str, Any]:
        status = feed_status(feed, now)
        restream = self.restreams.get(feed.id)
        if restream is not None:
            status["restream"] = restream.status()
        sfu = self.publishing.status(feed)
        if sfu is not None:
            status["sfu"] = sfu  # "published", or "not published: why"
        return status

    def _kind_of(self, feed_name: str) -> str | None:
        feed = next((f for f in self.feeds.feeds if f.name == feed_name), None)
        return feed.kind.value if feed is not None else None

    def _find_restream(self, feed_id: str) -> tuple[str, Restream] | None:
        feed = self.feeds.find(feed_id)
        restream = self.restreams.get(feed_id)
        if feed is None or restream is None:
            return None
        return feed.kind.value, restream

    async def _open_room(self) -> None:
        """A Janus session and the room on it, anew after Janus restarted."""
        if self.session is not None:
            await self.session.destroy()
            self.session = None
        url, secret, admin = self._janus_access()
        try:
            session = JanusSession(url, secret)
            await session.create()
            room = Room(session, ROOM_ID, admin)
            await room.ensure("Vigil control room")
        except (TimeoutError, JanusError, OSError) as exc:
            self.room_error = f"the room on Janus could not be opened: {exc}"
            log.error("%s", self.room_error)
            raise
        self.session, self.room, self.room_error = session, room, None
        log.info("room %s open on Janus at %s", ROOM_ID, url)

    def _janus_access(self) -> tuple[str, str | None, str]:
        if self.janus is not None:
            assert self.janus.files is not None
            files = self.janus.files
            return files.api_url, files.api_secret, files.admin_secret
        from app.credentials import stored_secret

        secret = stored_secret("janus", "the room's Janus API secret")
        admin = stored_secret("janus-admin", "the room's Janus VideoRoom admin key") or ""
        return self.config.sfu.janus, secret, admin

    def _room_status(self) -> dict[str, Any]:
        return {
            "janus": self.janus.status()
            if self.janus
            else {"managed": False, "api": self.config.sfu.janus},
            "room": ROOM_ID if self.room else None,
            "error": self.room_error,
        }

    async def _room_view(self) -> dict[str, Any]:
        """What a signed-in desk gets from GET /api/v1/room."""
        status = self.status()
        publishers: list[dict[str, Any]] = []
        if self.room is not None:
            try:
                publishers = await self.room.publishers()
            except JanusError as exc:
                log.warning("listing the room's publishers: %s", exc)
        return {
            "feeds": status["feeds"],
            "room": {**status["room"], "publishers": [p.get("display") for p in publishers]},
        }

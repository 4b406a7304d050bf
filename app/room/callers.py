"""Callers on the room server: the phone's offer handed to Janus, the video recorded from
what Janus forwards, still the phone's own H.264.

The caller desk (app/callers/gateway/desk.py) checks the link, the device and the consent as
everywhere; `RoomCallers` is its route (app/callers/route.py). For each WHIP offer it
publishes the phone into the room (Room.publish, with the caller's feed name as display) and
returns Janus's answer as the WHIP answer, so the phone's media goes to the SFU and the
server's CPU never sees a frame. It then has Janus forward the published video as plain RTP
to a loopback port (`rtp_forward`, app/room/forward.py), and the caller's feed source reads
that with PyAV as an ordinary packet feed, decoding nothing: its packets go to the recorder
unchanged (segments, ledger, custody and recovery as for every other feed), and to the
room's restream like any feed's.

Key frames: a WebRTC encoder sends one only when asked, and the recorder starts and cuts
segments at key frames. Janus is asked for one (a PLI to the phone) whenever the reader
opens, and every `KEYFRAME_EVERY_S` while the phone is connected, the interval the
encoder of a caller received here uses too (media/recording/caller_recorder.py).

Codecs: the room prefers H.264 ("h264,vp8"). The recorder's MPEG-TS segments carry H.264
but not VP8 (FFmpeg muxes VP8 as an opaque private stream that reads back as data, not
video), so a phone that offers no H.264 is not carried: the desk receives it itself and
encodes it once, as a standalone desk does. No Qt here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import aiohttp

from app.callers import CannotCarryError, RefusedError, RoutedSource
from app.room.forward import PAYLOAD_TYPE, RtpForward, free_port_pair
from app.room.janus_api import JanusError
from app.room.videoroom import Publisher, Room
from media.live import Backoff, Connection, Feed, FeedSource

log = logging.getLogger(__name__)

CARRIED_CODEC = "h264"
KEYFRAME_EVERY_S = 2.0
READ_TIMEOUT_S = 2.0
"""The forwarded stream's reader gives up on silence after this long and reopens (a reader
let go ends within this too, and holds its port until then)."""
REOPEN_WAIT_S = 3.0
"""How long an offer waits for the room to be opened again when Janus is down: a Janus
that died is running again, its room reopened, within a second or so (app/room/
janus_process.py), so the phone's offer is answered then rather than refused."""
UNAVAILABLE = "the control room's media server is not available just now"
_JANUS_DOWN = (JanusError, TimeoutError, aiohttp.ClientError, OSError)


def _unavailable(display: str, why: str) -> RefusedError:
    """The phone's answer when Janus cannot take it: 503 and a retry soon (the page retries
    by itself); what went wrong inside goes to the log, not to the phone."""
    log.warning("%s: the room's Janus cannot take the phone's video: %s", display, why)
    return RefusedError(503, UNAVAILABLE, retry_after_s=2)


def offered_codecs(offer_sdp: str) -> list[str]:
    """The video codecs named in an offer's rtpmap lines, lower case, in order."""
    names: list[str] = []
    in_video = False
    for line in offer_sdp.splitlines():
        if line.startswith("m="):
            in_video = line.startswith("m=video")
        elif in_video and line.startswith("a=rtpmap:"):
            parts = line.split(None, 1)
            if len(parts) == 2:
                name = parts[1].split("/", 1)[0].lower()
                if name not in names:
                    names.append(name)
    return names


class _GuardedSink:
    """One of the feed's packet sinks as a reader sees it: silent once the reader is let go."""

    def __init__(self, sink: Any, gone: threading.Event) -> None:
        self.sink = sink
        self._gone = gone
        self.begun = False

    def begin(self, streams: Any) -> None:
        if not self._gone.is_set():
            self.begun = True
            self.sink.begin(streams)

    def put(self, packet: Any) -> None:
        if not self._gone.is_set():
            self.sink.put(packet)

    def end(self) -> None:
        if not self._gone.is_set() and self.begun:
            self.begun = False
            self.sink.end()


class _ReaderView:
    """The feed as one reader writes to it: everything goes through until the reader is let
    go (`let_go`). From then on the reader, which may sit in a blocked read for up to its
    timeout, speaks no more: its connection states and packets are dropped, so it can
    neither overwrite why the desk ended the call nor end the segment of the phone's next
    session; its own segment is ended at once instead."""

    def __init__(self, feed: Feed) -> None:
        object.__setattr__(self, "_feed", feed)
        object.__setattr__(self, "_gone", threading.Event())
        object.__setattr__(self, "_guards", {})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._feed, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._feed, name, value)

    def set_connection(self, connection: Connection) -> None:
        if not self._gone.is_set():
            self._feed.set_connection(connection)

    @property
    def packet_sink(self) -> _GuardedSink | None:
        sink = self._feed.packet_sink
        return self._guard(sink) if sink is not None else None

    @property
    def packet_taps(self) -> tuple[_GuardedSink, ...]:
        return tuple(self._guard(tap) for tap in self._feed.packet_taps)

    def let_go(self) -> None:
        self._gone.set()
        for guard in list(self._guards.values()):
            if guard.begun:
                guard.begun = False
                guard.sink.end()

    def _guard(self, sink: Any) -> _GuardedSink:
        guard = self._guards.get(id(sink))
        if guard is None or guard.sink is not sink:
            guard = _GuardedSink(sink, self._gone)
            self._guards[id(sink)] = guard
        return guard  # type: ignore[no-any-return]


class ForwardedSource:
    """A room caller's feed source: a PyAV reader on the current forward, made anew for each
    of the phone's sessions (a thread runs once). Nothing is read until `attach`."""

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self._running = False
        self._reader: FeedSource | None = None
        self._view: _ReaderView | None = None
        self.readers = 0
        """Readers made so far: one per media session the phone opened."""

    def start(self) -> None:
        self._running = True
        if self._reader is not None and not self._reader.running:
            self._reader.start()

    def stop(self, timeout_s: float = 1.0) -> None:
        self._running = False
        self._let_go(timeout_s)

    def detach(self) -> None:
        """Stop reading, without waiting for the reader's thread (it says nothing more)."""
        self._let_go(0)

    def attach(self, relay: RtpForward) -> None:
        self._let_go(0)
        self._view = _ReaderView(self.feed)
        self._reader = FeedSource(
            cast(Feed, self._view),
            relay=relay,
            open_timeout_s=READ_TIMEOUT_S,
            read_timeout_s=READ_TIMEOUT_S,
            backoff=Backoff(),
        )
        self.readers += 1
        if self._running:
            self._reader.start()

    def _let_go(self, timeout_s: float) -> None:
        reader, self._reader = self._reader, None
        view, self._view = self._view, None
        if view is not None:
            view.let_go()
        if reader is not None:
            reader.stop(timeout_s)


class RoomSession:
    """One phone session published into the room: Janus's publisher, the forward of its
    video to `relay`, and the watch over its events and key frames."""

    def __init__(
        self,
        publisher: Publisher,
        source: ForwardedSource,
        relay: RtpForward,
        on_state: Callable[[str], None],
    ) -> None:
        self.id = secrets.token_urlsafe(12)
        self.publisher = publisher
        self.source = source
        self.relay = relay
        self._on_state = on_state
        self._wanted = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._watch: asyncio.Task[None] | None = None
        self._closed = False
        self.keyframes_asked = 0
        video = publisher.video() or {}
        self.codec: str | None = str(video["codec"]) if video.get("codec") else None

    def start(self) -> None:
        self._watch = self._loop.create_task(self._watch_events(), name=f"room-{self.id}")

    def want_keyframe(self) -> None:
        """Ask for a key frame soon; safe from any thread (the reader's)."""
        with contextlib.suppress(RuntimeError):  # the loop has closed: nothing to ask
            self._loop.call_soon_threadsafe(self._wanted.set)

    async def close(self) -> None:
        """Cut the phone off (the publisher leaves Janus, and its forward with it), then wait
        for the reader to let go."""
        if self._closed:
            return
        self._closed = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        try:
            await self.publisher.leave()
        except _JANUS_DOWN as exc:
            log.info("publisher %s had already gone: %s", self.publisher.display, exc)
        self.source.detach()
        self.relay.stop()

    async def _watch_events(self) -> None:
        """Janus's events for the publisher ("webrtcup", "hangup", ...) as connection
        states; a key frame asked for when the reader wants one and every few seconds."""
        handle = self.publisher.handle
        lost = handle.session.closed
        next_key = time.monotonic()
        while True:
            waits = {
                asyncio.ensure_future(handle.events.get()),
                asyncio.ensure_future(self._wanted.wait()),
                asyncio.ensure_future(lost.wait()),
            }
            try:
                timeout = max(0.0, next_key - time.monotonic())
                done, _ = await asyncio.wait(
                    waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for waiting in waits:
                    waiting.cancel()
            if lost.is_set():
                self._on_state("failed")
                return
            for finished in done:
                result = finished.result() if not finished.cancelled() else None
                if isinstance(result, dict):
                    self._event(result)
            if self._wanted.is_set() or time.monotonic() >= next_key:
                self._wanted.clear()
                next_key = time.monotonic() + KEYFRAME_EVERY_S
                await self._ask_keyframe()

    def _event(self, event: dict[str, object]) -> None:
        kind = event.get("janus")
        if kind == "webrtcup":
            self._on_state("connected")
            self._wanted.set()  # the reader, open since the offer, waits for a key frame
        elif kind == "hangup":
            log.info("publisher %s hung up: %s", self.publisher.display, event.get("reason"))
            self._on_state("closed")
        elif kind == "media" and event.get("type") == "video" and event.get("receiving") is False:
            log.info("publisher %s: Janus receives no video", self.publisher.display)

    async def _ask_keyframe(self) -> None:
        try:
            await self.publisher.keyframe()
            self.keyframes_asked += 1
        except _JANUS_DOWN as exc:
            log.debug("asking %s for a key frame: %s", self.publisher.display, exc)


class RoomCallers:
    """The caller desk's route on a room server: `room()` is the room open now (None while
    Janus is down or restarting); SDP files go in `folder`."""

    def __init__(self, room: Callable[[], Room | None], folder: Path) -> None:
        self._room = room
        self.folder = folder

    async def _reopened(self, failed: Room | None) -> Room | None:
        """The room once it is open again on a Janus other than `failed`'s, or None if it is
        not within REOPEN_WAIT_S."""
        deadline = time.monotonic() + REOPEN_WAIT_S
        while time.monotonic() < deadline:
            room = self._room()
            if room is not None and room is not failed:
                return room
            await asyncio.sleep(0.1)
        return None

    def carries(self, offer_sdp: str) -> str | None:
        codecs = offered_codecs(offer_sdp)
        if CARRIED_CODEC in codecs:
            return None
        return (
            f"the phone offers {', '.join(codecs) or 'no video codec'} and no H.264, which "
            "the recording could not keep without encoding it again"
        )

    def source(self, feed: Feed) -> RoutedSource:
        return ForwardedSource(feed)

    async def publish(
        self, source: RoutedSource, display: str, offer_sdp: str, on_state: Callable[[str], None]
    ) -> tuple[RoomSession, str]:
        assert isinstance(source, ForwardedSource)
        room = self._room() or await self._reopened(None)
        if room is None:
            raise _unavailable(display, "the room is not open on Janus")
        try:
            publisher = await room.publish(display, offer_sdp)
        except _JANUS_DOWN as exc:
            reopened = await self._reopened(room)  # Janus died: wait for it to come back
            if reopened is None:
                raise _unavailable(display, str(exc) or type(exc).__name__) from None
            room = reopened
            try:
                publisher = await room.publish(display, offer_sdp)
            except _JANUS_DOWN as again:
                raise _unavailable(display, str(again) or type(again).__name__) from None
        video = publisher.video()
        codec = str(video.get("codec", "")).lower() if video else ""
        if video is None or codec != CARRIED_CODEC or not video.get("mid"):
            with contextlib.suppress(*_JANUS_DOWN):
                await publisher.leave()
            raise CannotCarryError(f"Janus settled on {codec or 'no video'}, not H.264")
        try:
            port = free_port_pair()
            session: RoomSession | None = None
            relay = RtpForward(
                self.folder / f"{secrets.token_hex(8)}.sdp",
                port,
                keyframe=lambda: session.want_keyframe() if session else None,
            )
            session = RoomSession(publisher, source, relay, on_state)
            await room.forward(
                publisher.feed_id,
                str(video["mid"]),
                port,
                pt=PAYLOAD_TYPE,
                ssrc=secrets.randbits(31) + 1,
            )
        except _JANUS_DOWN as exc:
            with contextlib.suppress(*_JANUS_DOWN):
                await publisher.leave()
            raise _unavailable(display, f"forwarding failed: {exc}") from None
        source.attach(relay)
        session.start()
        log.info(
            "%s published into the room as feed %s, forwarded to 127.0.0.1:%s",
            display,
            publisher.feed_id,
            port,
        )
        return session, publisher.answer_sdp

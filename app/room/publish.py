"""Every feed the room server pulls, published once into the room's Janus, decoding nothing.

A camera, a body-cam platform or a drone's link is pulled once by the server (its
FeedSource); its H.264 is then published into the room (Room.publish, under exactly the
feed's name) by an aiortc peer of the server's own, so Janus forwards it to every browser
and desk that subscribes: viewers' links, consultations, officers in the field. The source
is still pulled once whatever the number of viewers.

The path, per feed: `FeedPublisher` is one of the feed's packet taps (media/live/feed.py's
`PacketSink`, beside the recorder and the desks' restream). On the feed's thread it takes
each video packet as demuxed, makes it Annex-B with its parameter sets before every key
frame (an MP4's length-prefixed H.264 through FFmpeg's `h264_mp4toannexb`; an RTSP camera's
SPS and PPS, given out of band, put in front of each key frame that lacks them), gives it a
timestamp continuous across the source's reconnections, and hands the bytes to the server's
event loop. There `PacketTrack`, an aiortc `MediaStreamTrack`, yields them as `av.Packet`s,
which aiortc packetises as RTP (`H264Encoder.pack`) without decoding or encoding anything.
A tap rather than a watcher of the desks' restream: the packets are had as the source
demuxed them, without muxing them into MPEG-TS and demuxing them again, and each connection
of the source begins and ends explicitly.

What is published: video only, and only H.264 (the room takes H.264; a feed of another codec
says why it is not published). Not audio: WebRTC carries Opus and cameras send AAC, so sound
would need decoding and encoding; none is published. The offer names H.264 as aiortc does
(Constrained Baseline, 42e01f) whatever the camera's profile: Chromium and Safari decode
Main and High regardless; Firefox's OpenH264 decodes Constrained Baseline only. A camera
that sends B-frames gives timestamps out of order, which WebRTC receivers play poorly.

Key frames: a subscriber starts at a key frame. Janus asks the publisher for one (a PLI)
when someone subscribes, but passed-through video cannot make one: a new viewer waits for
the camera's own next key frame, so the camera's key-frame interval (its GOP) is the limit
on how soon a viewer sees a picture. Set cameras to a key frame every 1 to 2 s.

Republished: after Janus restarts (RoomServer's `janus.restarted`, once the room is open
again: `republish`), after the peer connection to Janus fails or its Janus session is lost
(retried with backoff), and after the feed's video stops being H.264 or becomes H.264 again
at a reconnection. A source that merely reconnects keeps its publisher: the new connection's
packets continue the same RTP stream from its first key frame, so viewers keep their
subscription and resume by themselves. A feed removed, or the server stopping, leaves the
room.

`status()` says, per feed, "published" or "not published: why", for `vigil status`.
Threads: `begin`, `put` and `end` run on the feed's thread and return at once; everything
else lives on the server's event loop. No Qt here.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp
import av
import av.bitstream
import av.error
import av.stream
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from app.room.janus_api import JanusError
from app.room.videoroom import Publisher, Room
from media.live import Feed

log = logging.getLogger(__name__)

CODEC = "h264"
CLOCK = 90_000
"""RTP's video clock: the timestamps handed to aiortc are in 1/90000 s."""
TIME_BASE = fractions.Fraction(1, CLOCK)
MAX_QUEUED_BYTES = 4 * 1024 * 1024
"""Packets waiting for aiortc past this (the loop too busy to send them) are dropped, and
sending resumes at the next key frame."""
MAX_JUMP_S = 5.0
"""A timestamp this far from the last one (a source's clock reset mid-stream) is taken as a
new start, continuing the RTP clock rather than jumping it."""
PUBLISH_TIMEOUT_S = 15.0
"""Offer, Janus's answer and setting it: longer than this and the attempt is abandoned."""
LEAVE_TIMEOUT_S = 5.0
CLOSE_WAIT_S = 2.0
RETRY_FIRST_S, RETRY_LIMIT_S = 1.0, 10.0
_START_CODE = b"\x00\x00\x01"
_NAL_SPS = 7
_JANUS_DOWN = (JanusError, TimeoutError, aiohttp.ClientError, OSError, ValueError)


def nal_types(data: bytes) -> list[int]:
    """The NAL unit types of an Annex-B access unit, in order."""
    types: list[int] = []
    at = data.find(_START_CODE)
    while at >= 0 and at + 3 < len(data):
        types.append(data[at + 3] & 0x1F)
        at = data.find(_START_CODE, at + 3)
    return types


class PacketTrack(MediaStreamTrack):
    """A video track of H.264 access units already encoded: aiortc packs each as RTP.

    `push` (on the loop) queues an access unit with its 90 kHz timestamp; `recv` (aiortc's
    sender) takes them in order. It begins at a key frame, and until aiortc first asks, only
    the group of pictures since the latest key frame is kept, so sending starts at once with
    a whole picture; one that falls `MAX_QUEUED_BYTES` behind resumes at the next key frame.
    """

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._queue: deque[tuple[bytes, int]] = deque()
        self._queued = 0
        self._ready = asyncio.Event()
        self._waiting_for_key = True
        self._asked = False
        self.sent = 0
        self.dropped = 0

    def push(self, data: bytes, ticks: int, key: bool) -> None:
        if self.readyState != "live":
            return
        if key and not self._asked:  # nobody sending yet: keep only the latest group
            self.dropped += len(self._queue)
            self._queue.clear()
            self._queued = 0
        if self._waiting_for_key and not key:
            self.dropped += 1
            return
        if self._queued + len(data) > MAX_QUEUED_BYTES:
            self.dropped += len(self._queue)
            self._queue.clear()
            self._queued = 0
            if not key:
                self._waiting_for_key = True
                self.dropped += 1
                return
        self._waiting_for_key = False
        self._queue.append((data, ticks))
        self._queued += len(data)
        self._ready.set()

    async def recv(self) -> av.Packet[Any]:
        self._asked = True
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        data, ticks = self._queue.popleft()
        self._queued -= len(data)
        packet = av.Packet(data)
        packet.pts = packet.dts = ticks
        packet.time_base = TIME_BASE
        self.sent += 1
        return packet

    def stop(self) -> None:
        super().stop()
        self._ready.set()


class _Video:
    """One connection's H.264 as WebRTC wants it: Annex-B, parameter sets before key frames.
    Lives on the feed's thread."""

    def __init__(self, stream: av.stream.Stream) -> None:
        self.index = stream.index
        extradata = stream.codec_context.extradata or b""
        self._filter: av.bitstream.BitStreamFilterContext | None = None
        self._parameter_sets = b""
        if extradata[:1] == b"\x01":  # avcC (MP4, MKV): lengths, sets out of band
            self._filter = av.bitstream.BitStreamFilterContext("h264_mp4toannexb", stream)
        elif _START_CODE in extradata[:4]:  # Annex-B sets out of band (RTSP's sprop)
            self._parameter_sets = extradata

    def convert(self, packet: av.Packet[Any]) -> list[tuple[bytes, Any, bool]]:
        """The access units of a packet: bytes, presentation time (seconds), key frame."""
        packets = self._filter.filter(packet) if self._filter is not None else [packet]
        units: list[tuple[bytes, Any, bool]] = []
        for out in packets:
            pts = out.pts if out.pts is not None else out.dts
            if pts is None or out.time_base is None or out.size == 0:
                continue
            data = bytes(out)
            key = bool(out.is_keyframe)
            if key and self._parameter_sets and _NAL_SPS not in nal_types(data):
                data = self._parameter_sets + data
            units.append((data, pts * out.time_base, key))
        return units


class FeedPublisher:
    """One feed published into the room: a packet tap on the feed's thread, and on the loop
    its peer connection and Janus publisher, made again whenever they are lost."""

    def __init__(
        self, feed: Feed, room: Callable[[], Room | None], loop: asyncio.AbstractEventLoop
    ) -> None:
        self.feed = feed
        self.name = feed.name
        self._room = room
        self._loop = loop
        # The feed's thread.
        self._video: _Video | None = None
        self._origin: float | None = None
        """Source time (s) at RTP time 0 for this connection; None until its first unit."""
        self._last_out = 0.0
        self._last_at: float | None = None
        self._lock = threading.Lock()
        self._pending: list[tuple[bytes, int, bool]] = []
        self._wake_scheduled = False
        # The loop's own.
        self._problem: str | None = "waiting for the feed's first connection"
        """Why the feed cannot be published now; None once its video is H.264."""
        self._state = "not published: waiting for the feed's first connection"
        self._wake = asyncio.Event()
        self._asked = 0
        """Republications asked for (Janus restarted): each makes the publisher anew."""
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._pc: RTCPeerConnection | None = None
        self._track: PacketTrack | None = None
        self.publisher: Publisher | None = None
        self.publications = 0
        """How many times the feed was published (1, plus each republication)."""
        self.sent = 0
        self.dropped = 0

    # -- the feed's thread: returns at once, never raises ---------------------------------

    def begin(self, streams: Sequence[av.stream.Stream]) -> None:
        video = next((s for s in streams if s.type == "video"), None)
        self._video, problem = None, None
        if video is None:
            problem = "the feed has no video"
        elif video.codec_context.name != CODEC:
            problem = f"its video is {video.codec_context.name}; the room takes H.264"
        else:
            try:
                self._video = _Video(video)
            except (av.error.FFmpegError, ValueError) as exc:
                problem = f"its H.264 cannot be passed on ({exc})"
        self._origin = None
        with contextlib.suppress(RuntimeError):  # the loop has closed: the server stops
            self._loop.call_soon_threadsafe(self._on_begin, problem)

    def put(self, packet: av.Packet[Any]) -> None:
        video = self._video
        if video is None or packet.stream.index != video.index:
            return
        try:
            units = video.convert(packet)
        except (av.error.FFmpegError, ValueError) as exc:
            log.debug("%s: packet not published: %s", self.name, exc)
            return
        if not units:
            return
        now = time.monotonic()
        ready: list[tuple[bytes, int, bool]] = []
        for data, pts, key in units:
            ready.append((data, self._ticks(float(pts), now), key))
        self._last_at = now
        with self._lock:
            self._pending.extend(ready)
            if self._wake_scheduled:
                return
            self._wake_scheduled = True
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._deliver)

    def end(self) -> None:
        self._video = None

    def _ticks(self, pts: float, now: float) -> int:
        """The RTP time (90 kHz) of a unit at source time `pts`: the source's own clock,
        continued across reconnections (the gap as it passed) and clock resets."""
        out = pts - self._origin if self._origin is not None else None
        if out is None or abs(out - self._last_out) > MAX_JUMP_S:
            gap = now - self._last_at if self._last_at is not None else None
            out = 0.0 if gap is None else self._last_out + max(gap, 1 / 30)
            self._origin = pts - out
        self._last_out = max(self._last_out, out)
        return round(out * CLOCK)

    # -- the loop -------------------------------------------------------------------------

    def start(self) -> None:
        self._task = self._loop.create_task(self._run(), name=f"publish {self.name}")

    async def republish(self) -> None:
        """Publish anew (Janus restarted and the room was opened again)."""
        self._asked += 1
        self._wake.set()

    async def close(self) -> None:
        """Leave the room, for good."""
        self._closing = True
        self._wake.set()
        task = self._task
        if task is None:
            return
        try:  # an offer under way is abandoned rather than waited for
            await asyncio.wait_for(asyncio.shield(task), CLOSE_WAIT_S)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def status(self) -> str:
        return self._state

    @property
    def frames_sent(self) -> int:
        """Access units handed to aiortc to send, over every publication."""
        track = self._track
        return self.sent + (track.sent if track is not None else 0)

    def _on_begin(self, problem: str | None) -> None:
        if problem != self._problem:
            self._problem = problem
            self._wake.set()

    def _deliver(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            self._wake_scheduled = False
        track = self._track
        if track is None:
            return
        for data, ticks, key in pending:
            track.push(data, ticks, key)

    def _hindrance(self) -> str | None:
        if self._problem is not None:
            return self._problem
        if self._room() is None:
            return "the room on Janus is not open"
        return None

    async def _run(self) -> None:
        try:
            await self._publish_while_open()
        finally:  # closing, or cancelled mid-offer: nothing is left behind
            await self._unpublish()
            self._state = "not published: stopped"

    async def _publish_while_open(self) -> None:
        delay = RETRY_FIRST_S
        while not self._closing:
            self._wake.clear()
            why = self._hindrance()
            if why is not None:
                self._state = f"not published: {why}"
                await self._wake.wait()
                continue
            room = self._room()
            assert room is not None
            asked = self._asked
            self._state = "not published: connecting to Janus"
            try:
                await asyncio.wait_for(self._publish(room), PUBLISH_TIMEOUT_S)
            except _JANUS_DOWN as exc:
                await self._unpublish()
                self._state = f"not published: Janus did not take it ({exc or 'no answer'})"
                log.warning("%s: %s; trying again in %.0f s", self.name, self._state, delay)
                await self._pause(delay)
                delay = min(delay * 2, RETRY_LIMIT_S)
                continue
            failed = await self._published(room, asked)
            await self._unpublish()
            if failed is not None and not self._closing:
                self._state = f"not published: {failed}"
                log.warning("%s: %s; publishing again in %.0f s", self.name, failed, delay)
                await self._pause(delay)
                delay = min(delay * 2, RETRY_LIMIT_S)
            else:
                delay = RETRY_FIRST_S

    async def _publish(self, room: Room) -> None:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN: Janus is near
        self._pc = pc
        track = PacketTrack()
        self._track = track
        transceiver = pc.addTransceiver(track, direction="sendonly")
        codecs = RTCRtpSender.getCapabilities("video").codecs
        transceiver.setCodecPreferences(
            [c for c in codecs if c.mimeType.lower() in ("video/h264", "video/rtx")]
        )
        pc.on("connectionstatechange", self._wake.set)
        await pc.setLocalDescription(await pc.createOffer())
        self.publisher = await room.publish(self.name, pc.localDescription.sdp)
        await pc.setRemoteDescription(RTCSessionDescription(self.publisher.answer_sdp, "answer"))
        self.publications += 1
        log.info("%s published into the room (Janus feed %s)", self.name, self.publisher.feed_id)

    async def _published(self, room: Room, asked: int) -> str | None:
        """Wait while the publication stands; why it failed, or None if it ended by design
        (closing, republication asked for, the video no longer H.264)."""
        pc, publisher = self._pc, self.publisher
        assert pc is not None
        assert publisher is not None
        lost = self._loop.create_task(publisher.handle.session.closed.wait())
        lost.add_done_callback(lambda _: self._wake.set())
        try:
            while True:
                self._wake.clear()
                if self._closing or asked != self._asked or self._hindrance() is not None:
                    return None
                if publisher.handle.session.closed.is_set():
                    return "the Janus session was lost"
                if pc.connectionState in ("failed", "closed"):
                    return f"the connection to Janus {pc.connectionState}"
                self._state = (
                    "published"
                    if pc.connectionState == "connected"
                    else "not published: connecting to Janus"
                )
                await self._wake.wait()
        finally:
            lost.cancel()

    async def _unpublish(self) -> None:
        pc, track, publisher = self._pc, self._track, self.publisher
        self._pc, self._track, self.publisher = None, None, None
        if track is not None:
            self.sent += track.sent
            self.dropped += track.dropped
            track.stop()
        try:
            if publisher is not None:
                await asyncio.wait_for(publisher.leave(), LEAVE_TIMEOUT_S)
        except _JANUS_DOWN as exc:
            log.debug("%s: leaving the room: %s", self.name, exc)
        finally:
            if pc is not None:
                await pc.close()

    async def _pause(self, seconds: float) -> None:
        """Sleep, or less if closing or republication is asked for."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)


class FeedPublishing:
    """Every feed the server pulls (not callers: they are Janus publishers already)."""

    def __init__(self, room: Callable[[], Room | None]) -> None:
        self._room = room
        self.publishers: dict[str, FeedPublisher] = {}
        """By feed id."""
        self._closing: set[asyncio.Task[None]] = set()

    def add(self, feed: Feed) -> None:
        """Publish the feed from its next packets on (called on the loop)."""
        if feed.id in self.publishers:
            return
        publisher = FeedPublisher(feed, self._room, asyncio.get_running_loop())
        self.publishers[feed.id] = publisher
        feed.packet_taps = (*feed.packet_taps, publisher)
        publisher.start()

    def remove(self, feed: Feed) -> None:
        """The feed has gone: it leaves the room."""
        publisher = self.publishers.pop(feed.id, None)
        if publisher is None:
            return
        feed.packet_taps = tuple(tap for tap in feed.packet_taps if tap is not publisher)
        task = asyncio.get_running_loop().create_task(publisher.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def republish(self) -> None:
        """After Janus restarted and the room is open again: every feed published anew."""
        for publisher in list(self.publishers.values()):
            await publisher.republish()

    async def close(self) -> None:
        publishers = list(self.publishers.values())
        for publisher in publishers:
            publisher.feed.packet_taps = tuple(
                t for t in publisher.feed.packet_taps if t is not publisher
            )
        self.publishers.clear()
        await asyncio.gather(*(p.close() for p in publishers), *self._closing)

    def status(self, feed: Feed) -> str | None:
        """Says "published" or "not published: why"; None for a feed not published here."""
        publisher = self.publishers.get(feed.id)
        return publisher.status() if publisher is not None else None

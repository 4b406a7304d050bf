"""Each feed as the room server pulls it, restreamed to the room's desks as MPEG-TS.

A desk shows what the server pulls, so a camera, a body-cam platform or a drone's link is
pulled once whatever the number of desks. The server decodes nothing for this: each packet
its source demuxes is muxed once into MPEG-TS (a stream copy, as the recorder does) and the
same bytes go to every desk watching the feed (GET /api/v1/feeds/{id}/stream). A desk
reads them as it reads any MPEG-TS feed, through a pinned TLS connection
(app/room/desk_feeds.py), so its CPU per feed is a plain decode's.

MPEG-TS carries its own tables, and FFmpeg's muxer writes them again before every key
frame, so a desk may begin at any key frame. One that begins watching gets the group of
pictures since the last key frame at once: a picture without waiting for the next one. A
desk too slow to keep up (a congested link, a stalled process) is skipped to the next key
frame rather than holding the feed's thread, the other desks or the server's memory; a
torn group of pictures would only show as a smear.

Threads: `begin`, `put` and `end` are called on the feed's own thread (a `PacketSink`),
and must return at once; the watchers live on the server's event loop, woken at most once
per packet whatever their number. No Qt here.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
from collections.abc import Sequence
from typing import Any

import av
import av.container
import av.error
import av.stream

log = logging.getLogger(__name__)

MAX_GROUP_BYTES = 16 * 1024 * 1024
"""A group of pictures kept for desks that begin watching: past this (a feed with key
frames minutes apart) a new desk waits for the next key frame instead."""
MAX_QUEUED_BYTES = 8 * 1024 * 1024
"""A desk this far behind skips to the next key frame."""
MUXER_OPTIONS = {"flush_packets": "1"}
"""Each packet's bytes out as soon as it is muxed: a desk never waits on a full buffer."""


class _Chunks:
    """The muxer's output: the bytes of the packet being muxed."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


class Watcher:
    """One desk watching one feed: the bytes it has yet to be sent. Lives on the loop."""

    def __init__(self) -> None:
        self._chunks: collections.deque[bytes] = collections.deque()
        self._queued = 0
        self._ready = asyncio.Event()
        self._waiting_for_key = True
        """A desk begins at a key frame, and after falling behind resumes at one."""
        self.ended = False
        self.skipped = 0
        """How many times this desk fell so far behind it was moved on to a key frame."""

    def offer(self, chunk: bytes, key: bool) -> None:
        if self._waiting_for_key and not key:
            return
        if self._queued + len(chunk) > MAX_QUEUED_BYTES:
            self._chunks.clear()
            self._queued = 0
            self.skipped += 1
            if not key:
                self._waiting_for_key = True
                return
        self._waiting_for_key = False
        self._chunks.append(chunk)
        self._queued += len(chunk)
        self._ready.set()

    def end(self) -> None:
        self.ended = True
        self._ready.set()

    async def next(self) -> bytes:
        """What to send now; b"" when the feed has gone and nothing is left."""
        while not self._chunks and not self.ended:
            self._ready.clear()
            await self._ready.wait()
        data = b"".join(self._chunks)
        self._chunks.clear()
        self._queued = 0
        return data


class Restream:
    """One feed's restream: a `PacketSink` on the feed's thread, watchers on `loop`."""

    def __init__(self, feed_name: str, loop: asyncio.AbstractEventLoop) -> None:
        self.feed_name = feed_name
        self._loop = loop
        self._lock = threading.Lock()
        self._out = _Chunks()
        self._muxer: av.container.OutputContainer | None = None
        self._streams: dict[int, av.stream.Stream] = {}
        self._video: int | None = None
        # Under the lock: the group of pictures so far, and what waits for the loop.
        self._group: list[bytes] = []
        self._group_bytes = 0
        self._pending: list[tuple[bytes, bool]] = []
        self._wake_scheduled = False
        # The loop's own.
        self._watchers: set[Watcher] = set()
        self._closed = False
        self.packets = 0
        self.bytes = 0

    # -- the feed's thread: returns at once, never raises ---------------------------------

    def begin(self, streams: Sequence[av.stream.Stream]) -> None:
        """A new connection: a new muxer for its streams (a desk's demuxer follows the new
        tables at the next key frame)."""
        self._close_muxer()
        try:
            muxer = av.open(self._out, "w", format="mpegts", options=MUXER_OPTIONS)
            for stream in streams:
                try:
                    self._streams[stream.index] = muxer.add_stream_from_template(
                        stream, opaque=True
                    )
                except (ValueError, av.error.FFmpegError) as exc:  # MPEG-TS cannot carry it
                    log.warning("%s: not restreaming %s: %s", self.feed_name, stream, exc)
                    continue
                if stream.type == "video" and self._video is None:
                    self._video = stream.index
            muxer.start_encoding()
            self._out.take()  # nothing a desk needs: the tables come before each key frame
        except (av.error.FFmpegError, ValueError) as exc:
            log.warning("%s: cannot restream this connection: %s", self.feed_name, exc)
            self._streams.clear()
            return
        self._muxer = muxer

    def put(self, packet: av.Packet[Any]) -> None:
        muxer = self._muxer
        target = self._streams.get(packet.stream.index) if muxer is not None else None
        if target is None or packet.dts is None or packet.size == 0:
            return
        copy = av.Packet(bytes(packet))
        copy.pts, copy.dts, copy.time_base = packet.pts, packet.dts, packet.time_base
        copy.is_keyframe = packet.is_keyframe
        copy.stream = target
        try:
            assert muxer is not None
            muxer.mux(copy)
        except (av.error.FFmpegError, ValueError) as exc:
            log.debug("%s: packet not restreamed: %s", self.feed_name, exc)
            self._out.take()
            return
        chunk = self._out.take()
        if not chunk:
            return
        key = packet.is_keyframe if self._video == packet.stream.index else self._video is None
        self.packets += 1
        self.bytes += len(chunk)
        with self._lock:
            if key:
                self._group, self._group_bytes = [], 0
            if self._group_bytes + len(chunk) <= MAX_GROUP_BYTES and (key or self._group):
                self._group.append(chunk)
                self._group_bytes += len(chunk)
            else:
                self._group, self._group_bytes = [], 0  # too long: new desks wait for a key
            self._pending.append((chunk, key))
            if self._wake_scheduled:
                return
            self._wake_scheduled = True
        with contextlib.suppress(RuntimeError):  # the loop has closed: the server stops
            self._loop.call_soon_threadsafe(self._deliver)

    def end(self) -> None:
        """The connection ended: desks keep watching, and get the next one's packets."""
        self._close_muxer()
        with self._lock:
            self._group, self._group_bytes = [], 0

    # -- the loop -------------------------------------------------------------------------

    def watch(self) -> Watcher:
        """A new desk watching: it is handed the group of pictures so far at once."""
        watcher = Watcher()
        if self._closed:
            watcher.end()
            return watcher
        with self._lock:
            group = list(self._group)
        if group:
            watcher.offer(b"".join(group), True)
        self._watchers.add(watcher)
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    @property
    def watchers(self) -> int:
        return len(self._watchers)

    def close(self) -> None:
        """The feed has gone: every desk watching it is told (its stream ends)."""
        self._closed = True
        for watcher in self._watchers:
            watcher.end()
        self._watchers.clear()

    def status(self) -> dict[str, Any]:
        return {
            "desks": len(self._watchers),
            "packets": self.packets,
            "bytes": self.bytes,
            "skipped": sum(w.skipped for w in self._watchers),
        }

    def _deliver(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            self._wake_scheduled = False
        for watcher in self._watchers:
            for chunk, key in pending:
                watcher.offer(chunk, key)

    def _close_muxer(self) -> None:
        muxer, self._muxer = self._muxer, None
        self._streams.clear()
        self._video = None
        if muxer is None:
            return
        try:
            muxer.close()
        except (av.error.FFmpegError, ValueError) as exc:
            log.debug("%s: closing the restream's muxer: %s", self.feed_name, exc)
        self._out.take()

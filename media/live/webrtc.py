"""A feed received by WebRTC: aiortc's video track shown on the wall like any other source.

aiortc decodes on its own thread and hands frames to the asyncio loop (the GUI thread's,
under qasync). Nothing heavy may happen there, so `WebRtcSource` only moves each frame into
a one-frame handoff; its own thread (`feed-NAME`) converts it for the screen through the
same `PictureOut` the PyAV sources use. A caller who reconnects brings a new track to the
same source and feed: the tile keeps its place and its history.

The handoff keeps only the newest frame, which is right for a screen and wrong for
evidence, so every frame aiortc hands over also goes, before the handoff, to the source's
`frame_sink` when it has one (the caller's encoder, media/recording/caller_recorder.py), which keeps
its own bounded queue and never makes this loop wait.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Protocol

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media.live.feed import Feed
from media.live.picture_out import PictureOut

log = logging.getLogger(__name__)


class FrameHandoff:
    """Holds the newest frame for the converting thread; an older one not yet taken is
    dropped and counted. `close()` wakes the reader with None, the end of the stream."""

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._frame: tuple[av.VideoFrame, float] | None = None
        self._closed = False
        self.dropped = 0

    def put(self, frame: av.VideoFrame, arrived: float) -> None:
        with self._ready:
            if self._frame is not None:
                self.dropped += 1
            self._frame = (frame, arrived)
            self._ready.notify()

    def get(self) -> tuple[av.VideoFrame, float] | None:
        with self._ready:
            while self._frame is None and not self._closed:
                self._ready.wait()
            frame, self._frame = self._frame, None
            return frame

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify()


class FrameSink(Protocol):
    """Takes every decoded frame a track delivers (the recorder's encoder). Called on the
    event loop: each call must return at once and never raise."""

    def begin(self) -> None:
        """A new track: its frames, with their own timeline, follow."""

    def put(self, frame: av.VideoFrame, arrived_at: float) -> None:
        """One frame, and the Unix time it came out of aiortc's decoder."""

    def end(self) -> None:
        """The track ended (the caller left, the link broke, or the source detached)."""


class WebRtcSource:
    """Shows the video tracks a peer sends for one feed, one track at a time."""

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self._handoff = FrameHandoff()
        self._out = PictureOut(feed)
        self._thread = threading.Thread(target=self._convert, name=f"feed-{feed.name}", daemon=True)
        self._receiving: asyncio.Task[None] | None = None
        self.track_ended = asyncio.Event()
        """Set when the current track stops delivering (the peer left or the link broke)."""
        self.frame_sink: FrameSink | None = None
        """Given every frame received, not only those shown: the feed's recording."""

    def start(self) -> None:
        self._thread.start()

    def attach(self, track: MediaStreamTrack) -> None:
        """Show `track` from now on, in place of any earlier one. Call on the event loop."""
        self.detach()
        self.track_ended = asyncio.Event()
        self._receiving = asyncio.get_running_loop().create_task(
            self._receive(track, self.track_ended), name=f"receive-{self.feed.name}"
        )

    def detach(self) -> None:
        if self._receiving is not None:
            self._receiving.cancel()
            self._receiving = None

    def stop(self, timeout_s: float = 1.0) -> None:
        self.detach()
        self._handoff.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    @property
    def dropped(self) -> int:
        """Frames replaced before the converting thread took them."""
        return self._handoff.dropped

    async def _receive(self, track: MediaStreamTrack, ended: asyncio.Event) -> None:
        # Frames come decoded, without their encoded size: the peer connection's own
        # statistics give the bitrate (app/callers/gateway/desk.py reads them).
        sink = self.frame_sink
        if sink is not None:
            sink.begin()
        try:
            while True:
                frame = await track.recv()
                if isinstance(frame, av.VideoFrame):
                    self._handoff.put(frame, time.monotonic())
                    sink = self.frame_sink  # read each time: recording may start or stop
                    if sink is not None:
                        sink.put(frame, time.time())
        except MediaStreamError:
            log.info("feed %s: the sender's video track ended", self.feed.name)
        finally:
            ended.set()
            if self.frame_sink is not None:
                self.frame_sink.end()

    def _convert(self) -> None:
        while (item := self._handoff.get()) is not None:
            frame, arrived = item
            started = time.perf_counter()
            try:
                self._out.deliver(frame, arrived, started)
            except Exception:  # one bad frame must not end the feed
                log.exception("feed %s: could not show a frame", self.feed.name)
                self.feed.stats.decode_errors += 1

"""A feed's sub-stream: the camera's smaller stream, read on its own named thread.

Started by the feed's `FeedSource` when the feed has a `substream_url`, with the same
credentials as its main URL. It stays connected whatever is shown (so a switch to it waits
only for its next key frame, not for a connection), decodes only what the feed's
`StreamSwitch` asks of it, and records nothing: the main stream is the one recorded. Its
connection is its own (`StreamSwitch.sub_connection`): a sub-stream that is down never
makes the feed look down, it is only not used.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import av
import av.container
import av.error
from av.codec.context import Flags

from media.live.backoff import Backoff
from media.live.feed import Connection, Decoding, Feed, FeedState, StreamRole
from media.live.opening import NoMediaError, describe_error, open_options, with_credentials
from media.live.picture_out import PictureOut
from media.live.substream import StreamInfo, StreamSwitch

log = logging.getLogger(__name__)


class SubstreamSource:
    """Runs the sub-stream's thread (`feed-NAME-sub`). `start()` once; `stop()` to end it."""

    def __init__(
        self,
        feed: Feed,
        switch: StreamSwitch,
        *,
        open_timeout_s: float,
        read_timeout_s: float,
        backoff: Backoff | None = None,
    ) -> None:
        assert feed.spec.substream_url is not None
        self.feed = feed
        self.switch = switch
        self._url = feed.spec.substream_url
        self._timeouts = (open_timeout_s, read_timeout_s)
        self._backoff = backoff or Backoff()
        self._stop = threading.Event()
        self._out = PictureOut(feed, role=StreamRole.SUB, switch=switch)
        self._resume_at_key = True
        self._thread = threading.Thread(target=self._run, name=f"feed-{feed.name}-sub", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 1.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._session()
                error = "stream ended"
            except Exception as exc:  # a sub-stream must never take its feed down
                if not isinstance(exc, av.error.FFmpegError | NoMediaError):
                    log.exception("feed %s: unexpected error in its sub-stream", self.feed.name)
                error = describe_error(exc)
            if self._stop.is_set():
                break
            delay = self._backoff.next_delay()
            log.info("feed %s: sub-stream %s; retrying in %.1f s", self.feed.name, error, delay)
            self.switch.sub_connection = Connection(
                FeedState.RECONNECTING, error, time.monotonic() + delay
            )
            self.switch.update()  # the main stream is shown again at its next key frame
            self._stop.wait(delay)
        self.switch.sub_connection = Connection(FeedState.ENDED, "stopped")

    def _session(self) -> None:
        spec = self.feed.spec
        url = with_credentials(self._url, spec.username, spec.password)
        container = av.open(
            url, options=open_options(url, spec.rtsp_transport.value), timeout=self._timeouts
        )
        try:
            self._pump(container)
        finally:
            container.close()

    def _pump(self, container: av.container.InputContainer) -> None:
        if not container.streams.video:
            raise NoMediaError("no video in the sub-stream")
        video = container.streams.video[0]
        context = video.codec_context
        context.thread_count = 1
        context.flags |= Flags.low_delay
        switch, stats = self.switch, self.switch.sub_stats
        stats.connects += 1
        stats.codec = context.name
        stats.width, stats.height = context.width, context.height
        switch.sub = StreamInfo(
            context.name, context.width, context.height, context.sample_aspect_ratio
        )
        self._out.sar = context.sample_aspect_ratio
        self._resume_at_key = True
        for packet in container.demux(video):
            if self._stop.is_set():
                return
            if packet.size == 0:
                continue
            arrived = time.monotonic()
            stats.on_packet(packet.size, arrived)
            if switch.sub_connection.state is not FeedState.LIVE:
                switch.sub_connection = Connection(FeedState.LIVE)
                self._backoff.reset()
            switch.update(arrived)
            if not self._decode_wanted(packet, switch.decoding(StreamRole.SUB)):
                continue
            started = time.perf_counter()
            try:
                for frame in video.decode(packet):
                    if frame.is_corrupt:
                        stats.decode_errors += 1
                    self._out.deliver(frame, arrived, started)
                    started = time.perf_counter()
            except av.error.InvalidDataError:
                stats.decode_errors += 1

    def _decode_wanted(self, packet: av.Packet[Any], decoding: Decoding) -> bool:
        """As the main stream's source decides: a packet left undecoded means decoding
        starts again only at a key frame."""
        if decoding is Decoding.ALL and not self._resume_at_key:
            return True
        if decoding is Decoding.NONE or not packet.is_keyframe:
            self._resume_at_key = True
            return False
        self._resume_at_key = False
        return True

"""A feed's source: opens its URL with PyAV and decodes on its own named thread.

One thread per feed (`feed-BWV-4521`) runs `_run()`: open with low-delay options, demux,
hand each packet as it arrived to the feed's recorder (`Feed.packet_sink`), decode,
convert each picture once to BGRA at the size the wall shows it, and put it in the feed's
latest-frame slot. When the link breaks it waits (0.5 s doubling to 5 s) and
tries again, forever, until `stop()`. Nothing here blocks anyone else: a feed that hangs
hangs only its own thread.
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
from media.live.feed import (
    Connection,
    Decoding,
    Feed,
    FeedState,
    Location,
    PacketSink,
    StreamRole,
)
from media.live.opening import (
    NETWORK_SCHEMES,
    NoMediaError,
    describe_error,
    is_local,
    open_options,
    with_credentials,
)
from media.live.picture_out import PictureOut
from media.live.relay import Relay
from media.live.srt_relay import SrtRelay, is_srt
from media.live.sub_source import SubstreamSource
from media.live.substream import StreamInfo, StreamSwitch
from media.telemetry import DroneTelemetry, KlvReader

log = logging.getLogger(__name__)

OPEN_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 5.0
"""A connected feed silent this long is closed and reopened (it shows STALLED from 2 s)."""

__all__ = [
    "NETWORK_SCHEMES",
    "FeedSource",
    "NoMediaError",
    "describe_error",
    "is_local",
    "open_options",
    "with_credentials",
]


class FeedSource:
    """Runs one feed's decode thread. `start()` once; `stop()` to end it."""

    def __init__(
        self,
        feed: Feed,
        *,
        open_timeout_s: float = OPEN_TIMEOUT_S,
        read_timeout_s: float = READ_TIMEOUT_S,
        backoff: Backoff | None = None,
        relay: Relay | None = None,
    ) -> None:
        self.feed = feed
        self._open_timeout = open_timeout_s
        self._read_timeout = read_timeout_s
        self._backoff = backoff or Backoff()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"feed-{feed.name}", daemon=True)
        self.switch: StreamSwitch | None = None
        """Which of the feed's streams is shown, for a feed with a sub-stream."""
        self._sub: SubstreamSource | None = None
        if feed.spec.substream_url:
            self.switch = StreamSwitch(feed)
            self._sub = SubstreamSource(
                feed, self.switch, open_timeout_s=open_timeout_s, read_timeout_s=read_timeout_s
            )
        self._out = PictureOut(feed, self._backoff, switch=self.switch)
        self._file_clock: tuple[float, float] | None = None
        self._sinks: tuple[PacketSink, ...] = ()
        """The recorder and taps begun on this connection's streams."""
        self._resume_at_key = False
        """A video packet was left undecoded, so decoding may start again only at a key frame."""
        self.relay: Relay | None = relay
        """What the feed is read through, if FFmpeg cannot open its URL itself. srt:// is
        read through srt-live-transmit (the PyAV wheel has no libsrt): its MPEG-TS arrives
        on a loopback UDP port, read like any udp:// feed."""
        if relay is None and is_srt(feed.spec.url):
            self.relay = SrtRelay(
                feed.spec.url, feed.spec.password, name=feed.name, backoff=Backoff()
            )

    def start(self) -> None:
        if self.relay is not None:
            if self.relay.fatal is not None:
                self._fail(self.relay.fatal)
                return
            self.relay.start()
        self._thread.start()
        if self._sub is not None:
            self._sub.start()

    def stop(self, timeout_s: float = 1.0) -> None:
        """Ask the thread to end and wait a little. A read blocked in FFmpeg ends at its
        timeout; the thread is a daemon, so it never holds up the program's exit."""
        self._stop.set()
        if self._sub is not None:
            self._sub.stop(0)
        if self.relay is not None:
            self.relay.stop(timeout_s)
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        if self._sub is not None:
            self._sub.stop(timeout_s)

    @property
    def running(self) -> bool:
        """Whether a thread of the feed's (its main stream's or its sub-stream's) still runs."""
        return self._thread.is_alive() or (self._sub is not None and self._sub.running)

    # -- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        spec = self.feed.spec
        local = is_local(spec.url)
        while not self._stop.is_set():
            try:
                self._session()
                if local and spec.loop:
                    continue
                if local:
                    self.feed.set_connection(Connection(FeedState.ENDED, "end of file"))
                    return
                error = "stream ended"
            except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
                if local:
                    self._fail(f"{exc.strerror}: {spec.url}")
                    return
                error = describe_error(exc)
            except av.error.InvalidDataError as exc:
                if local:
                    self._fail(f"not a video file ({describe_error(exc)}): {spec.url}")
                    return
                error = describe_error(exc)
            except NoMediaError as exc:
                if local:
                    self._fail(str(exc))
                    return
                error = str(exc)
            except Exception as exc:  # a feed must never take the wall down: report and retry
                if not isinstance(exc, av.error.FFmpegError):
                    log.exception("feed %s: unexpected error", spec.name)
                error = describe_error(exc)
            if self._stop.is_set():
                break
            if self.relay is not None:
                error = self.relay.explain(error)
            delay = self._backoff.next_delay()
            log.info("feed %s: %s; retrying in %.1f s", spec.name, error, delay)
            self.feed.set_connection(
                Connection(FeedState.RECONNECTING, error, time.monotonic() + delay)
            )
            self._stop.wait(delay)
        self.feed.set_connection(Connection(FeedState.ENDED, "stopped"))

    def _fail(self, error: str) -> None:
        log.warning("feed %s failed: %s", self.feed.name, error)
        self.feed.set_connection(Connection(FeedState.FAILED, error))

    def _session(self) -> None:
        spec = self.feed.spec
        options: dict[str, str] | None = None
        if self.relay is not None:
            url = self.relay.local_url
            options = self.relay.open_options()
        else:
            url = with_credentials(spec.url, spec.username, spec.password)
        container = av.open(
            url,
            options=options
            if options is not None
            else open_options(url, spec.rtsp_transport.value),
            timeout=(self._open_timeout, self._read_timeout),
        )
        try:
            self._pump(container)
        finally:
            for sink in self._sinks:  # the connection is over: its segment is closed now
                sink.end()
            self._sinks = ()
            container.close()

    def _pump(self, container: av.container.InputContainer) -> None:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise NoMediaError("no video or audio in this stream")
        klv = next((d for d in container.streams.data if d.name == "klv"), None)
        streams: list[Any] = [s for s in (video, audio, klv) if s is not None]
        reader = KlvReader() if klv is not None else None
        if reader is not None:
            self.feed.klv = reader.stats
        stats = self.feed.stats
        stats.connects += 1
        if video is not None:
            # One decode thread per feed: with many feeds the cores are already shared out,
            # and frame threading would add a frame of delay per thread.
            video.codec_context.thread_count = 1
            # Hand each picture out as soon as it is decoded: live feeds have no B-frames
            # worth waiting for, and the decoder would otherwise hold one back to reorder.
            video.codec_context.flags |= Flags.low_delay
            stats.codec = video.codec_context.name
            # The stream's size before any picture: a feed that decodes nothing still has one.
            stats.width, stats.height = video.codec_context.width, video.codec_context.height
            self._out.sar = video.codec_context.sample_aspect_ratio
            if self.switch is not None:
                context = video.codec_context
                self.switch.main = StreamInfo(
                    context.name, context.width, context.height, context.sample_aspect_ratio
                )
        if audio is not None:
            stats.audio_codec = audio.codec_context.name
        if self.feed.connection.state is not FeedState.LIVE:
            self.feed.set_connection(Connection(FeedState.CONNECTING))
        self._file_clock = None
        pace = is_local(self.feed.spec.url)
        for packet in container.demux(streams):
            if self._stop.is_set():
                return
            if packet.size == 0:
                continue
            if pace:
                self._pace(packet)  # a file's packet "arrives" when its time comes
            arrived = time.monotonic()
            stats.on_packet(packet.size, arrived)
            self._record(packet, streams)
            if self.switch is not None:
                self.switch.update(arrived)
            if packet.is_corrupt:  # the demuxer saw lost or broken transport packets
                stats.decode_errors += 1
            if packet.stream is klv and reader is not None:
                for telemetry in reader.feed(bytes(packet)):
                    self._on_telemetry(telemetry)
                continue
            if not self._decode_wanted(packet, video):
                continue
            try:
                if packet.stream is video:
                    started = time.perf_counter()
                    for frame in video.decode(packet):
                        # FFmpeg conceals most damage rather than failing: count what it flags.
                        if frame.is_corrupt:
                            stats.decode_errors += 1
                        self._out.deliver(frame, arrived, started)
                        started = time.perf_counter()
                else:
                    for sound in packet.decode():
                        self.feed.audio.feed(sound)  # type: ignore[arg-type]
            except av.error.InvalidDataError:
                # Damaged data: count it and carry on; the decoder resyncs at the next key frame.
                stats.decode_errors += 1
        if video is not None and not self._stop.is_set():
            # The stream ended: drain the pictures the decoder still holds back for reordering
            # (B-frames), or a file's last frames are never shown.
            try:
                started = time.perf_counter()
                for frame in video.decode(None):
                    self._out.deliver(frame, time.monotonic(), started)
                    started = time.perf_counter()
            except av.error.FFmpegError:
                stats.decode_errors += 1

    def _decode_wanted(self, packet: av.Packet[Any], video: Any) -> bool:
        """Whether to decode this packet, as the feed's `decoding` says (and, for a feed with
        a sub-stream, its switch: nothing of the main stream's video while the sub is shown).
        A video packet left undecoded leaves the decoder without its references, so it
        resumes at a key frame."""
        decoding = self.feed.decoding
        if self.switch is not None and packet.stream is video:
            decoding = self.switch.decoding(StreamRole.MAIN)
        if decoding is Decoding.ALL and not self._resume_at_key:
            return True
        if decoding is not Decoding.ALL:
            self._out.live()  # nothing or little is decoded: its packets say it is live
        if packet.stream is not video:
            return decoding is not Decoding.NONE  # sound: heard unless nothing is wanted
        if decoding is Decoding.NONE or not packet.is_keyframe:
            self._resume_at_key = True
            return False
        self._resume_at_key = False
        return True

    def _record(self, packet: av.Packet[Any], streams: list[Any]) -> None:
        """Give the packet, as demuxed, to the feed's recorder and taps before decoding
        touches it. One attached (or swapped) while connected begins on this connection."""
        feed = self.feed
        recorder = feed.packet_sink
        sinks = feed.packet_taps if recorder is None else (recorder, *feed.packet_taps)
        if sinks != self._sinks:
            for sink in self._sinks:
                if sink not in sinks:
                    sink.end()
            for sink in sinks:
                if sink not in self._sinks:
                    sink.begin(streams)
            self._sinks = sinks
        for sink in sinks:
            sink.put(packet)

    def _on_telemetry(self, telemetry: DroneTelemetry) -> None:
        """A drone's local set: its position (where the sensor is) and heading."""
        feed = self.feed
        feed.telemetry = telemetry
        if telemetry.sensor_lat is not None and telemetry.sensor_lon is not None:
            feed.location = Location(
                telemetry.sensor_lat,
                telemetry.sensor_lon,
                None,
                telemetry.time_utc if telemetry.time_utc is not None else time.time(),
                heading_deg=telemetry.heading_deg,
            )

    def _pace(self, packet: av.Packet[Any]) -> None:
        """Play a local file at its own speed, not as fast as it decodes."""
        if packet.pts is None or packet.time_base is None:
            return
        pts_s = float(packet.pts * packet.time_base)
        now = time.monotonic()
        if self._file_clock is None or pts_s < self._file_clock[1]:
            self._file_clock = (now, pts_s)
            return
        due = self._file_clock[0] + (pts_s - self._file_clock[1])
        if due > now:
            self._stop.wait(min(due - now, 1.0))

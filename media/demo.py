"""The built-in demo: nine live feeds that Vigil encodes with PyAV and sends itself over UDP.

`python -m media.demo --ports 50000/50001,50002,...` (or `vigil _demo-sender`) runs the
sender in its own process, so its encoding never competes with the wall for the GIL. Each
feed is a live H.264 encode (a moving test card with the name and a running clock burnt
in) muxed as MPEG-TS and sent to 127.0.0.1. The body cams and drones are sent as cameras
send them, twice: a 960x540 main stream and a 480x270 sub-stream (the same pictures,
scaled), on the two ports given as MAIN/SUB; so small tiles say SUB and a spotlit one
shows the main stream. The callers, phones in a browser, have one 640x360 stream. The
sender ends when its parent goes away.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
import av.container
import av.video.stream
import numpy as np

from media.live import FeedKind
from media.telemetry import DroneTelemetry, encode_packet
from media.testcard import TestCard


@dataclass(frozen=True)
class DemoFeed:
    name: str
    kind: FeedKind
    hue: tuple[int, int, int]

    @property
    def has_substream(self) -> bool:
        """Cameras (body cams, drones) send a sub-stream; a caller's phone does not."""
        return self.kind is not FeedKind.CALLER

    @property
    def size(self) -> tuple[int, int]:
        return CAMERA_SIZE if self.has_substream else DEMO_SIZE


DEMO_FEEDS: tuple[DemoFeed, ...] = (
    DemoFeed("Caller · Priya N", FeedKind.CALLER, (255, 150, 80)),
    DemoFeed("Caller · Tom H", FeedKind.CALLER, (230, 120, 160)),
    DemoFeed("Caller · Ana R", FeedKind.CALLER, (255, 190, 110)),
    DemoFeed("BWV-4521", FeedKind.BODYCAM, (90, 160, 255)),
    DemoFeed("BWV-4533", FeedKind.BODYCAM, (120, 140, 240)),
    DemoFeed("BWV-4607", FeedKind.BODYCAM, (80, 190, 230)),
    DemoFeed("BWV-4718", FeedKind.BODYCAM, (140, 170, 255)),
    DemoFeed("Drone Alpha", FeedKind.DRONE, (110, 220, 140)),
    DemoFeed("Drone Bravo", FeedKind.DRONE, (150, 230, 110)),
)

DEMO_SIZE = (640, 360)
"""A caller's picture."""
CAMERA_SIZE = (960, 540)
"""A body cam's or drone's main stream: big enough that a spotlit tile shows it."""
SUB_SIZE = (480, 270)
"""Their sub-stream: what a tile of a 3x3 wall in the demo's window still fills. Sizes are
kept modest so the sender costs under a core of two (960x540 rather than 1080p)."""
DEMO_FPS = 15


AUDIO_RATE = 48_000
AUDIO_FRAME = 1024  # samples per AAC frame


class CallerVoice:
    """A voice-like sound (a low tone whose loudness rises and falls like speech), so the
    demo callers' level meters move and a listener hears something."""

    def __init__(self, pitch_hz: float) -> None:
        self.pitch = pitch_hz
        self.samples = 0

    def next_frame(self) -> av.AudioFrame:
        t = (self.samples + np.arange(AUDIO_FRAME)) / AUDIO_RATE
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 2.7 * t) * np.sin(2 * np.pi * 0.4 * t)
        wave = 0.25 * envelope * np.sin(2 * np.pi * self.pitch * t)
        frame = av.AudioFrame.from_ndarray(
            wave.astype(np.float32).reshape(1, -1), format="fltp", layout="mono"
        )
        frame.sample_rate = AUDIO_RATE
        frame.pts = self.samples
        frame.time_base = Fraction(1, AUDIO_RATE)
        self.samples += AUDIO_FRAME
        return frame


YORK = (53.9590, -1.0815)
"""The demo drones circle York's centre (the demo needs a real place to show on a map)."""


@dataclass(frozen=True)
class Orbit:
    """A drone circling a point with its camera on it: telemetry as MISB ST 0601 reports it."""

    centre: tuple[float, float]
    radius_m: float = 400.0
    period_s: float = 120.0
    altitude_m: float = 150.0
    phase: float = 0.0

    def at(self, t: float, unix_time: float) -> DroneTelemetry:
        angle = self.phase + 2 * math.pi * t / self.period_s
        lat0, lon0 = self.centre
        metres_per_deg_lon = 111_320 * math.cos(math.radians(lat0))
        lat = lat0 + self.radius_m * math.cos(angle) / 111_320
        lon = lon0 + self.radius_m * math.sin(angle) / metres_per_deg_lon
        heading = (math.degrees(angle) + 90) % 360  # anticlockwise seen from above: tangent
        half = 60 / 111_320  # a 120 m square on the ground around the centre
        return DroneTelemetry(
            time_utc=unix_time,
            heading_deg=heading,
            sensor_lat=lat,
            sensor_lon=lon,
            sensor_alt_m=self.altitude_m,
            frame_centre_lat=lat0,
            frame_centre_lon=lon0,
            frame_centre_elev_m=15.0,
            corners=(
                (lat0 + half, lon0 - half),
                (lat0 + half, lon0 + half),
                (lat0 - half, lon0 + half),
                (lat0 - half, lon0 - half),
            ),
            hfov_deg=30.0,
            vfov_deg=17.0,
            platform="DEMO UAS",
            sensor_name="EO",
        )


def _open_udp_ts(port: int) -> av.container.OutputContainer:
    return av.open(
        f"udp://127.0.0.1:{port}?pkt_size=1316",
        "w",
        format="mpegts",
        options={"flush_packets": "1"},
    )


def _add_video(
    out: av.container.OutputContainer,
    size: tuple[int, int],
    fps: int,
    bitrate: int,
    codec: str = "libx264",
) -> av.video.stream.VideoStream:
    stream = out.add_stream(codec, rate=fps)
    assert isinstance(stream, av.video.stream.VideoStream)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.bit_rate = bitrate
    # A key frame every second so a wall that joins late (or switches to this stream)
    # shows a picture within a second.
    stream.codec_context.gop_size = fps
    # One encoder thread: the sender runs beside the wall, and x264's frame threads cost
    # more CPU in all than they save in time on pictures this small.
    stream.codec_context.thread_count = 1
    if codec == "libx264":
        stream.codec_context.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "x264-params": f"keyint={fps}:min-keyint={fps}:repeat-headers=1",
        }
    stream.codec_context.time_base = Fraction(1, fps)
    return stream


@dataclass(frozen=True)
class SubStream:
    """A camera's second, smaller stream of the same pictures, to another port. `codec` and
    a `size` of another shape or bigger than the main exist for the tests of bad ones."""

    port: int
    size: tuple[int, int] = SUB_SIZE
    codec: str = "libx264"
    bitrate: int = 250_000


class TsUdpSender:
    """One H.264 stream (and optionally AAC sound), encoded live and sent as MPEG-TS to
    udp://127.0.0.1:port; with `sub`, the same pictures scaled and sent as a sub-stream."""

    def __init__(
        self,
        card: TestCard,
        port: int,
        fps: int,
        *,
        bitrate: int = 600_000,
        voice: CallerVoice | None = None,
        orbit: Orbit | None = None,
        sub: SubStream | None = None,
    ) -> None:
        self.card = card
        self._orbit = orbit
        self.fps = fps
        self.frames = 0
        self._voice = voice
        self._out = _open_udp_ts(port)
        self._stream = _add_video(self._out, (card.width, card.height), fps, bitrate)
        self._sub = sub
        self._sub_out = _open_udp_ts(sub.port) if sub is not None else None
        self._sub_stream = (
            _add_video(self._sub_out, sub.size, fps, sub.bitrate, sub.codec)
            if sub is not None and self._sub_out is not None
            else None
        )
        self._klv = self._out.add_data_stream("klv") if orbit is not None else None
        self._audio = None
        if voice is not None:
            self._audio = self._out.add_stream("aac", rate=AUDIO_RATE, layout="mono")
            self._audio.bit_rate = 48_000

    def send_next(self, clock: dt.datetime) -> None:
        picture = self.card.render(self.frames, clock)
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        if self._sub_stream is not None and self._sub_out is not None and self._sub is not None:
            # Into YUV once; the sub-stream's picture is then a cheap scale of that.
            frame = frame.reformat(format="yuv420p")
            small = frame.reformat(*self._sub.size)
            small.pts = self.frames
            small.time_base = Fraction(1, self.fps)
            for packet in self._sub_stream.encode(small):
                self._sub_out.mux(packet)
        frame.pts = self.frames
        frame.time_base = Fraction(1, self.fps)
        for packet in self._stream.encode(frame):
            self._out.mux(packet)
        if self._orbit is not None and self._klv is not None and self.frames % 5 == 0:
            # Telemetry a few times a second, stamped with the picture it goes with.
            t = self.frames / self.fps
            klv = av.Packet(encode_packet(self._orbit.at(t, clock.timestamp())))
            klv.stream = self._klv
            klv.pts = klv.dts = round(t * 90_000)
            klv.time_base = Fraction(1, 90_000)
            self._out.mux(klv)
        self.frames += 1
        if self._voice is not None and self._audio is not None:
            # Keep the sound level with the pictures: as many AAC frames as time has passed.
            while self._voice.samples < self.frames * AUDIO_RATE / self.fps:
                for packet in self._audio.encode(self._voice.next_frame()):
                    self._out.mux(packet)

    def drop_sub(self) -> None:
        """Stop sending the sub-stream, the main one going on (a camera whose second
        encoder dies, for the tests)."""
        if self._sub_out is not None:
            self._sub_out.close()
        self._sub = self._sub_out = self._sub_stream = None

    def close(self) -> None:
        try:
            for packet in self._stream.encode():
                self._out.mux(packet)
            if self._audio is not None:
                for packet in self._audio.encode():
                    self._out.mux(packet)
            if self._sub_stream is not None and self._sub_out is not None:
                for packet in self._sub_stream.encode():
                    self._sub_out.mux(packet)
        finally:
            self._out.close()
            if self._sub_out is not None:
                self._sub_out.close()


def run_senders(
    senders: Sequence[TsUdpSender],
    fps: int,
    stop: threading.Event,
    keep_going: Callable[[], bool] = lambda: True,
) -> None:
    """Send one frame of every feed per tick, on an absolute schedule (no drift)."""
    period = 1 / fps
    next_tick = time.monotonic()
    while not stop.is_set() and keep_going():
        clock = dt.datetime.now(dt.UTC)
        for sender in senders:
            sender.send_next(clock)
        next_tick += period
        delay = next_tick - time.monotonic()
        if delay > 0:
            stop.wait(delay)
        elif delay < -1:  # fell far behind (machine busy): skip ahead, don't burst
            next_tick = time.monotonic()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vigil _demo-sender", description=__doc__)
    parser.add_argument(
        "--ports",
        required=True,
        help="comma-separated UDP ports, one per demo feed; MAIN/SUB for one with a sub-stream",
    )
    parser.add_argument("--fps", type=int, default=DEMO_FPS)
    parser.add_argument("--size", help="WxH of every main stream (default: each feed's own)")
    args = parser.parse_args(argv)
    size = tuple(int(v) for v in args.size.lower().split("x")) if args.size else None
    senders = []
    for index, (feed, ports) in enumerate(zip(DEMO_FEEDS, args.ports.split(","), strict=False)):
        main_port, _, sub_port = ports.partition("/")
        width, height = size or feed.size
        senders.append(
            TsUdpSender(
                TestCard(feed.name, width, height, feed.hue),
                int(main_port),
                args.fps,
                voice=CallerVoice(140 + 45 * index) if feed.kind is FeedKind.CALLER else None,
                orbit=Orbit(YORK, phase=index) if feed.kind is FeedKind.DRONE else None,
                bitrate=1_200_000 if feed.has_substream else 600_000,
                sub=SubStream(int(sub_port), (width // 2 & ~1, height // 2 & ~1))
                if sub_port
                else None,
            )
        )
    parent = os.getppid()
    stop = threading.Event()
    try:
        run_senders(senders, args.fps, stop, keep_going=lambda: os.getppid() == parent)
    except KeyboardInterrupt:
        pass
    finally:
        for sender in senders:
            sender.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

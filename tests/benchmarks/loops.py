"""Short pre-encoded H.264 loops that the benchmark's sender replays.

Encoding live would make the sender, not the wall, the thing that eats the two cores, so
each resolution is encoded once (libx264 ultrafast, zerolatency, a key frame every second,
headers repeated) and cached as an MPEG-TS file under bench-results/streams/. Pictures
come from `media.testcard.TestCard`, so each one carries its frame number as a barcode.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from media.testcard import TestCard

RESULTS_DIR = Path(__file__).resolve().parents[2] / "bench-results"
CACHE_DIR = RESULTS_DIR / "streams"
FORMAT_VERSION = 1
"""Bump when the encoding below changes, so stale caches are not replayed."""


@dataclass(frozen=True)
class LoopSpec:
    """What one cached loop is: its size, rate, length and target bitrate."""

    width: int
    height: int
    fps: int = 30
    frames: int = 60
    bitrate: int = 3_000_000

    @property
    def label(self) -> str:
        return f"{self.height}p{self.fps}"

    @property
    def path(self) -> Path:
        name = f"loop-{self.width}x{self.height}-{self.fps}fps-{self.bitrate // 1000}k"
        return CACHE_DIR / f"{name}-v{FORMAT_VERSION}.ts"


RESOLUTIONS: dict[int, LoopSpec] = {
    720: LoopSpec(1280, 720, bitrate=3_000_000),
    1080: LoopSpec(1920, 1080, bitrate=6_000_000),
}
"""Bitrates of a typical body-worn or fixed camera at these sizes."""


@dataclass(frozen=True)
class LoopInfo:
    """Facts about an encoded loop, kept next to it as JSON."""

    spec: LoopSpec
    packets: int
    keyframes: list[int]
    bytes_total: int

    @property
    def bitrate_bps(self) -> float:
        return self.bytes_total * 8 * self.spec.fps / max(1, self.packets)


def ensure_loop(spec: LoopSpec) -> LoopInfo:
    """The cached loop for `spec`, encoding it first if it is not there yet."""
    meta = spec.path.with_suffix(".json")
    if spec.path.exists() and meta.exists():
        data = json.loads(meta.read_text())
        return LoopInfo(spec, data["packets"], data["keyframes"], data["bytes_total"])
    spec.path.parent.mkdir(parents=True, exist_ok=True)
    info = _encode(spec)
    meta.write_text(json.dumps({**asdict(info), "spec": asdict(spec)}, indent=1))
    return info


def _encode(spec: LoopSpec) -> LoopInfo:
    """Encode twice the loop's length and keep the second half: by then the rate control
    has settled, and the kept half still starts on a key frame (the GOP divides it)."""
    assert spec.frames % spec.fps == 0, "the loop must start on a key frame"
    card = TestCard(f"BENCH {spec.label}", spec.width, spec.height, (110, 200, 255))
    rate = Fraction(spec.fps)
    kbps = spec.bitrate // 1000
    tmp = spec.path.with_suffix(".part")
    keyframes: list[int] = []
    total = 0
    kept = 0
    with av.open(str(tmp), "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height = spec.width, spec.height
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = spec.bitrate
        stream.codec_context.gop_size = spec.fps
        stream.codec_context.time_base = 1 / rate
        stream.codec_context.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "x264-params": (
                f"keyint={spec.fps}:min-keyint={spec.fps}:scenecut=0:repeat-headers=1"
                f":vbv-maxrate={kbps}:vbv-bufsize={kbps}"
            ),
        }

        def keep(packets: list[av.Packet[Any]]) -> None:
            nonlocal total, kept
            for packet in packets:
                if packet.pts is None or packet.pts < spec.frames:
                    continue
                packet.pts -= spec.frames
                packet.dts = packet.pts
                if packet.is_keyframe:
                    keyframes.append(packet.pts)
                total += packet.size
                kept += 1
                out.mux(packet)

        for number in range(2 * spec.frames):
            frame = av.VideoFrame.from_ndarray(card.render(number), format="rgb24")
            frame.pts = number
            frame.time_base = 1 / rate
            keep(stream.encode(frame))
        keep(stream.encode(None))
    os.replace(tmp, spec.path)
    if kept != spec.frames or not keyframes or keyframes[0] != 0:
        raise RuntimeError(f"loop {spec.path} came out wrong: {kept} packets, keys {keyframes}")
    return LoopInfo(spec, kept, keyframes, total)


def read_packets(path: Path) -> tuple[list[tuple[bytes, bool]], av.container.InputContainer]:
    """The loop's packets in order as (data, is_keyframe), and the open container (whose
    video stream is the template for the sender's outputs; the caller closes it)."""
    container = av.open(str(path))
    packets = [
        (bytes(packet), bool(packet.is_keyframe))
        for packet in container.demux(container.streams.video[0])
        if packet.size > 0
    ]
    return packets, container

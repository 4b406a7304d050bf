"""The ceiling: the same N streams decoded by a bare PyAV loop, no Qt, no slot, no wall.

One thread per stream, opened with the app's own low-delay options, one decoder thread
and the decoder's low-delay flag, as `FeedSource` does. With `convert=True` each frame is also scaled to its tile's
size as BGRA (what `FeedSource` does before the wall sees it), so the cost of decoding,
of converting and of showing can be told apart.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import av
import av.error
import numpy as np
from av.codec.context import Flags
from av.video.reformatter import Interpolation, VideoReformatter

from media.live.picture_out import fit_size
from media.live.source import open_options
from tests.benchmarks import measure
from tests.benchmarks.wall_run import WALL_SIZE
from widgets.layout import cell_rects, layout_for


def tile_boxes(count: int) -> list[tuple[int, int]]:
    """The tile sizes the wall gives `count` feeds in its "auto" layout."""
    rects = cell_rects(layout_for("auto", count), *WALL_SIZE)
    return [(w, h) for _, _, w, h in rects[:count]]


class _Decoder:
    """Decodes one URL on its own thread until `stop` is set; counts frames."""

    def __init__(
        self, index: int, url: str, box: tuple[int, int] | None, stop: threading.Event
    ) -> None:
        self.url = url
        self.box = box
        self.frames = 0
        self.errors = 0
        self._stop = stop
        self._thread = threading.Thread(target=self._run, name=f"decode-{index}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        reformatter = VideoReformatter()
        while not self._stop.is_set():
            try:
                with av.open(
                    self.url, options=open_options(self.url), timeout=(5.0, 5.0)
                ) as container:
                    video = container.streams.video[0]
                    video.codec_context.thread_count = 1
                    video.codec_context.flags |= Flags.low_delay
                    sar = video.codec_context.sample_aspect_ratio
                    for packet in container.demux(video):
                        if self._stop.is_set():
                            return
                        if packet.size == 0:
                            continue
                        try:
                            frames = packet.decode()
                        except av.error.InvalidDataError:
                            self.errors += 1
                            continue
                        for frame in frames:
                            if self.box is not None:
                                width, height = fit_size(frame.width, frame.height, *self.box, sar)
                                out = reformatter.reformat(
                                    frame,
                                    width,
                                    height,
                                    "bgra",
                                    interpolation=Interpolation.BILINEAR,
                                    threads=1,
                                )
                                np.frombuffer(
                                    memoryview(out.planes[0]), np.uint8
                                )  # as FeedSource does
                            self.frames += 1
            except av.error.FFmpegError:
                self.errors += 1


def run_bare(
    urls: list[str], seconds: float, warmup_max_s: float, settle_s: float, convert: bool
) -> dict[str, Any]:
    stop = threading.Event()
    boxes = tile_boxes(len(urls))
    decoders = [_Decoder(i, url, boxes[i] if convert else None, stop) for i, url in enumerate(urls)]
    launched = time.monotonic()
    for decoder in decoders:
        decoder.start()
    ready_at: float | None = None
    while True:
        now = time.monotonic()
        if ready_at is None and all(d.frames > 0 for d in decoders):
            ready_at = now
        if (ready_at is not None and now - ready_at >= settle_s) or now - launched >= warmup_max_s:
            break
        time.sleep(0.02)
    start = time.monotonic()
    cpu = measure.snapshot()
    frames = [d.frames for d in decoders]
    errors = [d.errors for d in decoders]
    time.sleep(seconds)
    end = time.monotonic()
    cpu_end = measure.snapshot()
    frames_end = [d.frames for d in decoders]
    errors_end = [d.errors for d in decoders]
    groups = measure.thread_groups("decode-")
    stop.set()
    return {
        "convert": convert,
        "boxes": [list(b) for b in boxes] if convert else None,
        "warmup_s": start - launched,
        "warmup_timed_out": ready_at is None,
        "window": [start, end],
        "seconds": end - start,
        "cpu_s": cpu_end.process_s - cpu.process_s,
        "machine_busy_s": cpu_end.machine_busy_s - cpu.machine_busy_s,
        "cpu_by_thread": measure.cpu_by_group(cpu, cpu_end, groups),
        "peak_rss_mb": measure.peak_rss_mb(),
        "decoded": [b - a for a, b in zip(frames, frames_end, strict=True)],
        "decode_errors": [b - a for a, b in zip(errors, errors_end, strict=True)],
    }

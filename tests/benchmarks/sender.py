"""The benchmark's sender: replays a cached loop to N UDP ports as live MPEG-TS.

Runs in its own process (`python -m tests.benchmarks.sender ...`) so it never holds the
measured process's GIL. It only remuxes, so it costs little next to the wall. Timestamps
are rewritten to run on for ever (frame k of port i has pts k, time base 1/fps), and the
ports are staggered across the frame period, as independent cameras would be.

When it stops (SIGTERM, `--duration`, or its parent going away) it writes a JSON log: for
each port, the monotonic time frame k left the muxer. `time.monotonic()` is
CLOCK_MONOTONIC, so these times compare with the receiver's on the same Linux machine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from tests.benchmarks.loops import read_packets

MUXER_OPTIONS = {
    # Hand each TS packet run to the socket as the frame is muxed, not when the next frame
    # fills the buffer: otherwise the end of every frame waits a frame period.
    "flush_packets": "1",
}
"""Video PES headers keep FFmpeg's default of no length, as cameras and encoders send them:
the receiving demuxer then hands a frame on when the next one starts, a frame period
later. Giving lengths would free small frames at once but not key frames over 64 KiB,
which would then leave the demuxer together with the frame after them."""


def send(
    loop: Path,
    ports: Sequence[int],
    fps: int,
    stop: threading.Event,
    duration_s: float | None = None,
) -> dict[str, Any]:
    """Send until `stop` is set (or `duration_s` passes); the log as a dict."""
    packets, source = read_packets(loop)
    template = source.streams.video[0]
    outputs = []
    streams = []
    for port in ports:
        out = av.open(
            f"udp://127.0.0.1:{port}?pkt_size=1316",
            "w",
            format="mpegts",
            container_options=MUXER_OPTIONS,
        )
        streams.append(out.add_stream_from_template(template))
        outputs.append(out)
    source.close()

    time_base = Fraction(1, fps)
    sent: list[list[float]] = [[] for _ in ports]
    n = len(ports)
    late_max = 0.0
    resyncs = 0
    cpu_start = time.process_time()
    start = time.monotonic() + 0.1
    epoch = start
    k = 0
    try:
        while not stop.is_set():
            for i, (out, stream) in enumerate(zip(outputs, streams, strict=True)):
                due = epoch + (k + i / n) / fps
                now = time.monotonic()
                if due > now:
                    time.sleep(due - now)
                elif now - due > 0.5:  # starved of CPU: start the schedule again, no burst
                    resyncs += 1
                    epoch = now - (k + i / n) / fps
                late_max = max(late_max, time.monotonic() - due)
                data, key = packets[k % len(packets)]
                packet = av.Packet(data)
                packet.pts = packet.dts = k
                packet.duration = 1
                packet.time_base = time_base
                packet.is_keyframe = key
                packet.stream = stream
                out.mux(packet)
                sent[i].append(time.monotonic())
            k += 1
            if duration_s is not None and time.monotonic() - start > duration_s:
                break
    finally:
        for out in outputs:
            out.close()
    return {
        "ports": list(ports),
        "fps": fps,
        "loop_frames": len(packets),
        "start": start,
        "frames": k,
        "sent": sent,
        "late_max_s": late_max,
        "resyncs": resyncs,
        "cpu_s": time.process_time() - cpu_start,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loop", type=Path, required=True)
    parser.add_argument("--ports", required=True, help="comma-separated UDP ports")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--duration", type=float, default=None)
    args = parser.parse_args(argv)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    parent = os.getppid()

    def watch_parent() -> None:
        while not stop.wait(0.5):
            if os.getppid() != parent:
                stop.set()

    threading.Thread(target=watch_parent, name="watch-parent", daemon=True).start()
    ports = [int(p) for p in args.ports.split(",")]
    log = send(args.loop, ports, args.fps, stop, args.duration)
    tmp = args.log.with_suffix(".part")
    tmp.write_text(json.dumps(log))
    os.replace(tmp, args.log)
    return 0


if __name__ == "__main__":
    sys.exit(main())

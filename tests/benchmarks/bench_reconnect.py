"""How soon a lost feed is back: an RTSP server stopped long enough for the reconnect wait to
reach its cap, then started again; the time from the server being ready to the feed's first
new frame.

    python -m tests.benchmarks reconnect [--runs N]

Vigil's FeedSource with its own backoff (1 s cap) beside, in the same run, the same source
with the former 5 s cap as the baseline. A GStreamer RTSP server on loopback
(tests/servers.py), H.264 with a key frame a second. Medians and the worst run; JSON in
bench-results/reconnect-*.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from media.live.backoff import Backoff
from media.live.feed import Feed, FeedKind, FeedSpec, FeedState
from media.live.source import FeedSource
from tests.benchmarks.loops import RESULTS_DIR
from tests.benchmarks.report import machine_info
from tests.servers import RtspServer, wait_for


def back_live_s(limit_s: float, runs: int, down_s: float) -> list[float]:
    server = RtspServer().start()
    feed = Feed(FeedSpec("Cam", FeedKind.CAMERA, server.url))
    feed.set_display_size(320, 180)
    source = FeedSource(
        feed, open_timeout_s=1.0, read_timeout_s=2.0, backoff=Backoff(limit_s=limit_s)
    )
    source.start()
    times = []
    try:
        wait_for(lambda: feed.stats.frames > 10, 15, "the feed to be live")
        for _ in range(runs):
            server.stop()
            wait_for(lambda: feed.state() is FeedState.RECONNECTING, 15, "reconnecting")
            time.sleep(down_s)  # the wait grows to its cap meanwhile
            frames = feed.stats.frames
            server = RtspServer(port=server.port).start()
            ready = time.monotonic()
            wait_for(lambda frames=frames: feed.stats.frames > frames, 30, "the feed back")
            times.append(time.monotonic() - ready)
    finally:
        source.stop()
        server.stop()
    return times


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks reconnect")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="3 runs")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    runs = 3 if args.quick else args.runs
    rows = []
    for label, limit in (("Vigil (1 s cap)", 1.0), ("baseline (5 s cap)", 5.0)):
        times = back_live_s(limit, runs, down_s=6.0)
        rows.append(
            {
                "source": label,
                "cap_s": limit,
                "runs": [round(t, 3) for t in times],
                "median_s": round(statistics.median(times), 3),
                "worst_s": round(max(times), 3),
            }
        )
    print("RTSP server back -> first new frame (seconds)")
    print(f"{'source':<22}{'median':>8}{'worst':>8}")
    for row in rows:
        print(f"{row['source']:<22}{row['median_s']:>8.2f}{row['worst_s']:>8.2f}")
    out = args.out or RESULTS_DIR / f"reconnect-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine_info(), "rows": rows}, indent=1))
    print(f"JSON: {out}")
    return 0

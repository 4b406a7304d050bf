"""The map panel's cost: what the GUI thread spends keeping N moving feeds on the map.

    python -m tests.benchmarks map [--seconds S] [--quick]

For N feeds that each report a new position every second (walkers around York, as the
demo's officers do), the real `MapPanel` is shown offscreen at 520x800 (Qt Quick in
software, as on a machine without a GPU) and the process's CPU time is measured over the
window. Beside it, in the same run, the baseline: the same feeds and the same once-a-
second sampling into the marker model, with the panel hidden, so nothing is drawn. The
difference is what drawing the map costs. Medians of the per-second samples; JSON in
bench-results/map-*.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_QUICK_BACKEND", "software")

from PySide6.QtCore import QElapsedTimer, QTimer
from PySide6.QtWidgets import QApplication

from media.demo import YORK
from media.live.feed import Feed, FeedKind, FeedSpec, Location
from media.telemetry.geo import offset
from tests.benchmarks.report import machine_info
from widgets.map.panel import MapPanel, MapSetup

KINDS = (FeedKind.CALLER, FeedKind.BODYCAM, FeedKind.DRONE, FeedKind.OFFICER)


def walkers(count: int) -> list[Feed]:
    return [
        Feed(FeedSpec(f"Feed {n + 1:03d}", KINDS[n % len(KINDS)], "udp://127.0.0.1:9"))
        for n in range(count)
    ]


def move(feeds: list[Feed], t: float) -> None:
    """Each feed walks its own 300 m circle at 1.4 m/s."""
    now = time.time()
    for n, feed in enumerate(feeds):
        angle = n * 0.7 + t * 1.4 / 300
        centre = offset(*YORK, 600 * math.sin(n), 600 * math.cos(n * 1.3))
        lat, lon = offset(*centre, 300 * math.cos(angle), 300 * math.sin(angle))
        feed.location = Location(lat, lon, 8.0, now, heading_deg=math.degrees(angle) % 360)


def run(app: QApplication, count: int, seconds: float, shown: bool) -> dict[str, float]:
    feeds = walkers(count)
    move(feeds, 0)
    panel = MapPanel(lambda: feeds, MapSetup(note="benchmark", centre=YORK, zoom=14))
    panel.resize(520, 800)
    if shown:
        panel.show()
    refresh_ms: list[float] = []
    cpu_per_s: list[float] = []
    started = time.monotonic()
    last_cpu = time.process_time()
    timer = QElapsedTimer()

    def tick() -> None:
        nonlocal last_cpu
        move(feeds, time.monotonic() - started)
        timer.start()
        panel.refresh()
        refresh_ms.append(timer.nsecsElapsed() / 1e6)
        cpu = time.process_time()
        cpu_per_s.append(cpu - last_cpu)
        last_cpu = cpu

    panel._timer.stop()  # the benchmark drives the refresh itself, once a second
    ticker = QTimer()
    ticker.timeout.connect(tick)
    ticker.start(1000)
    QTimer.singleShot(round(seconds * 1000), app.quit)
    app.exec()
    ticker.stop()
    panel.close()
    panel.deleteLater()
    app.processEvents()
    samples = cpu_per_s[2:] or cpu_per_s  # the first seconds load QML and build items
    return {
        "cores": round(statistics.median(samples), 4),
        "refresh_ms_median": round(statistics.median(refresh_ms), 2),
        "refresh_ms_max": round(max(refresh_ms), 2),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks map")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--quick", action="store_true", help="6 s per configuration")
    args = parser.parse_args(argv)
    seconds = 6 if args.quick else args.seconds
    from app.qt_log import route_qt_messages

    route_qt_messages()  # Qt's chatter goes to logging, not over the table
    app = QApplication.instance() or QApplication([])
    rows = []
    for count in (9, 50, 200):
        baseline = run(app, count, seconds, shown=False)
        shown = run(app, count, seconds, shown=True)
        rows.append({"feeds": count, "hidden": baseline, "shown": shown})
    print(f"Map panel, N feeds each moving every second, {seconds:g} s per run, medians")
    print(
        f"{'feeds':>5}  {'CPU hidden':>10}  {'CPU shown':>9}  {'map draws':>9}  "
        f"{'refresh ms (shown)':>18}"
    )
    for row in rows:
        hidden, shown = row["hidden"], row["shown"]
        print(
            f"{row['feeds']:>5}  {hidden['cores']:>10.3f}  {shown['cores']:>9.3f}  "
            f"{shown['cores'] - hidden['cores']:>9.3f}  "
            f"{shown['refresh_ms_median']:>8.2f} / {shown['refresh_ms_max']:.2f} max"
        )
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    path = out / f"map-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(
        json.dumps({"machine": machine_info(), "seconds": seconds, "rows": rows}, indent=1)
    )
    print(f"JSON: {path}")
    return 0

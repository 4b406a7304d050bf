"""One measured run of the real wall: N udp feeds on an offscreen 1920x1080 `Wall`.

The app's own pieces do the work (a `FeedSource` decode thread per feed, the feed's slot,
the wall's display timer, the tiles' paint). The benchmark only listens: each tile's
`paint_observer` notes which picture it painted and when. After a warm-up (every tile has
shown a picture, then a second more) it measures for a fixed window.
"""

from __future__ import annotations

import time
from typing import Any

from media.live.feed import Feed, FeedKind, FeedSpec
from media.live.slot import Picture
from media.live.source import FeedSource
from media.testcard import read_frame_number
from tests.benchmarks import measure

WALL_SIZE = (1920, 1080)
BARCODES_PER_FEED = 8
"""Pictures per feed whose frame-number barcode is read, during warm-up only (it costs a
little GUI time), to check that pts k is the sender's frame k."""


def run_wall(
    urls: list[str], seconds: float, warmup_max_s: float, settle_s: float
) -> dict[str, Any]:
    from PySide6.QtCore import QTimer

    from app.instance import make_qt_app
    from widgets.wall.wall import Wall

    app = make_qt_app(offscreen=True)  # as `vigil run` sets Qt and the GIL up
    feeds = [
        Feed(FeedSpec(f"BENCH {i + 1}", FeedKind.CAMERA, url), feed_id=f"bench-{i}")
        for i, url in enumerate(urls)
    ]
    index = {feed.id: i for i, feed in enumerate(feeds)}
    wall = Wall(feeds, "auto")
    wall.resize(*WALL_SIZE)
    wall.show()

    paints: list[tuple[int, float | None, float, float, float | None]] = []
    barcodes: list[tuple[int, float | None, int]] = []
    read_counts = [0] * len(feeds)
    shown_size = [[0, 0] for _ in feeds]
    state: dict[str, Any] = {"measuring": False}

    def observe(feed: Feed, picture: Picture, painted_at: float) -> None:
        i = index[feed.id]
        # arrival-to-paint splits at decoded_at into the decode thread's part (decode,
        # convert) and the GUI's (waking up, paint).
        paints.append((i, picture.pts_s, picture.arrived_at, painted_at, picture.decoded_at))
        shown_size[i] = [picture.width, picture.height]
        if not state["measuring"] and read_counts[i] < BARCODES_PER_FEED:
            read_counts[i] += 1
            barcodes.append(
                (i, picture.pts_s, read_frame_number(picture.pixels[:, : picture.width]))
            )

    for tile in wall.tiles:
        tile.paint_observer = observe

    sources = [FeedSource(feed) for feed in feeds]
    launched = time.monotonic()
    for source in sources:
        source.start()

    def counters() -> dict[str, list[int]]:
        return {
            "decoded": [feed.stats.frames for feed in feeds],
            "slot_dropped": [feed.slot.dropped for feed in feeds],
            "decode_errors": [feed.stats.decode_errors for feed in feeds],
            "painted": [tile.painted_frames for tile in wall.tiles],
        }

    def tick() -> None:
        now = time.monotonic()
        if not state["measuring"]:
            if "ready_at" not in state and all(t.painted_frames > 0 for t in wall.tiles):
                state["ready_at"] = now
            ready = "ready_at" in state and now - state["ready_at"] >= settle_s
            timed_out = now - launched >= warmup_max_s
            if ready or timed_out:
                state.update(
                    measuring=True,
                    timed_out=not ready,
                    start=now,
                    cpu=measure.snapshot(),
                    counters=counters(),
                    rss=measure.rss_mb(),
                )
        elif now - state["start"] >= seconds:
            state.update(
                end=now,
                cpu_end=measure.snapshot(),
                counters_end=counters(),
                groups=measure.thread_groups("feed-"),
                boxes=[list(feed.display_size) for feed in feeds],
                rss_end=measure.rss_mb(),
            )
            app.quit()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(20)
    app.exec()
    timer.stop()
    for source in sources:
        source.stop(0.2)

    start, end = state["start"], state["end"]
    before, after = state["counters"], state["counters_end"]
    delta = {key: [b - a for a, b in zip(before[key], after[key], strict=True)] for key in before}
    return {
        "wall_size": [wall.width(), wall.height()],
        "warmup_s": start - launched,
        "warmup_timed_out": state["timed_out"],
        "window": [start, end],
        "seconds": end - start,
        "cpu_s": state["cpu_end"].process_s - state["cpu"].process_s,
        "machine_busy_s": state["cpu_end"].machine_busy_s - state["cpu"].machine_busy_s,
        "cpu_by_thread": measure.cpu_by_group(state["cpu"], state["cpu_end"], state["groups"]),
        "peak_rss_mb": measure.peak_rss_mb(),
        "rss_start_mb": state["rss"],
        "rss_end_mb": state["rss_end"],
        "tiles": [
            {
                "box": state["boxes"][i],
                "picture": shown_size[i],
                "source": [feed.stats.width, feed.stats.height],
                "connects": feed.stats.connects,
            }
            for i, feed in enumerate(feeds)
        ],
        **delta,
        "paints": [list(p) for p in paints if start <= p[3] <= end],
        "barcodes": [list(b) for b in barcodes],
    }

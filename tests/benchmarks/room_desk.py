"""One desk of the room benchmark, in a process of its own (so its CPU is its own).

    python -m tests.benchmarks.room_desk direct --urls udp://...,udp://... --result F
    python -m tests.benchmarks.room_desk room --server URL --fingerprint FP --result F
    python -m tests.benchmarks.room_desk relay --server URL --fingerprint FP --result F

`direct` is the desk as it is today, pulling each camera itself: a `FeedSource` per URL.
`room` is a room's desk: signed in to `vigil server` (the account's password in
$VIGIL_BENCH_PASSWORD), a `RoomRelay` per feed the room lists (pinned HTTPS stream to a
loopback UDP port) and the same `FeedSource` decoding it. Both decode every picture and
convert it to the size of its tile on a 1920x1080 wall in the "auto" layout, as a wall's
feeds do, but paint nothing (painting costs the same on both sides). After a warm-up
(every feed has a picture, then `settle` seconds) each measures its own CPU time over a
window and notes every picture decoded in it: which feed, its pts, when its packet came
off the demuxer and when it was decoded (monotonic clock, as the sender's log).

`relay` is a desk that only holds the room's streams (a `RoomRelay` per feed, nothing
decoded): what the server sees of a desk, at a fraction of a desk's CPU, so that eight of
them fit on this machine beside the server. It writes a file when every stream flows and
holds them until SIGTERM, then writes its CPU time and what it received.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from media.live import Feed, FeedKind, FeedSource, FeedSpec
from media.testcard import read_frame_number
from tests.benchmarks import measure, report
from tests.benchmarks.bare_decode import tile_boxes

BARCODES_PER_FEED = 8
"""Pictures per feed whose frame-number barcode is read during warm-up, to tie pts to the
sender's frame numbers."""


def _room_feeds(server: str, fingerprint: str, user: str) -> tuple[list[Feed], list[Any]]:
    """The room's feeds, in name order, each with its relay (signed in as `user`)."""
    from app.config import RoomSettings
    from app.room.client import RoomClient
    from app.room.desk_feeds import RoomRelay, room_feed_spec

    client = RoomClient(RoomSettings(server, fingerprint))
    client.sign_in(user, os.environ["VIGIL_BENCH_PASSWORD"])
    listed = sorted(client.room()["feeds"], key=lambda f: str(f["name"]))
    feeds = [Feed(room_feed_spec(dict(f), client.server), feed_id=str(f["id"])) for f in listed]
    relays = [
        RoomRelay(client, str(f["id"]), name=feed.name)
        for f, feed in zip(listed, feeds, strict=True)
    ]
    return feeds, relays


def measure_desk(
    feeds: list[Feed],
    relays: list[Any] | None,
    seconds: float,
    warmup_max_s: float,
    settle_s: float,
) -> dict[str, Any]:
    """Decode `feeds` (through `relays` when given) and measure a window; the raw record."""
    index = {feed.id: i for i, feed in enumerate(feeds)}
    for feed, box in zip(feeds, tile_boxes(len(feeds)), strict=True):
        feed.set_display_size(*box)
    state: dict[str, Any] = {"window": None}
    pictures: list[tuple[int, float | None, float, float]] = []
    barcodes: list[tuple[int, float | None, int]] = []
    read = [0] * len(feeds)

    def listen(feed: Feed) -> None:  # on the feed's decode thread, right after its put
        picture = feed.slot.peek()
        if picture is None:
            return
        i = index[feed.id]
        if state["window"] is not None:
            pictures.append((i, picture.pts_s, picture.arrived_at, picture.decoded_at))
        elif read[i] < BARCODES_PER_FEED:
            read[i] += 1
            code = read_frame_number(picture.pixels[:, : picture.width])
            barcodes.append((i, picture.pts_s, code))

    for feed in feeds:
        feed.picture_listener = listen
    sources = [
        FeedSource(feed, relay=relays[i] if relays else None) for i, feed in enumerate(feeds)
    ]
    launched = time.monotonic()
    for source in sources:
        source.start()
    ready_at: float | None = None
    while True:
        now = time.monotonic()
        if ready_at is None and all(r >= BARCODES_PER_FEED for r in read):
            ready_at = now
        if (ready_at is not None and now - ready_at >= settle_s) or now - launched > warmup_max_s:
            break
        time.sleep(0.02)
    frames = [feed.stats.frames for feed in feeds]
    errors = [feed.stats.decode_errors for feed in feeds]
    cpu = measure.snapshot()
    start = time.monotonic()
    state["window"] = start
    time.sleep(seconds)
    end = time.monotonic()
    cpu_end = measure.snapshot()
    state["window"] = None
    frames_end = [feed.stats.frames for feed in feeds]
    errors_end = [feed.stats.decode_errors for feed in feeds]
    groups = _thread_groups()
    by_group: dict[str, float] = {}
    for tid, spent in cpu_end.threads.items():
        group = groups.get(tid, "ffmpeg")
        by_group[group] = by_group.get(group, 0.0) + spent - cpu.threads.get(tid, 0.0)
    return {
        "warmup_s": start - launched,
        "warmup_timed_out": ready_at is None,
        "window": [start, end],
        "seconds": end - start,
        "cpu_s": cpu_end.process_s - cpu.process_s,
        "machine_busy_s": cpu_end.machine_busy_s - cpu.machine_busy_s,
        "cpu_by_thread": by_group,
        "decoded": [b - a for a, b in zip(frames, frames_end, strict=True)],
        "decode_errors": [b - a for a, b in zip(errors, errors_end, strict=True)],
        "sizes": [[feed.stats.width, feed.stats.height] for feed in feeds],
        "boxes": [list(feed.display_size) for feed in feeds],
        "names": [feed.name for feed in feeds],
        "pictures": [list(p) for p in pictures if start <= p[3] <= end],
        "barcodes": [list(b) for b in barcodes],
        "peak_rss_mb": measure.peak_rss_mb(),
    }


def _thread_groups() -> dict[int, str]:
    """Native thread id -> "decode" (a feed's demux/decode/convert thread), "relay" (a room
    relay: TLS in, UDP out), "main"; the rest (FFmpeg's UDP readers) count as "ffmpeg"."""
    groups: dict[int, str] = {}
    for thread in threading.enumerate():
        if thread.native_id is None:
            continue
        if thread is threading.main_thread():
            groups[thread.native_id] = "main"
        elif thread.name.startswith("feed-"):
            groups[thread.native_id] = "decode"
        elif thread.name.startswith("room-"):
            groups[thread.native_id] = "relay"
    return groups


def hold_relays(relays: list[Any], ready: Path, result: Path) -> None:
    """Hold the streams until SIGTERM; `ready` is written once every one has flowed."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    for relay in relays:
        relay.start()
    said = False
    while not stop.wait(0.05):
        if not said and all(relay.bytes > 0 for relay in relays):
            ready.write_text("ready")
            said = True
    report.write_json(
        result,
        {
            "cpu_s": measure.process_cpu_s(),
            "bytes": [relay.bytes for relay in relays],
            "connects": [relay.connects for relay in relays],
            "problems": [relay.problem for relay in relays],
        },
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("direct", "room", "relay"))
    parser.add_argument("--urls", help="direct: comma-separated feed URLs")
    parser.add_argument("--server", help="room, relay: the room server's https:// URL")
    parser.add_argument("--fingerprint", help="room, relay: its certificate's fingerprint")
    parser.add_argument("--user", default="desk")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup-max", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=1.0)
    parser.add_argument("--ready", type=Path, help="relay: written when every stream flows")
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.mode == "direct":
        urls = args.urls.split(",")
        feeds = [
            Feed(FeedSpec(f"Bench-{i + 1}", FeedKind.CAMERA, url), feed_id=f"bench-{i + 1}")
            for i, url in enumerate(urls)
        ]
        relays = None
    else:
        feeds, relays = _room_feeds(args.server, args.fingerprint, args.user)
    if args.mode == "relay":
        assert relays is not None
        hold_relays(relays, args.ready, args.result)
    else:
        result = measure_desk(feeds, relays, args.seconds, args.warmup_max, args.settle)
        report.write_json(args.result, {"mode": args.mode, **result})
    sys.stdout.flush()
    os._exit(0)  # decode and relay threads may sit in blocking reads; they need no goodbye


if __name__ == "__main__":
    sys.exit(main())

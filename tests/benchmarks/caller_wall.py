"""The caller benchmark's measured process: the real wall with its embedded caller gateway.

As `vigil run` composes them: `make_qt_app`, a `FeedService`, a `GatewayService` on the
qasync loop (HTTPS on loopback, media offered on 127.0.0.1 only) and the `WallWindow`
whose caller controls put each caller's tile on the wall, shown offscreen at 1920x1080.
The gateway's settings are the defaults but for where it listens (so its answers carry
the default `video_start_kbps`). The benchmark changes nothing in them; it only listens
from outside:

- the desk's `answer` and `offer` are wrapped to time the consent and WHIP requests;
- the WHIP session's peer connection reports its ICE and DTLS state changes;
- the caller source's frame handoff `put` (once per frame out of aiortc's decoder, with
  its arrival stamp) and the feed's `stats.on_frame` (once per frame converted for the
  screen) are wrapped;
- the tile's `paint_observer` reads the frame number back from every painted picture.

Before any caller it measures the empty wall for `--idle` s (its own cost per second).
The phone process (caller_phone.py) and this one meet through files in the work folder:
this one writes links.json, `painted-<i>` at link i's first painted frame, and
`window-start` / `window-done` around the measured stream; it stops on `stop`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from media.live.feed import Feed
from media.live.slot import Picture
from media.testcard import read_frame_number
from tests.benchmarks import caller_window, measure

WALL_SIZE = (1920, 1080)


class Recorder:
    """Everything observed about each link, in monotonic seconds."""

    def __init__(self, workdir: Path, stream_index: int, seconds: float, settle_s: float):
        self.workdir = workdir
        self.stream_index = stream_index
        self.seconds = seconds
        self.settle_s = settle_s
        self.links: list[dict[str, Any]] = []
        self.by_token: dict[str, int] = {}
        self.by_feed_id: dict[str, int] = {}
        self.window: dict[str, Any] = {}
        self.idle: dict[str, Any] = {}

    def event(self, index: int, name: str, when: float | None = None) -> None:
        events = self.links[index]["events"]
        events.setdefault(name, time.monotonic() if when is None else when)

    def on_paint(self, index: int, feed: Feed, picture: Picture, painted_at: float) -> None:
        link = self.links[index]
        number = read_frame_number(picture.pixels[:, : picture.width])
        if "first_paint" not in link["events"]:
            self.event(index, "first_paint", painted_at)
            link["first_picture"] = {
                "number": number,
                "arrived_at": picture.arrived_at,
                "decoded_at": picture.decoded_at,
                "painted_at": painted_at,
                "source": [picture.source_width, picture.source_height],
                "shown": [picture.width, picture.height],
            }
            (self.workdir / f"painted-{index}").touch()
            if index == self.stream_index:
                asyncio.get_event_loop().call_later(self.settle_s, self.start_window, feed)
        if index == self.stream_index and "end" not in self.window:
            link["paints"].append(
                (
                    number,
                    painted_at,
                    picture.arrived_at,
                    picture.decoded_at,
                    picture.source_width,
                    picture.source_height,
                )
            )

    def counters(self, feed: Feed, tile: Any, source: Any) -> dict[str, Any]:
        return {
            "arrived": self.links[self.stream_index]["arrived"],
            "converted": feed.stats.frames,
            "painted": tile.painted_frames if tile is not None else None,
            "slot_dropped": feed.slot.dropped,
            "handoff_dropped": getattr(source, "dropped", None),
            "decode_errors": feed.stats.decode_errors,
        }

    def start_window(self, feed: Feed) -> None:
        self.window.update(
            caller_window.opened(),
            counters=self.counters(feed, self.window.get("tile"), self.window.get("source")),
        )
        (self.workdir / "window-start").touch()
        asyncio.get_event_loop().call_later(self.seconds, self.end_window, feed)

    def end_window(self, feed: Feed) -> None:
        self.window.update(
            caller_window.closed(),
            counters_end=self.counters(feed, self.window.get("tile"), self.window.get("source")),
            thread_names=_thread_names(),
            display_size=list(feed.display_size),
            rss_mb=measure.rss_mb(),
        )
        (self.workdir / "window-done").touch()


def _thread_names() -> dict[str, str]:
    names = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            names[tid] = Path(f"/proc/self/task/{tid}/comm").read_text().strip()
        except OSError:
            continue
    for thread in threading.enumerate():
        if thread.native_id is not None:
            names[str(thread.native_id)] = thread.name
    return names


def _observe_desk(desk: Any, rec: Recorder) -> None:
    """Time the consent and WHIP requests, and the peer connection's state changes."""
    answer, offer = desk.answer, desk.offer

    async def timed_answer(token: str, *args: Any, **kwargs: Any) -> Any:
        index = rec.by_token.get(token)
        if index is not None:
            rec.event(index, f"consent_{args[1]}_in")
        cpu = time.thread_time()
        try:
            return await answer(token, *args, **kwargs)
        finally:
            if index is not None:
                rec.event(index, f"consent_{args[1]}_out")
                rec.links[index].setdefault("cpu_ms", {})[f"consent_{args[1]}"] = (
                    time.thread_time() - cpu
                ) * 1000

    async def timed_offer(token: str, *args: Any, **kwargs: Any) -> Any:
        index = rec.by_token.get(token)
        if index is not None:
            rec.event(index, "whip_in")
        cpu = time.thread_time()
        result = await offer(token, *args, **kwargs)
        if index is not None:
            rec.event(index, "whip_out")
            rec.links[index].setdefault("cpu_ms", {})["whip"] = (time.thread_time() - cpu) * 1000
            _watch_peer(desk, rec, index)
        return result

    desk.answer, desk.offer = timed_answer, timed_offer


def _watch_peer(desk: Any, rec: Recorder, index: int) -> None:
    # Private attributes: the session's peer connection is not part of any interface. If
    # they move, the ICE/DTLS split is left out and everything else still works.
    link_id = rec.links[index]["link_id"]
    session = getattr(getattr(desk, "_calls", {}).get(link_id), "session", None)
    pc = getattr(session, "_pc", None)
    if session is None or pc is None:
        return
    rec.links[index]["codec"] = session.codec

    def ice() -> None:
        rec.event(index, f"ice_{pc.iceConnectionState}")

    def connection() -> None:
        rec.event(index, f"pc_{pc.connectionState}")

    pc.on("iceconnectionstatechange", ice)
    pc.on("connectionstatechange", connection)


def _observe_feed(feed: Feed, source: Any, tile: Any, rec: Recorder, index: int) -> None:
    link = rec.links[index]
    # Private: the caller source's handoff sees each frame out of aiortc's decoder (the
    # feed's stats are not told of them). If it moves, arrivals are not counted.
    handoff = getattr(source, "_handoff", None)
    if handoff is not None:
        put = handoff.put

        def counted(frame: Any, arrived: float) -> None:
            if link["arrived"] == 0:
                rec.event(index, "first_decoded", arrived)
            link["arrived"] += 1
            put(frame, arrived)

        handoff.put = counted

    on_frame = feed.stats.on_frame

    def converted(width: int, height: int, work_s: float, now: float) -> None:
        if feed.stats.frames == 0:
            rec.event(index, "first_converted", now)
            link["first_convert_ms"] = work_s * 1000
        on_frame(width, height, work_s, now)

    # Instance attributes over the methods: the feed's own counters carry on as before.
    feed.stats.on_frame = converted  # type: ignore[method-assign]
    rec.event(index, "page_opened")
    if tile is not None:
        tile.paint_observer = lambda f, picture, at: rec.on_paint(index, f, picture, at)
        link["tile_size"] = [tile.width(), tile.height()]


async def serve(args: argparse.Namespace) -> dict[str, Any]:
    from app.callers.gateway.service import GatewayService
    from app.config import GatewaySettings
    from app.config.sms import SmsSettings
    from app.feeds.service import FeedService
    from app.paths import BaseDir
    from app.window import WallWindow
    from tests.servers import free_port

    workdir = Path(args.workdir)
    rec = Recorder(workdir, args.trials, args.seconds, args.settle)
    feeds = FeedService()
    feeds.start()
    port = free_port()
    settings = GatewaySettings(
        host="127.0.0.1",
        port=port,
        public_url=f"https://127.0.0.1:{port}",
        ice_addresses=("127.0.0.1",),
    )
    service = GatewayService(settings, SmsSettings(), BaseDir(workdir / "base").ensure(), feeds)
    window = WallWindow([], layout=args.layout, service=feeds, gateway=service)
    window.resize(*WALL_SIZE)
    window.show()
    if not await service.start():
        raise RuntimeError(service.error)
    await asyncio.sleep(1.0)  # the window shown, the gateway listening: then the idle wall
    idle = caller_window.opened()
    await asyncio.sleep(args.idle)
    rec.idle = caller_window.figures({**idle, **caller_window.closed()})
    _observe_desk(service.desk, rec)

    def added(feed: Feed) -> None:
        index = rec.by_feed_id.get(feed.id)
        if index is None:
            return
        tile = next((t for t in window.wall.tiles if t.feed is feed), None)
        call = getattr(service.desk, "_calls", {}).get(rec.links[index]["link_id"])
        source = getattr(call, "source", None)
        _observe_feed(feed, source, tile, rec, index)
        if index == rec.stream_index:
            rec.window.update(tile=tile, source=source)

    feeds.added.append(added)

    def ended(link: Any) -> None:
        # As the operator's "Remove tile": every trial's tile then takes the same cell.
        feed = next((f for f in feeds.feeds if f.id == f"caller-{link.id}"), None)
        if feed is not None and link.id != rec.links[rec.stream_index]["link_id"]:
            asyncio.get_event_loop().call_later(0.2, feeds.remove, feed)

    service.desk.link_ended.append(ended)

    urls = []
    for i in range(args.trials + 1):
        link, url = service.desk.invite(name=f"Bench caller {i + 1}", incident="BENCH")
        rec.links.append({"link_id": link.id, "events": {}, "arrived": 0, "paints": []})
        rec.by_token[url.rsplit("/", 1)[1]] = i
        rec.by_feed_id[f"caller-{link.id}"] = i
        urls.append(url)
    (workdir / "links.json.part").write_text(json.dumps({"port": port, "urls": urls}))
    os.replace(workdir / "links.json.part", workdir / "links.json")

    while not (workdir / "stop").exists():
        await asyncio.sleep(0.05)
    window_info = rec.window
    await service.close()
    feeds.stop()
    window.close()
    result = _result(rec, window_info, window.wall.size())
    result["idle"] = rec.idle
    result["start_kbps"] = settings.video_start_kbps
    return result


def _result(rec: Recorder, window: dict[str, Any], wall_size: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "wall_size": [wall_size.width(), wall_size.height()],
        "links": [{k: v for k, v in link.items() if k != "paints"} for link in rec.links],
        "peak_rss_mb": measure.peak_rss_mb(),
    }
    if "end" in window:
        before, after = window["counters"], window["counters_end"]
        result["stream"] = {
            **caller_window.figures(window),
            "cpu_by_native_thread": {
                window["thread_names"].get(str(tid), str(tid)): t
                - window["cpu"].threads.get(tid, 0.0)
                for tid, t in window["cpu_end"].threads.items()
            },
            "counters": {
                k: (after[k] - before[k]) if isinstance(after[k], int) else None for k in after
            },
            "display_size": window["display_size"],
            "rss_end_mb": window["rss_mb"],
            "paints": [list(p) for p in rec.links[rec.stream_index]["paints"]],
        }
    return result


def main() -> None:
    parser = caller_window.arguments()
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--layout", default="3x3")
    parser.add_argument("--idle", type=float, default=3.0, help="s of an empty wall measured")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    import qasync

    from app.instance import make_qt_app

    make_qt_app(offscreen=True)  # as `vigil run` sets Qt and the GIL's switch interval up
    asyncio.set_event_loop_policy(None)
    result = qasync.run(serve(args))
    out = Path(args.workdir) / "wall-result.json"
    out.write_text(json.dumps(result))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()

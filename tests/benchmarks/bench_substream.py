"""The sub-stream benchmark (issue 17): N cameras of 1080p30 main + 360p30 sub on a 4x4
offscreen wall at 1920x1080, shown from their sub-streams against shown from their mains,
and what hidden tiles save; beside a bare PyAV decode of the same mains and subs.

Each run is a fresh process fed by its own senders (tests/benchmarks/sender.py replaying a
cached 1080p30 loop to the mains' ports and a 360p30 loop to the subs'), measured for a
fixed window after every shown tile has painted:

  subs          the wall, each feed with a substream_url: its tile shows the sub-stream
  mains         the wall, mains only (no substream_url): every tile decodes 1080p
  mains-spot    mains only, the first tile spotlit: the other N-1 hidden, key frames only
  bare-mains    a bare PyAV decode of the N mains (no Qt, no conversion)
  bare-subs     a bare PyAV decode of the N subs

    python -m tests.benchmarks substream [--seconds 8] [--feeds 16]

It prints a table (medians of per-tile figures; CPU in cores over the window) and writes
bench-results/substream.json. It is never a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.benchmarks import measure, report
from tests.benchmarks.bench_wall import free_udp_ports
from tests.benchmarks.loops import RESOLUTIONS, RESULTS_DIR, LoopSpec, ensure_loop

ROOT = RESULTS_DIR.parent
MAIN_LOOP = RESOLUTIONS[1080]
SUB_LOOP = LoopSpec(640, 360, bitrate=800_000)
WALL_SIZE = (1920, 1080)
WARMUP_MAX_S = 20.0
SETTLE_S = 1.0
KINDS = ("subs", "mains", "mains-spot", "bare-mains", "bare-subs")


# -- inside a measured process ------------------------------------------------------------


def run_wall(
    urls: list[str], sub_urls: list[str] | None, spotlight: bool, seconds: float
) -> dict[str, Any]:
    from PySide6.QtCore import QTimer

    from app.instance import make_qt_app
    from media.live.feed import Feed, FeedKind, FeedSpec, StreamRole
    from media.live.source import FeedSource
    from widgets.wall.wall import Wall

    app = make_qt_app(offscreen=True)
    feeds = [
        Feed(
            FeedSpec(
                f"BENCH {i + 1}",
                FeedKind.CAMERA,
                url,
                substream_url=sub_urls[i] if sub_urls else None,
            ),
            feed_id=f"bench-{i}",
        )
        for i, url in enumerate(urls)
    ]
    wall = Wall(feeds, "4x4")
    wall.resize(*WALL_SIZE)
    wall.show()
    if spotlight:
        wall.set_spotlight(wall.tiles[0])
    sources = [FeedSource(feed) for feed in feeds]
    launched = time.monotonic()
    for source in sources:
        source.start()
    shown = [tile for tile in wall.tiles if tile.isVisible()]
    state: dict[str, Any] = {"measuring": False}

    def decoded() -> list[dict[str, int]]:
        counts = []
        for source in sources:
            if source.switch is None:
                counts.append({"main": source.feed.stats.frames, "sub": 0})
            else:
                counts.append({r.value: source.switch.decoded[r] for r in StreamRole})
        return counts

    def painted() -> list[int]:
        return [tile.painted_frames for tile in wall.tiles]

    def tick() -> None:
        now = time.monotonic()
        if not state["measuring"]:
            if "ready_at" not in state and all(t.painted_frames > 0 for t in shown):
                state["ready_at"] = now
            ready = "ready_at" in state and now - state["ready_at"] >= SETTLE_S
            if ready or now - launched >= WARMUP_MAX_S:
                state.update(
                    measuring=True,
                    timed_out=not ready,
                    start=now,
                    cpu=measure.snapshot(),
                    decoded=decoded(),
                    painted=painted(),
                    shown=[tile.isVisible() for tile in wall.tiles],
                )
        elif now - state["start"] >= seconds:
            state.update(
                end=now, cpu_end=measure.snapshot(), decoded_end=decoded(), painted_end=painted()
            )
            app.quit()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(20)
    app.exec()
    timer.stop()
    span = state["end"] - state["start"]
    return {
        "seconds": span,
        "warmup_timed_out": state["timed_out"],
        "cpu_s": state["cpu_end"].process_s - state["cpu"].process_s,
        "machine_busy_s": state["cpu_end"].machine_busy_s - state["cpu"].machine_busy_s,
        "shown": state["shown"],
        "streams": [feed.stream.value for feed in feeds],
        "painted": [b - a for a, b in zip(state["painted"], state["painted_end"], strict=True)],
        "decoded": [
            {k: after[k] - before[k] for k in before}
            for before, after in zip(state["decoded"], state["decoded_end"], strict=True)
        ],
    }


def run_one(args: argparse.Namespace) -> int:
    urls = args.urls.split(",")
    sub_urls = args.sub_urls.split(",") if args.sub_urls else None
    if args.one.startswith("bare"):
        from tests.benchmarks.bare_decode import run_bare

        result = run_bare(urls, args.seconds, WARMUP_MAX_S, SETTLE_S, convert=False)
    else:
        result = run_wall(urls, sub_urls, args.one == "mains-spot", args.seconds)
    report.write_json(Path(args.result), result)
    sys.stdout.flush()
    os._exit(0)  # decode threads may sit in a blocking read; they need no goodbye


# -- the driver ---------------------------------------------------------------------------


def _sender(loop: LoopSpec, ports: list[int], log: Path, limit: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.benchmarks.sender",
            "--loop",
            str(loop.path),
            "--ports",
            ",".join(map(str, ports)),
            "--fps",
            str(loop.fps),
            "--log",
            str(log),
            "--duration",
            str(limit),
        ],
        cwd=ROOT,
    )


def measure_kind(kind: str, count: int, seconds: float, workdir: Path) -> dict[str, Any]:
    """One measured process with its own senders: mains always, subs where it reads them."""
    main_ports = free_udp_ports(count)
    wants_subs = kind in ("subs", "bare-subs")
    sub_ports = free_udp_ports(count) if wants_subs else []
    limit = WARMUP_MAX_S + seconds + 30
    senders = []
    if kind != "bare-subs":
        senders.append(_sender(MAIN_LOOP, main_ports, workdir / f"{kind}-main.json", limit))
    if wants_subs:
        senders.append(_sender(SUB_LOOP, sub_ports, workdir / f"{kind}-sub.json", limit))
    mains = ",".join(f"udp://127.0.0.1:{p}" for p in main_ports)
    subs = ",".join(f"udp://127.0.0.1:{p}" for p in sub_ports)
    result = workdir / f"{kind}-result.json"
    argv = [sys.executable, "-m", "tests.benchmarks.bench_substream", "--one", kind]
    argv += ["--seconds", str(seconds), "--result", str(result)]
    argv += ["--urls", subs if kind == "bare-subs" else mains]
    if kind == "subs":
        argv += ["--sub-urls", subs]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    try:
        child = subprocess.run(
            argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=limit, check=False
        )
    finally:
        for sender in senders:
            sender.send_signal(signal.SIGTERM)
        for sender in senders:
            try:
                sender.wait(10)
            except subprocess.TimeoutExpired:
                sender.kill()
    if child.returncode != 0 or not result.exists():
        raise RuntimeError(f"{kind} run failed ({child.returncode}):\n{child.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(result.read_text())
    return data


def summarise(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    seconds = raw["seconds"]
    cores = raw["cpu_s"] / seconds
    if kind.startswith("bare"):
        fps = [n / seconds for n in raw["decoded"]]
        return {
            "cores": cores,
            "machine_cores": raw["machine_busy_s"] / seconds,
            "fps_min": min(fps),
            "fps_median": statistics.median(fps),
        }
    shown = [n / seconds for n, on in zip(raw["painted"], raw["shown"], strict=True) if on]
    hidden = [
        sum(d.values()) / seconds
        for d, on in zip(raw["decoded"], raw["shown"], strict=True)
        if not on
    ]
    return {
        "cores": cores,
        "machine_cores": raw["machine_busy_s"] / seconds,
        "fps_min": min(shown),
        "fps_median": statistics.median(shown),
        "hidden_decoded_fps_median": statistics.median(hidden) if hidden else None,
        "sub_tiles": raw["streams"].count("sub"),
        "warmup_timed_out": raw["warmup_timed_out"],
    }


def format_table(summary: dict[str, dict[str, Any]], count: int) -> str:
    bare = summary.get("bare-mains", {}).get("cores")
    lines = [
        f"{'run':<11} {'tiles fps min / median':>23} {'CPU cores':>10} "
        f"{'x bare main decode':>19} {'hidden tiles decode':>20} {'SUB tiles':>9} "
        f"{'machine busy':>12}",
    ]
    for kind in KINDS:
        row = summary.get(kind)
        if row is None:
            continue
        ratio = f"{row['cores'] / bare:.2f}" if bare else "-"
        hidden = row.get("hidden_decoded_fps_median")
        hidden_text = f"{hidden:.1f} fps each" if hidden is not None else "-"
        lines.append(
            f"{kind:<11} {row['fps_min']:>10.1f} / {row['fps_median']:<10.1f} "
            f"{row['cores']:>10.2f} {ratio:>19} {hidden_text:>20} "
            f"{row.get('sub_tiles', '-')!s:>9} {row['machine_cores']:>12.2f}"
        )
    lines.append(
        f"\n{count} feeds; 1080p30 mains {MAIN_LOOP.bitrate // 1000} kbit/s, 360p30 subs "
        f"{SUB_LOOP.bitrate // 1000} kbit/s; wall runs paint fps, bare runs decode fps; machine busy: all processes' cores, "
        "the senders' and other work's included."
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks substream",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per run")
    parser.add_argument("--feeds", type=int, default=16)
    parser.add_argument("--kinds", default=",".join(KINDS), help="which runs, comma-separated")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "substream.json")
    parser.add_argument("--one", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--urls", help=argparse.SUPPRESS)
    parser.add_argument("--sub-urls", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return run_one(args)
    ensure_loop(MAIN_LOOP)
    ensure_loop(SUB_LOOP)
    document: dict[str, Any] = {
        "benchmark": "substream",
        "started": report.timestamp(),
        "machine": report.machine_info(),
        "settings": {"seconds": args.seconds, "feeds": args.feeds, "wall_size": WALL_SIZE},
        "raw": {},
        "summary": {},
    }
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        for kind in args.kinds.split(","):
            print(f"substream x {args.feeds}: {kind} ...", file=sys.stderr, flush=True)
            try:
                raw = measure_kind(kind, args.feeds, args.seconds, Path(tmp))
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                print(f"{kind}: FAILED: {exc}", file=sys.stderr, flush=True)
                continue
            document["raw"][kind] = raw
            document["summary"][kind] = summarise(kind, raw)
            report.write_json(args.out, document)
    document["finished"] = report.timestamp()
    report.write_json(args.out, document)
    print(format_table(document["summary"], args.feeds))
    print(f"\nJSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

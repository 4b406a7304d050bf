"""The wall benchmark: N live H.264 feeds on an offscreen 1920x1080 wall, against a bare decode.

For each resolution (720p30, 1080p30) and feed count it runs three measured processes,
each fresh (so peak RSS and CPU belong to it alone) and each fed by its own sender
process replaying a cached loop over UDP MPEG-TS on loopback:

1. wall    the app's FeedSource threads and Wall/Tile painting, as in production;
2. decode  a bare PyAV loop over the same streams (the ceiling);
3. convert the bare loop plus scaling to tile size as BGRA (what FeedSource adds).

    python -m tests.benchmarks [--seconds 20] [--feeds 1,4,9,16] [--res 720,1080] [--quick]

It prints a table and writes bench-results/wall.json. It is never a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.benchmarks import analysis, report
from tests.benchmarks.loops import RESOLUTIONS, RESULTS_DIR, LoopInfo, ensure_loop

ROOT = RESULTS_DIR.parent
DEFAULT_FEEDS: dict[int, list[int]] = {720: [1, 4, 9, 16], 1080: [1, 4, 9, 10, 16]}
"""10 x 1080p30 is a target of its own, so 1080p gets that count too."""
WARMUP_MAX_S = 15.0
SETTLE_S = 1.0
KINDS = ("wall", "decode", "convert")


def free_udp_ports(count: int) -> list[int]:
    """Ports free on loopback now (held together while chosen, so they are distinct)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def measure_child(
    kind: str, loop: LoopInfo, count: int, seconds: float, workdir: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run one measured process against its own sender; its result and the send log."""
    ports = free_udp_ports(count)
    urls = ",".join(f"udp://127.0.0.1:{port}" for port in ports)
    send_log = workdir / f"{kind}-send.json"
    result = workdir / f"{kind}-result.json"
    limit = WARMUP_MAX_S + seconds + 30
    env = _child_env()
    sender = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.benchmarks.sender",
            "--loop",
            str(loop.spec.path),
            "--ports",
            ",".join(map(str, ports)),
            "--fps",
            str(loop.spec.fps),
            "--log",
            str(send_log),
            "--duration",
            str(limit),
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.benchmarks.bench_wall",
                "--one",
                kind,
                "--urls",
                urls,
                "--seconds",
                str(seconds),
                "--result",
                str(result),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=limit,
            check=False,
        )
    finally:
        sender.send_signal(signal.SIGTERM)
        try:
            sender.wait(10)
        except subprocess.TimeoutExpired:
            sender.kill()
            sender.wait()
    if child.returncode != 0 or not result.exists():
        raise RuntimeError(f"{kind} run failed ({child.returncode}):\n{child.stderr[-3000:]}")
    return json.loads(result.read_text()), json.loads(send_log.read_text())


def run_configuration(res: int, count: int, seconds: float, baseline: bool) -> dict[str, Any]:
    loop = ensure_loop(RESOLUTIONS[res])
    raw: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        for kind in KINDS if baseline else KINDS[:1]:
            _progress(f"{res}p x {count}: {kind} ...")
            started = time.monotonic()
            result, send_log = measure_child(kind, loop, count, seconds, Path(tmp))
            sender = {
                "cpu_s": send_log["cpu_s"],
                "frames": send_log["frames"],
                "late_max_s": send_log["late_max_s"],
                "resyncs": send_log["resyncs"],
            }
            if kind == "wall":
                summary[kind] = analysis.analyse_wall(result, send_log)
                result = {k: v for k, v in result.items() if k not in ("paints", "barcodes")}
            else:
                summary[kind] = analysis.analyse_bare(result, send_log)
            raw[kind] = {**result, "sender": sender}
            _progress(f"{res}p x {count}: {kind} done in {time.monotonic() - started:.0f} s")
    return {
        "res": res,
        "n": count,
        "seconds": seconds,
        "loop": {
            "path": str(loop.spec.path.relative_to(ROOT)),
            "bitrate_bps": loop.bitrate_bps,
            "width": loop.spec.width,
            "height": loop.spec.height,
            "fps": loop.spec.fps,
        },
        "row": report.table_row(
            res, count, summary.get("wall"), summary.get("decode"), summary.get("convert")
        ),
        "summary": summary,
        "raw": raw,
    }


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _int_list(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def run_one(args: argparse.Namespace) -> int:
    """Inside a measured child process: run one kind and write its result."""
    urls = args.urls.split(",")
    if args.one == "wall":
        from tests.benchmarks.wall_run import run_wall

        result = run_wall(urls, args.seconds, WARMUP_MAX_S, SETTLE_S)
    else:
        from tests.benchmarks.bare_decode import run_bare

        result = run_bare(urls, args.seconds, WARMUP_MAX_S, SETTLE_S, convert=args.one == "convert")
    report.write_json(Path(args.result), result)
    sys.stdout.flush()
    os._exit(0)  # decode threads may sit in a blocking read; they need no goodbye


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, help="measured seconds per run (default 20)")
    parser.add_argument("--feeds", type=_int_list, help="feed counts, e.g. 1,4,9,16")
    parser.add_argument("--res", type=_int_list, help="resolutions, e.g. 720,1080")
    parser.add_argument("--quick", action="store_true", help="5 s runs of 1 and 4 feeds")
    parser.add_argument("--no-baseline", action="store_true", help="measure the wall only")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "wall.json")
    parser.add_argument("--one", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--urls", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        args.seconds = args.seconds or 20.0
        return run_one(args)

    seconds = args.seconds or (5.0 if args.quick else 20.0)
    resolutions = args.res or sorted(RESOLUTIONS)
    unknown = [r for r in resolutions if r not in RESOLUTIONS]
    if unknown:
        parser.error(f"unknown resolution(s) {unknown}; choose from {sorted(RESOLUTIONS)}")
    configs = [
        (res, count)
        for res in resolutions
        for count in (args.feeds or ([1, 4] if args.quick else DEFAULT_FEEDS[res]))
    ]
    document: dict[str, Any] = {
        "benchmark": "wall",
        "started": report.timestamp(),
        "machine": report.machine_info(),
        "settings": {
            "seconds": seconds,
            "wall_size": [1920, 1080],
            "layout": "auto",
            "warmup_max_s": WARMUP_MAX_S,
            "settle_s": SETTLE_S,
            "configs": [list(c) for c in configs],
            "argv": list(argv or sys.argv[1:]),
        },
        "configurations": [],
    }
    machine = document["machine"]
    _progress(
        f"wall benchmark: {len(configs)} configurations x {seconds:g} s on "
        f"{machine['nproc']} cores ({machine['cpu']}), PyAV {machine['pyav']}, "
        f"FFmpeg {machine['ffmpeg']}, Qt {machine['qt']}"
    )
    for res in resolutions:
        ensure_loop(RESOLUTIONS[res])
    for res, count in configs:
        try:
            document["configurations"].append(
                run_configuration(res, count, seconds, baseline=not args.no_baseline)
            )
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            _progress(f"{res}p x {count}: FAILED: {exc}")
            document["configurations"].append(
                {"res": res, "n": count, "error": str(exc), "row": {"res": f"{res}p", "n": count}}
            )
        report.write_json(args.out, document)  # after each, so an interrupted run keeps some
    document["finished"] = report.timestamp()
    report.write_json(args.out, document)
    print(report.format_table([c["row"] for c in document["configurations"]]))
    print()
    print(report.format_details(document["configurations"]))
    print()
    print(report.LEGEND)
    print(f"\nJSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

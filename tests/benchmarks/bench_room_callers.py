"""Server CPU per caller on a room server: the phone through Janus and its RTP forward
(nothing decoded, the phone's H.264 recorded as it came) against today's path, where the
server answers the phone with aiortc, decodes it and encodes it again for the recording.

Everything runs in a network namespace of its own (tests/netns.py; root, as `make test`):
a room server in a child process (`--serve janus|aiortc`), and headless Chromium playing
the caller benchmark's 720p30 card (tests/benchmarks/caller_card.py) as its camera, which
opens a caller link and agrees. Once the caller is live and `--settle` seconds have passed,
the server process's CPU time (all its threads) and its Janus's are read from /proc over
`--seconds`. Each path is run `--runs` times with a fresh server; the medians are printed
with each run, as a table and one JSON line. Never a pass/fail test.

    python -m tests.benchmarks.bench_room_callers [--seconds 10] [--runs 3] [--settle 4]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.netns import SERVER_ADDRESS, in_namespace

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int | None) -> float:
    """User plus system CPU seconds of a process so far (all its threads)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


# -- the server, in its own process ---------------------------------------------------------


async def serve(mode: str, folder: Path) -> None:
    from app.config import load
    from app.paths import BaseDir
    from app.room.server import RoomServer
    from tests.room_callers import write_config

    base = BaseDir(folder / "base").ensure()
    server = RoomServer(load(write_config(folder)), base)
    assert server.gateway is not None
    if mode == "aiortc":
        server.gateway.desk.route = None  # today's path: received, decoded, encoded here
    await server.start()
    _, url = server.gateway.desk.invite(name="Bench Caller")
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    while not stop.is_set():
        status = server.status()
        caller = next((f for f in status["feeds"] if f["kind"] == "caller"), None)
        janus = status["room"]["janus"]
        (folder / "status.json").write_text(
            json.dumps({"url": url, "caller": caller, "janus_pid": janus.get("pid")})
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
    await server.close()


def recorded_size(folder: Path) -> str | None:
    """The codec and picture size of the newest closed segment: what the phone was sending
    (a feed that is not decoded knows only the size it opened with)."""
    import av

    segments = sorted(
        (folder / "base" / "recordings").glob("*/*.ts"), key=lambda p: p.stat().st_mtime
    )
    if not segments:
        return None
    with av.open(str(segments[-1])) as container:
        video = container.streams.video[0].codec_context
        return f"{video.name} {video.width}x{video.height}"


# -- one run: a server, a phone, the CPU ----------------------------------------------------


def read_status(folder: Path) -> dict[str, Any]:
    try:
        result: dict[str, Any] = json.loads((folder / "status.json").read_text())
        return result
    except (OSError, ValueError):
        return {}


async def one_run(mode: str, seconds: float, settle: float, card: Path) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    from tests.phone import CHROMIUM, chromium_args

    folder = Path(tempfile.mkdtemp(prefix=f"bench-room-{mode}-"))
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.benchmarks.bench_room_callers", "--serve", mode, str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            if read_status(folder).get("url"):
                break
            await asyncio.sleep(0.1)
        status = read_status(folder)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[*chromium_args(card), "--disable-features=WebRtcHideLocalIpsWithMdns"],
            )
            page = await (await browser.new_context(ignore_https_errors=True)).new_page()
            for attempt in range(5):
                try:
                    await page.goto(status["url"])
                    break
                except Exception as exc:  # the veth's addresses settling
                    if "ERR_NETWORK_CHANGED" not in str(exc) or attempt == 4:
                        raise
                    await asyncio.sleep(0.5)
            await page.click("#agree")
            await page.wait_for_selector("body[data-state=live]", timeout=30_000)
            await asyncio.sleep(settle)
            janus_pid = read_status(folder).get("janus_pid")
            server_0, janus_0, t0 = cpu_s(child.pid), cpu_s(janus_pid), time.monotonic()
            await asyncio.sleep(seconds)
            server_1, janus_1, t1 = cpu_s(child.pid), cpu_s(janus_pid), time.monotonic()
            caller = read_status(folder).get("caller") or {}
            await browser.close()
        recorded = recorded_size(folder)
        wall = t1 - t0
        return {
            "mode": mode,
            "server_cores": round((server_1 - server_0) / wall, 3),
            "janus_cores": round((janus_1 - janus_0) / wall, 3),
            "caller": {
                k: caller.get(k) for k in ("state", "codec", "fps", "frames", "bitrate_kbps")
            },
            "recorded": recorded,
        }
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()


async def inner(seconds: float, runs: int, settle: float) -> dict[str, Any]:
    from tests.benchmarks.caller_card import CardSpec, ensure_card

    card = ensure_card(CardSpec())
    results: dict[str, list[dict[str, Any]]] = {"janus": [], "aiortc": []}
    for _ in range(runs):
        for mode, done in results.items():
            done.append(await one_run(mode, seconds, settle, card))
    summary: dict[str, Any] = {"seconds": seconds, "runs": runs, "address": SERVER_ADDRESS}
    for mode, done in results.items():
        summary[mode] = {
            "server_cores_median": statistics.median(r["server_cores"] for r in done),
            "janus_cores_median": statistics.median(r["janus_cores"] for r in done),
            "runs": done,
        }
    return summary


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=4.0)
    parser.add_argument("--serve", nargs=2, metavar=("MODE", "FOLDER"))
    parser.add_argument("--inner", action="store_true")
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(serve(args.serve[0], Path(args.serve[1])))
        return 0
    if args.inner:
        print(json.dumps(asyncio.run(inner(args.seconds, args.runs, args.settle))), flush=True)
        return 0
    budget = (args.seconds + args.settle + 20) * args.runs * 2 + 60
    done = in_namespace(
        sys.executable,
        "-m",
        "tests.benchmarks.bench_room_callers",
        "--inner",
        "--seconds",
        str(args.seconds),
        "--runs",
        str(args.runs),
        "--settle",
        str(args.settle),
        timeout=budget,
    )
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        return 1
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"server CPU per 720p30 caller, {args.runs} runs of {args.seconds:g} s (median)")
    print(f"{'path':<34} {'server':>8} {'janus':>8} {'total':>8}   received")
    for mode, label in (
        ("janus", "Janus + rtp_forward, no decode"),
        ("aiortc", "aiortc: decode + x264 re-encode"),
    ):
        row = summary[mode]
        last = row["runs"][-1]
        got = f"phone's {last['caller']['codec']}, recorded {last['recorded']}"
        total = row["server_cores_median"] + row["janus_cores_median"]
        print(
            f"{label:<34} {row['server_cores_median']:>8.3f} {row['janus_cores_median']:>8.3f}"
            f" {total:>8.3f}   {got}"
        )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

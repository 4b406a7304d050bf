"""The caller benchmark: a phone's camera into the wall through the caller gateway, against
a bare aiortc receiver of the same stream.

Headless Chromium plays a numbered 720p30 .y4m card as its camera (caller_card.py) and
opens one-time links on the real wall with its embedded gateway (caller_wall.py), all on
loopback; its page reports when each frame was captured (caller_phone.py). Then:

1. Agree -> first frame painted: `--trials` links, each in a fresh browser context; the
   median, each value, and where the time goes.
2. Glass to glass: one more caller streams; over `--seconds` (after 2 s of settling) every
   painted picture's number is matched with its capture on the phone: p50 and p95 delay,
   the wall's CPU per stream, what Chromium's encoder actually sent.
3. Baseline: the same Chromium and card into a bare aiortc RTCPeerConnection that only
   decodes (caller_bare.py), for as long, in a fresh process: its delay to the decoded
   frame and its CPU beside the wall's.

Both receivers answer as the gateway does, with `x-google-start-bitrate` at the default
`GatewaySettings.video_start_kbps` (the bare one through the gateway's own
`with_start_bitrate`), so Chromium sends both the same stream: 1280x720 from the first
frame. The tables show the resolution each actually received.

    python -m tests.benchmarks caller [--seconds 30] [--trials 5] [--layout 3x3] [--quick]
                                      [--no-baseline] [--out FILE]

It takes about 1.5 minutes, prints tables and writes bench-results/caller-<timestamp>.json.
It is never a pass/fail test: the issue's targets (first frame <= 1.5 s after Agree, delay
p50 <= 150 ms on loopback) are printed beside the figures, not asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.config import GatewaySettings
from tests.benchmarks import caller_report, report
from tests.benchmarks.bench_wall import _child_env
from tests.benchmarks.caller_card import CardSpec, ensure_card
from tests.benchmarks.loops import RESULTS_DIR

ROOT = RESULTS_DIR.parent
SETTLE_S = 2.0
TARGET_FIRST_FRAME_MS = 1500
TARGET_DELAY_P50_MS = 150


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _wait_file(path: Path, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if process.poll() is not None:
            raise RuntimeError(f"{path.name}: the receiver exited ({process.returncode})")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path.name} did not appear in {timeout_s:g} s")
        time.sleep(0.05)


def run_phase(
    name: str, receiver: list[str], *, card: Path, workdir: Path, limit_s: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One receiver process and the phone against it; both their results."""
    workdir.mkdir()
    env = _child_env()
    ready = workdir / ("links.json" if name == "vigil" else "bare.json")
    log = open(workdir / "receiver.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", *receiver, "--workdir", str(workdir)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    phone_command = [sys.executable, "-m", "tests.benchmarks.caller_phone"]
    phone_command += ["--workdir", str(workdir), "--card", str(card), "--mode", name]
    try:
        _wait_file(ready, process, 30)
        phone = subprocess.run(
            phone_command,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=limit_s,
            check=False,
        )
        if phone.returncode != 0:
            raise RuntimeError(f"the phone failed ({phone.returncode}):\n{phone.stderr[-3000:]}")
        (workdir / "stop").touch()
        process.wait(30)
    finally:
        (workdir / "stop").touch()
        if process.poll() is None:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
    result = workdir / ("wall-result.json" if name == "vigil" else "bare-result.json")
    if not result.exists():
        tail = (workdir / "receiver.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"the {name} receiver left no result:\n{tail}")
    return json.loads(result.read_text()), json.loads((workdir / f"phone-{name}.json").read_text())


def run_stream(
    receiver: str,
    *,
    trials: int,
    args: argparse.Namespace,
    card: Path,
    workdir: Path,
    document: dict[str, Any],
) -> dict[str, Any]:
    """One receiver process with its own phone; its summary (and the Agree trials' table
    into `document` when there were trials)."""
    spec = CardSpec()
    wall = receiver == "vigil wall"
    command = [
        "tests.benchmarks.caller_wall" if wall else "tests.benchmarks.caller_bare",
        *("--seconds", str(args.seconds), "--settle", str(SETTLE_S)),
        *(("--trials", str(trials), "--layout", args.layout) if wall else ()),
    ]
    result, phone = run_phase(
        "vigil" if wall else "bare",
        command,
        card=card,
        workdir=workdir,
        limit_s=60 + trials * 25 + args.seconds + 60,
    )
    if wall:
        if trials:
            document["first_frame"] = caller_report.first_frame(result, phone, trials, spec)
        summary = caller_report.wall_stream(result, phone, spec)
    else:
        summary = caller_report.bare_stream(result, phone, spec)
    document["raw"][receiver] = {"receiver": _trimmed(result), "phone": _trimmed(phone)}
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks caller",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, help="measured stream, s (default 30)")
    parser.add_argument("--trials", type=int, help="Agree -> first frame repeats (default 5)")
    parser.add_argument("--layout", default="3x3", help="the wall's layout (default 3x3)")
    parser.add_argument("--quick", action="store_true", help="2 trials and a 10 s stream")
    parser.add_argument("--no-baseline", action="store_true", help="measure the wall only")
    parser.add_argument("--out", type=Path, help="JSON file (default bench-results/caller-*.json)")
    args = parser.parse_args(argv)
    began = time.monotonic()
    args.seconds = args.seconds or (10.0 if args.quick else 30.0)
    trials = args.trials or (2 if args.quick else 5)
    out = args.out or RESULTS_DIR / f"caller-{time.strftime('%Y%m%d-%H%M%S')}.json"
    spec = CardSpec()
    card = ensure_card(spec)
    document: dict[str, Any] = {
        "benchmark": "caller",
        "started": report.timestamp(),
        "machine": report.machine_info(),
        "settings": {
            "seconds": args.seconds,
            "trials": trials,
            "settle_s": SETTLE_S,
            "layout": args.layout,
            "wall_size": [1920, 1080],
            "answer_start_kbps": GatewaySettings().video_start_kbps,
            "card": {
                "path": str(card.relative_to(ROOT)),
                "width": spec.width,
                "height": spec.height,
                "fps": spec.fps,
                "frames": spec.frames,
            },
            "targets": {
                "first_frame_ms": TARGET_FIRST_FRAME_MS,
                "delay_p50_ms": TARGET_DELAY_P50_MS,
            },
            "argv": list(argv if argv is not None else sys.argv[1:]),
        },
        "streams": [],
        "raw": {},
    }
    _progress(
        f"caller benchmark: {trials} Agree trials, then {args.seconds:g} s streams (wall, bare "
        f"aiortc) of a {spec.width}x{spec.height}@{spec.fps} card, on "
        f"{document['machine']['nproc']} cores"
    )
    receivers = ["vigil wall"] + ([] if args.no_baseline else ["bare aiortc"])
    with tempfile.TemporaryDirectory(prefix="vigil-caller-", dir="/tmp") as tmp:
        for receiver in receivers:
            first = receiver == "vigil wall"
            _progress(
                f"{receiver}: {f'{trials} Agree trials, then ' if first else ''}"
                f"a {args.seconds:g} s stream ..."
            )
            started = time.monotonic()
            try:
                summary = run_stream(
                    receiver,
                    trials=trials if first else 0,
                    args=args,
                    card=card,
                    workdir=Path(tmp) / receiver.replace(" ", "-"),
                    document=document,
                )
            except (RuntimeError, subprocess.TimeoutExpired, KeyError) as exc:
                _progress(f"{receiver}: FAILED: {exc}")
                summary = {"error": str(exc)}
            document["streams"].append({"receiver": receiver, **summary})
            _progress(f"{receiver}: done in {time.monotonic() - started:.0f} s")
            report.write_json(out, document)  # after each, so an interrupted run keeps some
    document["finished"] = report.timestamp()
    document["elapsed_s"] = time.monotonic() - began
    report.write_json(out, document)
    print(caller_report.format_tables(document))
    print()
    print(_targets(document))
    print()
    print(caller_report.legend(document))
    print(f"\nJSON: {out} (the run took {document['elapsed_s']:.0f} s)")
    return 0


def _targets(document: dict[str, Any]) -> str:
    first = (document.get("first_frame") or {}).get("agree_to_paint_ms", {}).get("p50")
    wall: dict[str, Any] = next(
        (
            s
            for s in document.get("streams", [])
            if s["receiver"] == "vigil wall" and "error" not in s
        ),
        {},
    )
    delay = wall.get("delay_ms", {}).get("p50")

    def against(value: float | None, target: float) -> str:
        if value is None:
            return "not measured"
        return (
            f"{value:.0f} ms (target <= {target:.0f} ms: {'met' if value <= target else 'NOT met'})"
        )

    return (
        f"Issue's targets: Agree -> first frame median {against(first, TARGET_FIRST_FRAME_MS)}; "
        f"delay p50 {against(delay, TARGET_DELAY_P50_MS)}"
    )


def _trimmed(result: dict[str, Any]) -> dict[str, Any]:
    """A result without its per-frame lists (the summary keeps what they showed)."""
    drop = {"paints", "received", "frames"}

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items() if k not in drop}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    trimmed: dict[str, Any] = walk(result)
    return trimmed


if __name__ == "__main__":
    sys.exit(main())

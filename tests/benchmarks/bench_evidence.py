"""The evidence benchmark: what recording, re-encoding callers, exporting and verifying cost.

    python -m tests.benchmarks evidence [--seconds 60] [--runs 3] [--quick] [--out FILE]

1. Stream copy, 1080p30 H.264 (the wall benchmark's 6 Mbit/s loop, key frame every
   second): `--seconds` of video demuxed as a source demuxes it, at 10x real time, with
   every packet put into the real RecordingService's recorder (muxed into 4 s MPEG-TS
   segments, hashed on the way, fsynced, each then entered in the SQLite ledger, which
   hashes the file again). Beside it, the baseline: the same demux, nothing recorded.
2. A WebRTC caller, 720p30: the caller benchmark's card as Chromium would send it (VP8 at
   2 Mbit/s) and as aiortc hands it over (decoded); the frames through the caller path
   (WebRtcSource's frame sink, the caller encoder: libx264 as configured in
   media/recording/caller_recorder.py, the recorder, the ledger), handed over as fast as the
   encoder takes them. Beside it, the baseline: decoding that VP8, which every caller
   costs anyway.
3. Export: a clip of `--export-seconds` of the 1080p recording through
   app.evidence.bundle.export.export_clip (cut by stream copy, manifest, signature, fsync),
   seconds per minute of video; then app.evidence.bundle.check.verify_bundle on that bundle,
   seconds per GB (page cache warm from the export). The signing key lives in a private
   Secret Service started for the run (tests/servers.py), never the user's keyring.

CPU is the process's, per second of video; "% core" is the share of one core that one
such live feed takes. Rows are medians of `--runs`; the JSON (bench-results/evidence-
<timestamp>.json) keeps every run. Never a pass/fail test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.benchmarks import evidence_runs as runs
from tests.benchmarks import report
from tests.benchmarks.caller_card import CardSpec, ensure_card
from tests.benchmarks.loops import RESOLUTIONS, RESULTS_DIR, ensure_loop


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def private_keyring(folder: Path) -> Iterator[None]:
    """keyring talks to a Secret Service of our own for the length of the block."""
    import keyring
    import keyring.core
    from keyring.backends.SecretService import Keyring as SecretServiceKeyring

    from tests.servers import SecretService

    service = SecretService(folder).start()
    saved_env = {name: os.environ.get(name) for name in service.env}
    saved_backend = keyring.core._keyring_backend
    os.environ.update(service.env)
    keyring.set_keyring(SecretServiceKeyring())
    try:
        yield
    finally:
        keyring.core._keyring_backend = saved_backend
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        service.stop()


def _row(name: str, what: str, value: float | None, unit: str, baseline: float | None) -> str:
    shown = "-" if value is None else f"{value:.3f}"
    core = "-" if value is None or unit != "CPU s/s" else f"{100 * value:.1f} %"
    base = "-" if baseline is None else f"{baseline:.3f}"
    return f"{name:<34} {what:<26} {shown:>9} {unit:<8} {core:>8} {base:>9}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks evidence")
    parser.add_argument("--seconds", type=float, default=60.0, help="video per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--export-seconds", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true", help="20 s of video, 2 runs")
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    seconds, count = (20.0, 2) if args.quick else (args.seconds, args.runs)
    export_s = min(args.export_seconds, seconds - 10)
    loop = RESOLUTIONS[1080]
    ensure_loop(loop)
    card = ensure_card(CardSpec())
    document: dict[str, Any] = {
        "benchmark": "evidence",
        "started": report.timestamp(),
        "machine": report.machine_info(),
        "settings": {"seconds": seconds, "runs": count, "export_seconds": export_s},
        "runs": {"demux": [], "record": [], "decode": [], "encode": []},
    }
    work = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
    results = document["runs"]
    try:
        for n in range(count):
            _progress(f"evidence: run {n + 1} of {count}: 1080p stream copy")
            results["demux"].append(
                runs.stream_copy(loop.path, seconds, work / f"d{n}", record=False)
            )
            results["record"].append(
                runs.stream_copy(loop.path, seconds, work / f"r{n}", record=True)
            )
        _progress("evidence: the caller's VP8 and its decoded frames")
        packets, frames = runs.caller_frames(card)
        for n in range(count):
            _progress(f"evidence: run {n + 1} of {count}: 720p caller")
            results["decode"].append(runs.plain_decode(packets, seconds))
            results["encode"].append(runs.caller_record(frames, seconds, work / f"c{n}"))
        del frames
        if not args.no_export:
            exports, verifies = [], []
            recorded = results["record"][-1]
            with private_keyring(work / "keyring"):
                for n in range(count):
                    _progress(f"evidence: run {n + 1} of {count}: export and verify")
                    done = runs.export_once(
                        work / f"r{count - 1}", recorded["epoch"] + 5, export_s, work / f"x{n}"
                    )
                    exports.append(done)
                    verifies.append(runs.verify_once(done.folder))
            results["export"] = [
                {"seconds": e.seconds, "video_s": e.video_s, "bundle_bytes": e.bundle_bytes}
                for e in exports
            ]
            results["verify"] = [
                {"seconds": v, "bundle_bytes": e.bundle_bytes}
                for v, e in zip(verifies, exports, strict=True)
            ]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def med(kind: str, key: str) -> float:
        return runs.median([r[key] for r in results[kind]])

    summary: dict[str, Any] = {
        "demux_1080p_cpu_per_video_s": med("demux", "cpu_per_video_s"),
        "record_1080p_cpu_per_video_s": med("record", "cpu_per_video_s"),
        "record_1080p_writer_cpu_per_video_s": med("record", "writer_cpu_per_video_s"),
        "record_1080p_dropped": max(r["dropped"] for r in results["record"]),
        "record_1080p_kbps": runs.median(
            [r["bytes"] * 8 / r["video_s"] / 1000 for r in results["record"]]
        ),
        "decode_720p_cpu_per_video_s": med("decode", "cpu_per_video_s"),
        "caller_720p_cpu_per_video_s": med("encode", "cpu_per_video_s"),
        "caller_720p_encode_cpu_per_video_s": med("encode", "encode_cpu_per_video_s"),
        "caller_720p_kbps": med("encode", "kbps"),
        "caller_720p_shed": max(r["frames_shed"] for r in results["encode"]),
    }
    if "export" in results:
        summary["export_s_per_video_min"] = runs.median(
            [e["seconds"] * 60 / e["video_s"] for e in results["export"]]
        )
        summary["verify_s_per_gb"] = runs.median(
            [v["seconds"] / (v["bundle_bytes"] / 1e9) for v in results["verify"]]
        )
        summary["bundle_mb"] = results["export"][0]["bundle_bytes"] / 1e6
    document["summary"] = summary
    _print(summary, seconds, count, export_s)
    out = args.out or RESULTS_DIR / f"evidence-{report.timestamp().replace(':', '')[:17]}.json"
    report.write_json(out, document)
    print(f"JSON: {out}")
    return 0


def _print(s: dict[str, Any], seconds: float, count: int, export_s: float) -> None:
    print(f"Evidence: {seconds:g} s of video per run, medians of {count} runs")
    print(f"{'':<34} {'':<26} {'value':>9} {'unit':<8} {'% core':>8} {'baseline':>9}")
    demux = s["demux_1080p_cpu_per_video_s"]
    print(
        _row(
            "1080p30 H.264, stream copy",
            "demux + record + hash",
            s["record_1080p_cpu_per_video_s"],
            "CPU s/s",
            demux,
        )
    )
    print(
        _row(
            "",
            "  of which the writer thread",
            s["record_1080p_writer_cpu_per_video_s"],
            "CPU s/s",
            None,
        )
    )
    print(_row("", "baseline: demux only", demux, "CPU s/s", None))
    decode = s["decode_720p_cpu_per_video_s"]
    print(
        _row(
            "720p30 caller, libx264 re-encode",
            "encode + record + hash",
            s["caller_720p_cpu_per_video_s"],
            "CPU s/s",
            decode,
        )
    )
    print(
        _row(
            "",
            "  of which the encode thread",
            s["caller_720p_encode_cpu_per_video_s"],
            "CPU s/s",
            None,
        )
    )
    print(_row("", "baseline: VP8 decode only", decode, "CPU s/s", None))
    if "export_s_per_video_min" in s:
        print(
            _row(
                f"export ({export_s:g} s clip of the 1080p)",
                "wall s per minute of video",
                s["export_s_per_video_min"],
                "s/min",
                None,
            )
        )
        print(
            _row(
                f"verify ({s['bundle_mb']:.0f} MB bundle)",
                "wall s per GB",
                s["verify_s_per_gb"],
                "s/GB",
                None,
            )
        )
    print(
        f"1080p recording {s['record_1080p_kbps']:.0f} kbit/s, refused packets "
        f"{s['record_1080p_dropped']}; caller recording {s['caller_720p_kbps']:.0f} kbit/s, "
        f"frames shed {s['caller_720p_shed']}"
    )
    print(
        "CPU s/s: process CPU seconds per second of video (1080p fed at 10x real time, the "
        "caller as fast as its encoder takes frames); % core: one live feed's share of one core"
    )

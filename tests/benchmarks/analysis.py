"""Turns the raw records of one configuration into the figures the table shows.

Inputs: the wall run's paint records, the sender's log of when each frame left it, and
the two bare-decode runs. Frame k of a port carries pts k/fps, and its picture carries
k's number in the loop as a barcode; the barcodes read during warm-up confirm the pts
to frame mapping before any delay is computed from it.
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

import numpy as np


def percentile_ms(values_s: list[float], q: float) -> float | None:
    return float(np.percentile(values_s, q) * 1000) if values_s else None


def frame_offset(wall: dict[str, Any], send_log: dict[str, Any]) -> tuple[int, float]:
    """The constant c with painted pts index j = sender frame k + c, and the share of
    barcodes that agree with it. The barcode gives k modulo the loop length; of the
    candidates it leaves, the one with the smallest non-negative send-to-arrival delay is c."""
    fps, loop = send_log["fps"], send_log["loop_frames"]
    samples = [(i, round(pts * fps), code) for i, pts, code in wall["barcodes"] if pts is not None]
    if not samples:
        return 0, 0.0
    residues = Counter((j - code) % loop for _, j, code in samples)
    residue, agreeing = residues.most_common(1)[0]
    arrivals = [(p[0], round(p[1] * fps), p[2]) for p in wall["paints"][:200] if p[1] is not None]
    best: tuple[float, int] | None = None
    for m in range(-3, 4):
        c = residue + m * loop
        lags = [
            arrived - send_log["sent"][i][j - c]
            for i, j, arrived in arrivals
            if 0 <= j - c < len(send_log["sent"][i])
        ]
        if not lags:
            continue
        lag = statistics.median(lags)
        if lag >= 0 and (best is None or lag < best[0]):
            best = (lag, c)
    return (best[1] if best else residue), agreeing / len(samples)


def load(run: dict[str, Any], send_log: dict[str, Any]) -> dict[str, float]:
    """Cores busy during the window: the measured process, the sender (averaged over its
    life) and everyone else on the machine (other people's work makes the run noisy)."""
    seconds = run["seconds"]
    process = run["cpu_s"] / seconds
    sender = send_log["cpu_s"] / max(1e-9, send_log["frames"] / send_log["fps"])
    machine = run["machine_busy_s"] / seconds
    return {
        "process": process,
        "sender": sender,
        "machine": machine,
        "others": max(0.0, machine - process - sender),
    }


def analyse_wall(wall: dict[str, Any], send_log: dict[str, Any]) -> dict[str, Any]:
    fps = send_log["fps"]
    seconds = wall["seconds"]
    start, end = wall["window"]
    n = len(wall["painted"])
    offset, agreement = frame_offset(wall, send_log)
    per_tile: list[list[int]] = [[] for _ in range(n)]
    arrival_to_paint: list[float] = []
    send_to_paint: list[float] = []
    decode_part: list[float] = []
    display_part: list[float] = []
    for i, pts, arrived, painted, put in wall["paints"]:
        arrival_to_paint.append(painted - arrived)
        if put is not None:
            decode_part.append(put - arrived)
            display_part.append(painted - put)
        if pts is None:
            continue
        j = round(pts * fps)
        per_tile[i].append(j)
        k = j - offset
        sent = send_log["sent"][i]
        if 0 <= k < len(sent):
            send_to_paint.append(painted - sent[k])

    shown_fps = [len(js) / seconds for js in per_tile]
    expected, dropped = [], []
    for i, js in enumerate(per_tile):
        sent_in_window = sum(1 for t in send_log["sent"][i] if start <= t <= end)
        # Frames the sender sent between the first and last painted one; a tile that
        # painted (almost) nothing is owed what the sender sent during the window.
        owed = max(js) - min(js) + 1 if len(js) >= 2 else sent_in_window
        expected.append(owed)
        dropped.append(max(0, owed - len(set(js))))
    return {
        "shown_fps": shown_fps,
        "shown_fps_median": statistics.median(shown_fps),
        "shown_fps_worst": min(shown_fps),
        "frames_expected": expected,
        "frames_dropped": dropped,
        "dropped_pct": 100 * sum(dropped) / max(1, sum(expected)),
        "decoded_fps": [d / seconds for d in wall["decoded"]],
        "slot_dropped": wall["slot_dropped"],
        "decode_errors": wall["decode_errors"],
        "cpu_s_per_frame": wall["cpu_s"] / max(1, sum(wall["painted"])),
        "cores_busy": wall["cpu_s"] / seconds,
        "cpu_by_thread_cores": {k: v / seconds for k, v in wall["cpu_by_thread"].items()},
        "peak_rss_mb": wall["peak_rss_mb"],
        # Growth while measuring: a steady wall should hold still. FFmpeg's UDP ring
        # (fifo_size) is touched page by page as data arrives, so it shows here first.
        "rss_growth_mb_per_min": (wall["rss_end_mb"] - wall["rss_start_mb"]) * 60 / seconds,
        "arrival_to_paint_ms": {
            "p50": percentile_ms(arrival_to_paint, 50),
            "p95": percentile_ms(arrival_to_paint, 95),
            "max": percentile_ms(arrival_to_paint, 100),
        },
        "arrival_to_slot_ms": {
            "p50": percentile_ms(decode_part, 50),
            "p95": percentile_ms(decode_part, 95),
        },
        "slot_to_paint_ms": {
            "p50": percentile_ms(display_part, 50),
            "p95": percentile_ms(display_part, 95),
        },
        "send_to_paint_ms": {
            "p50": percentile_ms(send_to_paint, 50),
            "p95": percentile_ms(send_to_paint, 95),
            "max": percentile_ms(send_to_paint, 100),
        },
        "frame_offset": offset,
        "barcode_agreement": agreement,
        "warmup_timed_out": wall["warmup_timed_out"],
        "load_cores": load(wall, send_log),
    }


def analyse_bare(bare: dict[str, Any], send_log: dict[str, Any]) -> dict[str, Any]:
    seconds = bare["seconds"]
    decoded_fps = [d / seconds for d in bare["decoded"]]
    return {
        "decoded_fps_median": statistics.median(decoded_fps),
        "decoded_fps_worst": min(decoded_fps),
        "cpu_s_per_frame": bare["cpu_s"] / max(1, sum(bare["decoded"])),
        "cores_busy": bare["cpu_s"] / seconds,
        "peak_rss_mb": bare["peak_rss_mb"],
        "decode_errors": sum(bare["decode_errors"]),
        "warmup_timed_out": bare["warmup_timed_out"],
        "load_cores": load(bare, send_log),
    }

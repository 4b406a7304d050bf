"""The wall benchmark's output: a plain-text table on stdout and JSON for later comparison."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import av

COLUMNS: list[tuple[str, str, int]] = [
    # (heading, row key, width)
    ("res", "res", 5),
    ("N", "n", 3),
    ("fps med", "fps_median", 7),
    ("fps worst", "fps_worst", 9),
    ("drop %", "dropped_pct", 6),
    ("CPU ms/fr wall", "cpu_ms_wall", 14),
    ("bare dec", "cpu_ms_decode", 8),
    ("ratio", "ratio", 5),
    ("dec+conv", "cpu_ms_convert", 8),
    ("ratio", "ratio_convert", 5),
    ("cores", "cores_busy", 5),
    ("RSS MB", "peak_rss_mb", 6),
    ("arr->paint p50/p95 ms", "arrival_to_paint", 21),
    ("send->paint p50/p95 ms", "send_to_paint", 22),
]


def machine_info() -> dict[str, Any]:
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in cpuinfo
                    if line.startswith("model name")
                ),
                "",
            )
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model,
        "loadavg_at_start": os.getloadavg(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "pyav": av.__version__,
        "ffmpeg": getattr(av, "ffmpeg_version_info", None),
        "ffmpeg_libraries": {k: ".".join(map(str, v)) for k, v in av.library_versions.items()},
        "pyside6": pyside_version,
        "qt": qVersion(),
        "qpa": os.environ.get("QT_QPA_PLATFORM"),
    }


def _fmt(value: Any, width: int) -> str:
    if value is None:
        text = "-"
    elif isinstance(value, float):
        text = f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    else:
        text = str(value)
    return text.rjust(width)


def _pair(stats: dict[str, float | None]) -> str:
    p50, p95 = stats.get("p50"), stats.get("p95")
    if p50 is None or p95 is None:
        return "-"
    return f"{p50:.0f} / {p95:.0f}"


def table_row(
    res: int,
    n: int,
    wall: dict[str, Any] | None,
    decode: dict[str, Any] | None,
    convert: dict[str, Any] | None,
) -> dict[str, Any]:
    """The figures of one configuration, as the table shows them (None where not measured)."""
    row: dict[str, Any] = {"res": f"{res}p", "n": n}
    if wall is not None:
        row.update(
            fps_median=wall["shown_fps_median"],
            fps_worst=wall["shown_fps_worst"],
            dropped_pct=wall["dropped_pct"],
            cpu_ms_wall=wall["cpu_s_per_frame"] * 1000,
            cores_busy=wall["cores_busy"],
            peak_rss_mb=wall["peak_rss_mb"],
            arrival_to_paint=_pair(wall["arrival_to_paint_ms"]),
            send_to_paint=_pair(wall["send_to_paint_ms"]),
        )
    if decode is not None:
        row["cpu_ms_decode"] = decode["cpu_s_per_frame"] * 1000
        if wall is not None:
            row["ratio"] = wall["cpu_s_per_frame"] / decode["cpu_s_per_frame"]
    if convert is not None:
        row["cpu_ms_convert"] = convert["cpu_s_per_frame"] * 1000
        if wall is not None:
            row["ratio_convert"] = wall["cpu_s_per_frame"] / convert["cpu_s_per_frame"]
    return row


def format_table(rows: list[dict[str, Any]]) -> str:
    lines = ["  ".join(head.rjust(width) for head, _, width in COLUMNS)]
    lines.append("  ".join("-" * width for _, _, width in COLUMNS))
    for row in rows:
        lines.append("  ".join(_fmt(row.get(key), width) for _, key, width in COLUMNS))
    return "\n".join(lines)


LEGEND = """\
fps med/worst: frames painted per second per tile (median and worst tile)
drop %: frames sent but never painted, share of those owed (network, decoder or slot)
CPU ms/fr: process CPU per frame: wall = per painted frame, bare dec = per frame of a bare
  PyAV decode of the same streams, ratio = wall / bare dec, dec+conv = bare decode plus
  scaling to the tile's size as BGRA, second ratio = wall / dec+conv; cores = the wall
  process's CPU s per s (2 cores = the whole machine here)
RSS MB: the wall process's peak resident set
arr->paint: packet off the demuxer to its frame painted; send->paint: frame muxed by the
  sender to painted, which includes about two frame periods (~67 ms at 30 fps) that
  FFmpeg's MPEG-TS demuxer and H.264 parser hold a frame until the next one starts
Second table: RSS +MB/min = the wall's resident set growth while measuring;
  the wall's CPU (cores) by thread: gui = Qt main thread (timer, paint),
  decode = the feeds' decode threads (decode + conversion), other = FFmpeg's UDP readers
  and Qt's helpers; arr->slot = packet off the demuxer to picture in the feed's slot
  (decode + conversion), slot->paint = in the slot to painted (GUI wake-up + paint), both
  p50 / p95; others' cores = load from other programs during the wall's window"""


DETAILS: list[tuple[str, int]] = [
    ("res", 5),
    ("N", 3),
    ("RSS +MB/min", 11),
    ("wall cores: gui", 15),
    ("decode", 6),
    ("other", 5),
    ("decoded fps", 11),
    ("slot drops", 10),
    ("dec errs", 8),
    ("arr->slot ms", 12),
    ("slot->paint ms", 14),
    ("bare cores", 10),
    ("dec+conv cores", 14),
    ("bare fps worst", 14),
    ("sender cores", 12),
    ("others' cores", 13),
    ("barcodes ok", 11),
]


def format_details(configurations: list[dict[str, Any]]) -> str:
    """Where the time goes: the wall's CPU by thread group next to the baselines'."""
    lines = ["  ".join(head.rjust(width) for head, width in DETAILS)]
    lines.append("  ".join("-" * width for _, width in DETAILS))
    for config in configurations:
        summary = config.get("summary", {})
        wall, decode, convert = (summary.get(k) for k in ("wall", "decode", "convert"))
        values: list[Any] = [f"{config['res']}p", config["n"]]
        if wall is not None:
            cores = wall["cpu_by_thread_cores"]
            values += [
                wall["rss_growth_mb_per_min"],
                cores["gui"],
                cores["decode"],
                cores["other"],
                sum(wall["decoded_fps"]) / len(wall["decoded_fps"]),
                sum(wall["slot_dropped"]),
                sum(wall["decode_errors"]),
                _pair(wall["arrival_to_slot_ms"]),
                _pair(wall["slot_to_paint_ms"]),
            ]
        else:
            values += [None] * 9
        values.append(decode["cores_busy"] if decode else None)
        values.append(convert["cores_busy"] if convert else None)
        values.append(decode["decoded_fps_worst"] if decode else None)
        if wall is not None:
            values += [
                wall["load_cores"]["sender"],
                wall["load_cores"]["others"],
                f"{100 * wall['barcode_agreement']:.0f} %",
            ]
        else:
            values += [None, None, None]
        lines.append("  ".join(_fmt(v, w) for v, (_, w) in zip(values, DETAILS, strict=True)))
    return "\n".join(lines)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps(document, indent=1))
    os.replace(tmp, path)


def timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")

"""The caller benchmark's figures: what the wall, the bare receiver and the phone recorded,
turned into delays, rates and CPU shares, and printed as tables.

All times are on this machine's monotonic clock: the two receiver processes stamp with it
directly, and the phone's page times come over by the measured offset of each page.
"""

from __future__ import annotations

import bisect
import statistics
from typing import Any

from tests.benchmarks.caller_card import CardSpec

STEPS: list[tuple[str, str, str]] = [
    # (label, where, event): cumulative time from the Agree tap to each step
    ("consent POST in (wall)", "wall", "consent_agree_in"),
    ("consent answered (wall)", "wall", "consent_agree_out"),
    ("camera asked (phone gUM)", "phone", "gum_start"),
    ("camera open (phone)", "phone", "gum_done"),
    ("ICE gathered (phone)", "phone", "gathering_complete"),
    ("WHIP POST in (wall)", "wall", "whip_in"),
    ("WHIP answer out (wall)", "wall", "whip_out"),
    ("ICE connected (wall)", "wall", "ice_completed"),
    ("DTLS up (wall pc connected)", "wall", "pc_connected"),
    ("1st frame decoded (aiortc)", "wall", "first_decoded"),
    ("1st frame converted (slot)", "wall", "first_converted"),
    ("1st frame painted", "wall", "first_paint"),
]


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "p5": None, "p50": None, "p95": None, "min": None, "max": None}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p5": ordered[round(0.05 * (len(ordered) - 1))],
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "min": ordered[0],
        "max": ordered[-1],
    }


def page_times(trial: dict[str, Any]) -> dict[str, float]:
    """The page's marks on the monotonic clock."""
    offset = trial["offset_s"]
    return {name: ms / 1000 + offset for name, ms in trial["marks_ms"].items()}


def captures(
    trial: dict[str, Any], loop_frames: int, fps: float
) -> tuple[dict[int, list[float]], int]:
    """Frame number -> the monotonic times the phone's camera produced it (sorted), and
    how many of those were filled in. The page's preview skips a frame now and then (most
    while the call is being set up); the fake camera ticks every 1/fps s, so a gap of k
    frames whose ends are k ticks apart (within a third of a tick) is filled evenly."""
    offset = trial["offset_s"]
    seen = [(int(number), ms / 1000 + offset) for number, ms, _w, _h in trial["frames"]]
    by_number: dict[int, list[float]] = {}
    filled = 0
    for i, (number, at) in enumerate(seen):
        by_number.setdefault(number, []).append(at)
        if i + 1 == len(seen):
            break
        following, then = seen[i + 1]
        step = (following - number) % loop_frames
        if step > 1 and abs((then - at) * fps - step) < 1 / 3:
            for k in range(1, step):
                by_number.setdefault((number + k) % loop_frames, []).append(
                    at + k * (then - at) / step
                )
                filled += 1
    for times in by_number.values():
        times.sort()
    return by_number, filled


def captured_at(
    by_number: dict[int, list[float]], number: int, seen: float, loop_s: float
) -> float | None:
    """When frame `number` seen at `seen` was captured: the latest capture of that number
    not after `seen` and within half a loop of it (the number repeats every loop). None
    when there is none, or when an earlier capture of the same number is also that
    recent: Chromium's file camera shows the loop's first frame twice, and which of the
    two was seen cannot be told."""
    times = by_number.get(number)
    if not times:
        return None
    i = bisect.bisect_right(times, seen)
    if i == 0 or seen - times[i - 1] >= loop_s / 2:
        return None
    if i >= 2 and seen - times[i - 2] < loop_s / 2:
        return None
    return times[i - 1]


def all_captures(by_number: dict[int, list[float]]) -> list[float]:
    return sorted(t for times in by_number.values() for t in times)


def after_next_capture(every: list[float], captured: float, out_at: float) -> float | None:
    """How long after the camera's next frame (the one after `captured`) a frame came out
    at `out_at`, in ms: positive when it was held until its successor existed."""
    i = bisect.bisect_right(every, captured + 1e-4)
    if i == len(every) or every[i] - captured > 0.2:
        return None
    return (out_at - every[i]) * 1000


def first_frame(
    wall: dict[str, Any], phone: dict[str, Any], trials: int, card: CardSpec
) -> dict[str, Any]:
    """Agree -> first painted frame for each short trial, split into the steps seen."""
    loop_s = card.loop_s
    rows = []
    for index in range(trials):
        link, trial = wall["links"][index], phone["trials"][index]
        marks = page_times(trial)
        agree = marks.get("click_agree")
        events = dict(link["events"])
        events.setdefault("ice_completed", events.get("ice_connected"))
        picture = link.get("first_picture") or {}
        if picture and "first_converted" in events:
            # The painted picture's own stamp when it was the first: the converter thread
            # counts a frame only after the wall may already have painted it.
            events["first_converted"] = min(events["first_converted"], picture["decoded_at"])
        row: dict[str, Any] = {"trial": index + 1, "steps_ms": {}}
        for label, where, name in STEPS:
            source = {"wall": events, "phone": marks}[where]
            at = source.get(name)
            row["steps_ms"][label] = (at - agree) * 1000 if at is not None and agree else None
        row["agree_to_paint_ms"] = row["steps_ms"]["1st frame painted"]
        if picture:
            captured = captured_at(
                captures(trial, card.frames, card.fps)[0],
                picture["number"],
                picture["painted_at"],
                loop_s,
            )
            row["first_frame_number"] = picture["number"]
            row["first_frame_age_ms"] = (
                (picture["painted_at"] - captured) * 1000 if captured is not None else None
            )
            row["first_frame_size"] = picture["source"]
        row["codec"] = link.get("codec")
        row["clock_rtt_ms"] = trial["rtt_s"] * 1000
        rows.append(row)
    values = [r["agree_to_paint_ms"] for r in rows if r["agree_to_paint_ms"] is not None]
    medians = {}
    for label, _, _ in STEPS:
        got = [r["steps_ms"][label] for r in rows if r["steps_ms"][label] is not None]
        medians[label] = statistics.median(got) if got else None
    return {
        "trials": rows,
        "agree_to_paint_ms": percentiles(values),
        "median_steps_ms": medians,
    }


def sender(stream: dict[str, Any]) -> dict[str, Any]:
    """What Chromium's encoder did over the window, from its own getStats()."""
    start, end = stream.get("sender_start") or {}, stream.get("sender_end") or {}
    a, b = start.get("outbound") or {}, end.get("outbound") or {}
    if not a or not b:
        return {}
    dt = (b["timestamp"] - a["timestamp"]) / 1000
    encoded = b["framesEncoded"] - a["framesEncoded"]
    limits = {
        k: round(v - (a.get("qualityLimitationDurations") or {}).get(k, 0.0), 2)
        for k, v in (b.get("qualityLimitationDurations") or {}).items()
    }
    return {
        "codec": end.get("codec"),
        "encoder": b.get("encoderImplementation"),
        "camera": [end.get("source", {}).get("width"), end.get("source", {}).get("height")],
        "sent_size_end": [b.get("frameWidth"), b.get("frameHeight")],
        "encoded_fps": encoded / dt if dt > 0 else None,
        "sent_kbps": (b["bytesSent"] - a["bytesSent"]) * 8 / dt / 1000 if dt > 0 else None,
        "target_kbps_end": (b.get("targetBitrate") or 0) / 1000,
        "encode_ms_per_frame": (b["totalEncodeTime"] - a["totalEncodeTime"]) * 1000 / encoded
        if encoded
        else None,
        "quality_limitation_end": b.get("qualityLimitationReason"),
        "quality_limitation_s": limits,
        "resolution_changes": b.get("qualityLimitationResolutionChanges"),
        "rtt_ms": (end.get("remote") or {}).get("roundTripTime", 0) * 1000,
        "packets_lost": (end.get("remote") or {}).get("packetsLost"),
    }


def sizes_seen(rows: list[tuple[float, int, int]]) -> list[dict[str, Any]]:
    """Each received resolution in turn, with when it started and how many frames had it."""
    runs: list[dict[str, Any]] = []
    for at, width, height in rows:
        if runs and runs[-1]["size"] == [width, height]:
            runs[-1]["frames"] += 1
        else:
            runs.append({"size": [width, height], "from": at, "frames": 1})
    return runs


def _received(
    stream: dict[str, Any],
    trial: dict[str, Any],
    card: CardSpec,
    rows: list[tuple[int, float, float, int, int]],
    *,
    first: float,
    frames: int,
) -> tuple[dict[str, Any], list[tuple[float, tuple[int, float, float, int, int]]]]:
    """What both receivers are measured by, from `rows` of (frame number, when it was
    seen: painted or out of the decoder, when it came out of aiortc's decoder, width,
    height), `first` (the first frame's time) and `frames` received in the window. Also
    the rows in the window whose capture was found, each with its capture time."""
    start, end = stream["window"]
    seconds, cpu = stream["seconds"], stream["cpu_s"]
    by_number, filled = captures(trial, card.frames, card.fps)
    every = all_captures(by_number)
    window = [r for r in rows if start <= r[1] <= end]
    matched, delays, held = [], [], []
    for row in window:
        captured = captured_at(by_number, row[0], row[1], card.loop_s)
        if captured is None:
            continue
        matched.append((captured, row))
        delays.append((row[1] - captured) * 1000)
        gap = after_next_capture(every, captured, row[2])
        if gap is not None:
            held.append(gap)
    phone_cpu = trial["stream"]["phone_cpu_s"]
    figures = {
        "seconds": seconds,
        "received_fps": frames / seconds,
        "sizes": sizes_seen([(r[1] - first, r[3], r[4]) for r in rows]),
        "delay_ms": percentiles(delays),
        "decoded_after_next_capture_ms": percentiles(held),
        "matched": len(delays),
        "in_window": len(window),
        "misread": sum(1 for r in window if not 0 <= r[0] < card.frames),
        "captures_seen": len(trial["frames"]),
        "capture_clock": trial.get("frame_clock"),
        "captures_filled": filled,
        "answer_kbps": trial.get("answer_kbps"),
        "cores": cpu / seconds,
        "cpu_ms_per_frame": cpu * 1000 / max(1, frames),
        "cores_by_thread": {k: v / seconds for k, v in stream["cpu_by_thread"].items()},
        "usage_per_s": {k: v / seconds for k, v in stream["usage"].items()},
        "phone_cores": phone_cpu / seconds,
        "others_cores": (stream["machine_busy_s"] - cpu - phone_cpu) / seconds,
        "clock_drift_ms": (trial["stream"]["clock_end"]["offset_s"] - trial["offset_s"]) * 1000,
        "sender": sender(trial["stream"]),
    }
    return figures, matched


def wall_stream(wall: dict[str, Any], phone: dict[str, Any], card: CardSpec) -> dict[str, Any]:
    """The wall's figures: delays to the painted picture, split at the decoder and slot."""
    stream = wall["stream"]
    counters = stream["counters"]
    in_slot = {p[1]: p[3] for p in stream["paints"]}  # painted -> converted into the slot
    # number, painted, out of the decoder, width, height
    rows = [(p[0], p[1], p[2], p[4], p[5]) for p in stream["paints"]]
    figures, matched = _received(
        stream,
        phone["trials"][-1],
        card,
        rows,
        first=wall["links"][-1]["events"].get("first_decoded", stream["window"][0]),
        frames=counters["arrived"],
    )
    to_arrive, to_slot, to_paint = [], [], []
    for captured, (_number, painted, arrived, _w, _h) in matched:
        decoded = in_slot[painted]
        to_arrive.append((arrived - captured) * 1000)
        to_slot.append((decoded - arrived) * 1000)
        to_paint.append((painted - decoded) * 1000)
    idle = wall["idle"]
    return {
        **figures,
        "painted_fps": counters["painted"] / stream["seconds"],
        "counters": counters,
        "capture_to_decoded_ms": percentiles(to_arrive),
        "decoded_to_slot_ms": percentiles(to_slot),
        "slot_to_paint_ms": percentiles(to_paint),
        "display_size": stream["display_size"],
        "idle_wall_cores": idle["cpu_s"] / idle["seconds"]
        if idle.get("seconds", 0) > 0.5
        else None,
        "start_kbps": wall.get("start_kbps"),
    }


def bare_stream(bare: dict[str, Any], phone: dict[str, Any], card: CardSpec) -> dict[str, Any]:
    """The bare receiver's figures: delays to the frame out of aiortc's decoder."""
    stream = bare["stream"]
    # number, out of the decoder (twice: it is both seen and decoded then), width, height
    rows = [(f[0], f[1], f[1], f[2], f[3]) for f in stream["received"]]
    figures, _ = _received(
        stream,
        phone["trials"][0],
        card,
        rows,
        first=bare["events"].get("first_decoded", stream["window"][0]),
        frames=stream["frames"],
    )
    return {**figures, "codec": bare.get("codec"), "start_kbps": bare.get("start_kbps")}


# -- printing ---------------------------------------------------------------------------


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def _pair(stats: dict[str, Any]) -> str:
    return f"{_num(stats.get('p50'))} / {_num(stats.get('p95'))}"


def _size(stream: dict[str, Any]) -> str:
    """The received resolutions, the most common first."""
    frames: dict[str, int] = {}
    for run in stream["sizes"]:
        key = "x".join(map(str, run["size"]))
        frames[key] = frames.get(key, 0) + run["frames"]
    return ", ".join(k for k, _ in sorted(frames.items(), key=lambda kv: -kv[1]))


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(
        c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )


def format_tables(document: dict[str, Any]) -> str:
    lines: list[str] = []
    first = document.get("first_frame")
    if first:
        trials = first["trials"]
        widths = [28] + [7] * len(trials) + [7]
        lines.append("Agree -> first frame painted on the wall, ms after the tap")
        lines.append(_row(["step"] + [f"#{t['trial']}" for t in trials] + ["median"], widths))
        lines.append(_row(["-" * w for w in widths], widths))
        for label, _, _ in STEPS:
            cells = [label] + [_num(t["steps_ms"][label]) for t in trials]
            lines.append(_row([*cells, _num(first["median_steps_ms"][label])], widths))
        ages = [_num(t.get("first_frame_age_ms")) for t in trials]
        lines.append(_row(["1st frame's age when painted", *ages, ""], widths))
        sizes = sorted({"x".join(map(str, t.get("first_frame_size") or [])) for t in trials})
        lines.append(f"first frames were {', '.join(sizes)}")
        lines.append("")
    streams = document.get("streams", [])
    heads = [
        "receiver",
        "recv fps",
        "received size",
        "delay p50/p95 ms",
        "matched",
        "cores",
        "ms/frame",
        "ratio",
        "phone cores",
        "others",
    ]
    widths = [22, 8, 18, 16, 9, 5, 8, 5, 11, 6]
    lines.append("Caller stream, glass (phone camera) to wall paint, and CPU per stream")
    lines.append(_row(heads, widths))
    lines.append(_row(["-" * w for w in widths], widths))
    bare = next((s for s in streams if s["receiver"] == "bare aiortc" and "error" not in s), None)
    for data in streams:
        name = data["receiver"]
        if "error" in data:
            lines.append(_row([name, "FAILED"] + [""] * (len(heads) - 2), widths))
            continue
        ratio = (
            _num(data["cpu_ms_per_frame"] / bare["cpu_ms_per_frame"], 2)
            if bare and data["receiver"] == "vigil wall"
            else ""
        )
        lines.append(
            _row(
                [
                    name,
                    _num(data["received_fps"], 1),
                    _size(data),
                    _pair(data["delay_ms"]),
                    f"{data['matched']}/{data['in_window']}",
                    _num(data["cores"], 2),
                    _num(data["cpu_ms_per_frame"], 2),
                    ratio,
                    _num(data["phone_cores"], 2),
                    _num(data["others_cores"], 2),
                ],
                widths,
            )
        )
    for data in streams:
        if "error" in data:
            continue
        name = data["receiver"]
        lines.append("")
        by = data["cores_by_thread"]
        threads = ", ".join(f"{k} {v:.3f}" for k, v in sorted(by.items(), key=lambda kv: -kv[1]))
        use = data["usage_per_s"]
        lines.append(
            f"{name}: cores by thread: {threads}; user {use['user_s']:.3f} + system "
            f"{use['system_s']:.3f}; context switches/s {use['voluntary_switches']:.0f} "
            f"voluntary, {use['forced_switches']:.0f} forced"
        )
        if data["receiver"] == "vigil wall":
            lines.append(
                "  delay split p50/p95 ms: camera -> out of aiortc's decoder "
                f"{_pair(data['capture_to_decoded_ms'])}, -> in the slot (converted) "
                f"{_pair(data['decoded_to_slot_ms'])}, -> painted {_pair(data['slot_to_paint_ms'])}"
            )
            if data["idle_wall_cores"] is not None:
                lines.append(
                    f"  the same wall idle, no caller: {data['idle_wall_cores']:.3f} cores"
                )
            lines.append(
                f"  painted {data['painted_fps']:.1f} fps into a {data['display_size'][0]}x"
                f"{data['display_size'][1]} tile; slot drops {data['counters']['slot_dropped']}, "
                f"misread barcodes {data['misread']}"
            )
        held = data["decoded_after_next_capture_ms"]
        lines.append(
            "  frame out of aiortc's decoder after the camera's NEXT frame was captured by "
            f"p5/p50 {_num(held['p5'])} / {_num(held['p50'])} ms (aiortc's jitter buffer "
            "holds each frame until the next one starts)"
        )
        runs = ", ".join(
            f"{r['size'][0]}x{r['size'][1]} from {r['from']:.1f} s ({r['frames']} fr)"
            for r in data["sizes"]
        )
        start = data.get("answer_kbps")
        lines.append(
            f"  the answer started Chromium's encoder at {_num(start)} kbit/s "
            f"(x-google-start-bitrate, as the page got it); received sizes after the first "
            f"frame: {runs}"
        )
        lines.append(
            f"  the phone's preview saw {data['captures_seen']} camera frames (timed by "
            f"{data['capture_clock']}); "
            f"{data['captures_filled']} skipped ones were filled in at 1/30 s steps"
        )
        s = data.get("sender")
        if s:
            lines.append(
                f"  Chromium sent {s['codec']} ({s['encoder']}) from a {s['camera'][0]}x"
                f"{s['camera'][1]} camera: {s['sent_size_end'][0]}x{s['sent_size_end'][1]} at "
                f"the end, {_num(s['encoded_fps'], 1)} fps, {_num(s['sent_kbps'])} kbit/s "
                f"(target {_num(s['target_kbps_end'])}), {_num(s['encode_ms_per_frame'], 1)} "
                f"ms to encode a frame; limited by {s['quality_limitation_end']} "
                f"{s['quality_limitation_s']}"
            )
    return "\n".join(lines)


def legend(document: dict[str, Any]) -> str:
    """How to read the tables, for this machine's core count."""
    return LEGEND.format(cores=document.get("machine", {}).get("nproc", "?"))


LEGEND = """\
Agree table: the Agree tap is the click event's own time in the page; (wall) steps are seen
  in the wall process (desk calls timed from outside, the WHIP session's peer connection
  states, the first frame out of aiortc's decoder, the first painted picture), (phone)
  steps inside Chromium's page; every page time is moved onto the machine's monotonic
  clock by round trips (+- half the shortest, ~1 ms). 1st frame's age: how long before
  its paint the camera captured the first frame shown.
delay: the phone camera's capture time of frame n (requestVideoFrameCallback captureTime
  on the page's own preview, frame number read from its barcode) to the wall's paint of the
  picture whose barcode reads n (the painted picture itself); for the bare receiver, to the
  frame coming out of aiortc's decoder. Matched = paints with a capture found / paints
  (Chromium's file camera shows the loop's frame 0 twice: those are left unmatched; a
  frame the preview skipped gets its capture time from its neighbours, 1/30 s apart).
  Not included: the phone's and the wall's display scan-out (~1 refresh each).
received size: what each receiver decoded, the most common first. Both answer with the
  gateway's start bitrate (GatewaySettings.video_start_kbps through whip.with_start_bitrate;
  the bare receiver calls the same function), so Chromium sends both the same stream.
cores: the receiving process's CPU s per s over the window ({cores} = the whole machine here);
  ms/frame: its CPU per frame received; ratio: Vigil's ms/frame over bare aiortc's, i.e.
  what conversion, painting, the gateway and Qt add to aiortc's own receive and decode.
phone cores: Chromium (and Playwright's driver) during the same window: the phone's cost,
  not the wall's, but it shares these {cores} cores. others: what everything else on the machine
  used meanwhile (cores); well above 0.05, the run was disturbed and is worth repeating."""

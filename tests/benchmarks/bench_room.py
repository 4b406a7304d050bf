"""The room benchmark: a desk's feeds through `vigil server` against the same feeds pulled
directly, and the server's CPU as desks are added (issue 15, "Capacity").

Everything is real and on loopback: one sender process (tests/benchmarks/sender.py, the
wall benchmark's) plays N live 720p30 H.264 cameras as UDP MPEG-TS, each to two ports at
once: one pulled by a real `vigil server` (a child process, its own base dir, accounts
and managed Janus), one left for a desk that pulls the camera itself. Every desk is a
process of its own (tests/benchmarks/room_desk.py), so the server's CPU and a desk's are
told apart by their own processes' CPU time.

1. Desk: `direct` (a `FeedSource` per camera, as a desk is today) and `room` (signed in
   to the server, a `RoomRelay` per feed into the same `FeedSource`) decode every picture
   and convert it for its tile, alternately, `--runs` times each over `--seconds`. Per
   run: the desk's CPU per feed per second, pictures decoded per second per feed, and the
   delay from the sender muxing frame k to frame k decoded on the desk (the sender logs
   when each frame left; the desk notes when each pts was decoded, tied to frame numbers
   by the barcode in the picture; one monotonic clock on this machine).
2. Server: 0, 1, 2, 4, 8 desks attached, each a process holding every feed's stream
   through its own `RoomRelay`s without decoding (eight decoding desks of N feeds would not
   fit on this machine, and what a desk does with the bytes costs the server nothing). At
   each count the server's CPU (all its threads; its Janus apart) is read from /proc over
   `--runs` consecutive windows of `--seconds`.

Callers (a phone through Janus; Agree -> first frame on the first and eighth desk) are
not here: tests/benchmarks/bench_room_callers.py measures the server's side of a caller.

    python -m tests.benchmarks room [--feeds 8] [--seconds 5] [--runs 3] [--desks 1,2,4,8]
                                    [--quick] [--out bench-results/room.json]

It prints two tables and writes JSON. It is never a pass/fail test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.benchmarks import analysis, report
from tests.benchmarks.bench_wall import free_udp_ports
from tests.benchmarks.loops import RESOLUTIONS, RESULTS_DIR, ensure_loop
from tests.servers import free_port

ROOT = RESULTS_DIR.parent
TICKS = os.sysconf("SC_CLK_TCK")
DESK_USER, ADMIN_USER = "desk", "chief"
PASSWORD = "bench-room-password"
"""The benchmark's throwaway accounts' password, in a temporary base dir."""
WARMUP_MAX_S = 20.0
SETTLE_S = 1.0


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["VIGIL_BENCH_PASSWORD"] = PASSWORD
    return env


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a live process so far (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def children(pid: int) -> list[int]:
    """The direct child processes of `pid` (the server's: its Janus)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            found += [int(p) for p in text.split()]
    return found


# -- the room server ------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    fingerprint: str
    base: Path

    def status(self) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "app", "status", "--base-dir", str(self.base)],
            capture_output=True,
            text=True,
            env=_env(),
            cwd=ROOT,
            timeout=30,
            check=False,
        )
        result: dict[str, Any] = json.loads(done.stdout) if done.returncode == 0 else {}
        return result


def _add_user(base: Path, name: str, role: str) -> None:
    subprocess.run(
        [
            *(sys.executable, "-m", "app", "users", "add", name, "--role", role),
            *("--password-stdin", "--base-dir", str(base)),
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT,
        timeout=60,
        check=True,
    )


@contextlib.contextmanager
def room_server(folder: Path, ports: list[int]) -> Iterator[Server]:
    """`vigil server` pulling udp://127.0.0.1:PORT for each port as "Bench-01"..., once its
    feeds are live; stopped with SIGTERM after."""
    api_port = free_port()
    rtp = free_port()
    feeds = "".join(
        f'[[feeds]]\nname = "Bench-{i + 1:02d}"\nurl = "udp://127.0.0.1:{port}"\n\n'
        for i, port in enumerate(ports)
    )
    config = folder / "vigil.toml"
    config.write_text(
        f'{feeds}[server]\nlisten = "127.0.0.1:{api_port}"\n\n'
        f"[sfu]\napi_port = {free_port()}\nadmin_port = {free_port()}\n"
        f'rtp_ports = "{rtp}-{rtp + 20}"\n'
    )
    base = folder / "base"
    _add_user(base, DESK_USER, "supervisor")
    _add_user(base, ADMIN_USER, "admin")  # last: setup mode ends when an admin exists
    out = folder / "server.out"
    with out.open("wb") as stdout, (folder / "server.err").open("wb") as stderr:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "app", "server"),
                *("--config", str(config), "--base-dir", str(base)),
            ],
            stdout=stdout,
            stderr=stderr,
            env=_env(),
            cwd=ROOT,
        )
    try:
        fingerprint = ""
        deadline = time.monotonic() + 60
        while not fingerprint:
            if process.poll() is not None or time.monotonic() > deadline:
                err = (folder / "server.err").read_text()[-3000:]
                raise RuntimeError(f"vigil server did not start: {err}")
            for line in out.read_text().splitlines():
                if line.startswith("fingerprint "):
                    fingerprint = line.split(" ", 1)[1].strip()
            time.sleep(0.2)
        server = Server(process, f"https://127.0.0.1:{api_port}", fingerprint, base)
        _wait_live(server, len(ports))
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_live(server: Server, count: int) -> None:
    from app.config import RoomSettings
    from app.room.client import RoomClient, RoomError

    client = RoomClient(RoomSettings(server.url, server.fingerprint))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(RoomError, OSError):
            if client.token is None:
                client.sign_in(DESK_USER, PASSWORD)
            feeds = client.room()["feeds"]
            if len(feeds) == count and all(f["state"] == "live" for f in feeds):
                return
        time.sleep(0.3)
    raise RuntimeError("the room server's feeds never all went live")


# -- desks ----------------------------------------------------------------------------------


def desk_command(mode: str, server: Server | None, result: Path) -> list[str]:
    command = [sys.executable, "-m", "tests.benchmarks.room_desk", mode, "--result", str(result)]
    if server is not None:
        command += ["--server", server.url, "--fingerprint", server.fingerprint]
        command += ["--user", DESK_USER]
    return command


def run_decoding_desk(
    mode: str, server: Server, direct_urls: list[str], *, seconds: float, folder: Path, run: int
) -> dict[str, Any]:
    """One measured desk process, `direct` or `room`; its raw result."""
    result = folder / f"desk-{mode}-{run}.json"
    command = desk_command(mode, None if mode == "direct" else server, result)
    if mode == "direct":
        command += ["--urls", ",".join(direct_urls)]
    command += ["--seconds", str(seconds), "--warmup-max", str(WARMUP_MAX_S)]
    command += ["--settle", str(SETTLE_S)]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT,
        timeout=WARMUP_MAX_S + seconds + 60,
        check=False,
    )
    if done.returncode != 0 or not result.exists():
        raise RuntimeError(f"{mode} desk failed ({done.returncode}):\n{done.stderr[-3000:]}")
    raw: dict[str, Any] = json.loads(result.read_text())
    return raw


class RelayDesks:
    """Desks that hold every feed's stream without decoding, one process each."""

    def __init__(self, server: Server, folder: Path) -> None:
        self.server, self.folder = server, folder
        self.processes: list[tuple[subprocess.Popen[bytes], Path]] = []

    def grow_to(self, count: int) -> None:
        started = []
        while len(self.processes) < count:
            n = len(self.processes)
            ready, result = self.folder / f"relay-{n}.ready", self.folder / f"relay-{n}.json"
            command = [*desk_command("relay", self.server, result), "--ready", str(ready)]
            process = subprocess.Popen(
                command, env=_env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            self.processes.append((process, result))
            started.append((process, ready))
        deadline = time.monotonic() + 60
        for process, ready in started:
            while not ready.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    err = process.stderr.read().decode() if process.stderr else ""
                    raise RuntimeError(f"a relay desk never got its streams: {err[-2000:]}")
                time.sleep(0.1)

    @property
    def pids(self) -> list[int]:
        return [process.pid for process, _ in self.processes]

    def stop(self) -> list[dict[str, Any]]:
        results = []
        for process, _ in self.processes:
            process.send_signal(signal.SIGTERM)
        for process, result in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if result.exists():
                results.append(json.loads(result.read_text()))
        self.processes.clear()
        return results


def server_windows(
    server: Server, desks: RelayDesks, seconds: float, runs: int
) -> list[dict[str, float]]:
    """`runs` consecutive windows: the server's, its Janus's and the desks' cores."""
    windows = []
    for _ in range(runs):
        janus = children(server.process.pid)
        pids = desks.pids
        t0 = time.monotonic()
        s0, j0 = cpu_s(server.process.pid), sum(cpu_s(p) for p in janus)
        d0 = sum(cpu_s(p) for p in pids)
        time.sleep(seconds)
        t1 = time.monotonic()
        s1, j1 = cpu_s(server.process.pid), sum(cpu_s(p) for p in janus)
        d1 = sum(cpu_s(p) for p in pids)
        wall = t1 - t0
        windows.append(
            {
                "server_cores": (s1 - s0) / wall,
                "janus_cores": (j1 - j0) / wall,
                "desks_cores": (d1 - d0) / wall,
                "seconds": wall,
            }
        )
    return windows


# -- analysis -------------------------------------------------------------------------------


def analyse_desk(raw: dict[str, Any], sent: list[list[float]], loop_frames: int) -> dict[str, Any]:
    """A desk run's figures: CPU per feed, decoded fps, send -> decoded delay."""
    n, seconds = len(raw["decoded"]), raw["seconds"]
    delays: list[float] = []
    arrivals: list[float] = []
    offsets = []
    agreement = []
    for i in range(n):
        log = {"fps": 30, "loop_frames": loop_frames, "sent": [sent[i]]}
        mine = {
            "barcodes": [[0, pts, code] for j, pts, code in raw["barcodes"] if j == i],
            "paints": [[0, pts, arrived] for j, pts, arrived, _ in raw["pictures"] if j == i],
        }
        offset, agreed = analysis.frame_offset(mine, log)
        offsets.append(offset)
        agreement.append(agreed)
        for j, pts, arrived, decoded in raw["pictures"]:
            if j != i or pts is None:
                continue
            k = round(pts * 30) - offset
            if 0 <= k < len(sent[i]):
                delays.append(decoded - sent[i][k])
                arrivals.append(arrived - sent[i][k])
    decoded_fps = [d / seconds for d in raw["decoded"]]
    return {
        "cores_per_feed": raw["cpu_s"] / seconds / n,
        "cpu_ms_per_frame": 1000 * raw["cpu_s"] / max(1, sum(raw["decoded"])),
        "cores_by_thread_per_feed": {k: v / seconds / n for k, v in raw["cpu_by_thread"].items()},
        "decoded_fps_median": statistics.median(decoded_fps),
        "decoded_fps_worst": min(decoded_fps),
        "decode_errors": sum(raw["decode_errors"]),
        "send_to_decoded_ms": {
            "p50": analysis.percentile_ms(delays, 50),
            "p95": analysis.percentile_ms(delays, 95),
            "samples": len(delays),
        },
        "send_to_demuxed_ms": {
            "p50": analysis.percentile_ms(arrivals, 50),
            "p95": analysis.percentile_ms(arrivals, 95),
        },
        "frame_offsets": offsets,
        "barcode_agreement": min(agreement) if agreement else 0.0,
        "others_cores": max(0.0, raw["machine_busy_s"] / seconds - raw["cpu_s"] / seconds),
        "warmup_timed_out": raw["warmup_timed_out"],
        "sizes": raw["sizes"],
    }


def _median(runs: list[dict[str, Any]], *path: str) -> float | None:
    values = []
    for run in runs:
        value: Any = run
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, (int, float)):
            values.append(float(value))
    return statistics.median(values) if values else None


def summarise_desks(runs: list[dict[str, Any]]) -> dict[str, Any]:
    groups = sorted({g for r in runs for g in r["cores_by_thread_per_feed"]})
    return {
        "cores_per_feed": _median(runs, "cores_per_feed"),
        "cpu_ms_per_frame": _median(runs, "cpu_ms_per_frame"),
        "decoded_fps_median": _median(runs, "decoded_fps_median"),
        "decoded_fps_worst": min(r["decoded_fps_worst"] for r in runs),
        "send_to_decoded_p50_ms": _median(runs, "send_to_decoded_ms", "p50"),
        "send_to_decoded_p95_ms": _median(runs, "send_to_decoded_ms", "p95"),
        "send_to_demuxed_p50_ms": _median(runs, "send_to_demuxed_ms", "p50"),
        "cores_by_thread_per_feed": {
            g: _median(runs, "cores_by_thread_per_feed", g) for g in groups
        },
        "others_cores": _median(runs, "others_cores"),
        "barcode_agreement": min(r["barcode_agreement"] for r in runs),
    }


# -- output ---------------------------------------------------------------------------------


def _f(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_desk_table(document: dict[str, Any]) -> str:
    settings = document["settings"]
    lines = [
        f"Desk: {settings['feeds']} feeds of 720p30 H.264, each decoded and converted for its "
        f"tile; medians of {settings['runs']} runs of {settings['seconds']:g} s",
        f"{'path':<8} {'cores/feed':>10} {'ms/frame':>8} {'fps med':>7} {'fps worst':>9}"
        f" {'send->decoded p50/p95 ms':>24} {'demuxed p50':>11}   cores/feed by thread",
    ]
    for path in ("direct", "room"):
        row = document["desk"][path]["summary"]
        threads = "  ".join(
            f"{g} {_f(v)}" for g, v in row["cores_by_thread_per_feed"].items() if v is not None
        )
        delay = f"{_f(row['send_to_decoded_p50_ms'], 0)} / {_f(row['send_to_decoded_p95_ms'], 0)}"
        lines.append(
            f"{path:<8} {_f(row['cores_per_feed']):>10} {_f(row['cpu_ms_per_frame'], 2):>8}"
            f" {_f(row['decoded_fps_median'], 1):>7} {_f(row['decoded_fps_worst'], 1):>9}"
            f" {delay:>24} {_f(row['send_to_demuxed_p50_ms'], 0):>11}   {threads}"
        )
    busy = "  ".join(
        f"{path} {_f(document['desk'][path]['summary']['others_cores'], 2)}"
        for path in ("direct", "room")
    )
    lines.append(f"busy elsewhere (cores, of {document['machine']['nproc']}): {busy}")
    ratio = document["desk"]["ratio"]
    lines.append(
        f"room / direct: {_f(ratio, 2)}x CPU per feed (issue 15's target: <= 1.3x); "
        f"+{_f(document['desk']['added_delay_p50_ms'], 0)} ms at p50"
    )
    return "\n".join(lines)


def format_server_table(document: dict[str, Any]) -> str:
    settings = document["settings"]
    lines = [
        f"Server: {settings['feeds']} feeds pulled once and recorded; each desk a process "
        f"holding all {settings['feeds']} streams (RoomRelay, no decode); medians of "
        f"{settings['runs']} windows of {settings['seconds']:g} s",
        f"{'desks':>5} {'server cores':>12} {'+/desk':>8} {'janus':>6} {'desk cores/stream':>17}"
        f" {'server decodes':>14} {'skipped':>7}",
    ]
    for step in document["server"]["steps"]:
        lines.append(
            f"{step['desks']:>5} {_f(step['server_cores']):>12} {_f(step['per_added_desk']):>8}"
            f" {_f(step['janus_cores']):>6} {_f(step['desk_cores_per_stream']):>17}"
            f" {step.get('server_decodes') or '-':>14} {step.get('skipped', '-'):>7}"
        )
    lines.append(
        f"per added desk (least squares over the steps): "
        f"{_f(document['server']['slope_cores_per_desk'])} cores, "
        f"{_f(document['server']['slope_cores_per_stream'])} per stream"
    )
    return "\n".join(lines)


LEGEND = """\
cores/feed: the desk process's CPU seconds per second per feed (user + system, every
  thread); ms/frame: its CPU per decoded picture; fps: pictures decoded per second per feed
  (median and worst feed); send->decoded: the sender muxing frame k to frame k decoded and
  converted on the desk (painting excluded; it costs the same on both paths); demuxed: to
  its packet leaving the desk's demuxer (the delay before decoding starts). Each MPEG-TS
  demuxer with its H.264 parser holds a frame about two frame periods (~67 ms at 30 fps:
  they close a frame only when the next begins); the room's path has that twice, at the
  server and again at the desk. busy elsewhere: the rest of the machine's cores busy during
  the desk's window (the server, the sender, other people's work: the noise).
by thread: decode = the feed's demux + decode + convert thread; relay = the RoomRelay's
  (TLS in, UDP out to the decoder on loopback); ffmpeg = FFmpeg's UDP reader threads.
server cores: `vigil server`'s process (all threads: pulling, recording, restreaming, TLS);
  +/desk = (cores - cores at 0 desks) / desks; janus = its managed Janus (no callers here);
  desk cores/stream: a relay desk's CPU per stream held; server decodes: the feeds' decoding
  as `vigil status` shows it (none = nothing decoded); skipped: times a desk fell behind."""


# -- the run --------------------------------------------------------------------------------


def _int_list(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def _slope(points: list[tuple[int, float]]) -> float | None:
    if len(points) < 2:
        return None
    mx = statistics.mean(x for x, _ in points)
    my = statistics.mean(y for _, y in points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else None


def run(args: argparse.Namespace) -> dict[str, Any]:
    loop = ensure_loop(RESOLUTIONS[720])
    n = args.feeds
    document: dict[str, Any] = {
        "benchmark": "room",
        "started": report.timestamp(),
        "machine": report.machine_info(),
        "settings": {
            "feeds": n,
            "seconds": args.seconds,
            "runs": args.runs,
            "desks": args.desks,
            "loop": {"path": str(loop.spec.path.relative_to(ROOT)), "bitrate": loop.bitrate_bps},
            "desk_processes": "one per desk",
            "relay_desks_decode": False,
        },
    }
    with tempfile.TemporaryDirectory(prefix="vigil-bench-room-") as tmp:
        folder = Path(tmp)
        ports = free_udp_ports(2 * n)
        server_ports, direct_ports = ports[:n], ports[n:]
        send_log = folder / "send.json"
        sender = subprocess.Popen(
            [
                *(sys.executable, "-m", "tests.benchmarks.sender", "--loop", str(loop.spec.path)),
                *("--ports", ",".join(map(str, ports)), "--fps", str(loop.spec.fps)),
                *("--log", str(send_log), "--duration", "3600"),
            ],
            env=_env(),
            cwd=ROOT,
        )
        desk_raw: dict[str, list[dict[str, Any]]] = {"direct": [], "room": []}
        steps: list[dict[str, Any]] = []
        try:
            _progress(f"room benchmark: {n} feeds of 720p30; starting vigil server ...")
            with room_server(folder, server_ports) as server:
                direct_urls = [f"udp://127.0.0.1:{p}" for p in direct_ports]
                for r in range(args.runs):
                    order = ("direct", "room") if r % 2 == 0 else ("room", "direct")
                    for mode in order:
                        _progress(f"desk {mode}, run {r + 1}/{args.runs} ...")
                        desk_raw[mode].append(
                            run_decoding_desk(
                                mode,
                                server,
                                direct_urls,
                                seconds=args.seconds,
                                folder=folder,
                                run=r,
                            )
                        )
                desks = RelayDesks(server, folder)
                try:
                    for count in [0, *args.desks]:
                        _progress(f"server with {count} desks ...")
                        desks.grow_to(count)
                        time.sleep(SETTLE_S)
                        windows = server_windows(server, desks, args.seconds, args.runs)
                        status = server.status()
                        step: dict[str, Any] = {
                            "desks": count,
                            "server_cores": _median(windows, "server_cores"),
                            "janus_cores": _median(windows, "janus_cores"),
                            "desks_cores": _median(windows, "desks_cores"),
                            "windows": windows,
                        }
                        feeds = status.get("feeds", [])
                        if feeds:
                            decoding = {str(f.get("decoding")) for f in feeds}
                            step["server_decodes"] = ",".join(sorted(decoding))
                            step["server_frames_decoded"] = sum(f.get("frames", 0) for f in feeds)
                            step["restream_desks"] = [f["restream"]["desks"] for f in feeds]
                            step["skipped"] = sum(f["restream"]["skipped"] for f in feeds)
                        steps.append(step)
                finally:
                    document["relay_desks"] = desks.stop()
        finally:
            sender.send_signal(signal.SIGTERM)
            try:
                sender.wait(15)
            except subprocess.TimeoutExpired:
                sender.kill()
        log = json.loads(send_log.read_text())
    sent_server, sent_direct = log["sent"][:n], log["sent"][n:]
    document["sender"] = {k: log[k] for k in ("frames", "late_max_s", "resyncs", "cpu_s")}
    desk: dict[str, Any] = {}
    for mode, runs in desk_raw.items():
        sent = sent_direct if mode == "direct" else sent_server
        analysed = [analyse_desk(raw, sent, log["loop_frames"]) for raw in runs]
        desk[mode] = {
            "summary": summarise_desks(analysed),
            "runs": analysed,
            "raw": [{k: v for k, v in raw.items() if k not in ("pictures",)} for raw in runs],
        }
    direct, room = desk["direct"]["summary"], desk["room"]["summary"]
    desk["ratio"] = (
        room["cores_per_feed"] / direct["cores_per_feed"] if direct["cores_per_feed"] else None
    )
    p50s = (room["send_to_decoded_p50_ms"], direct["send_to_decoded_p50_ms"])
    desk["added_delay_p50_ms"] = p50s[0] - p50s[1] if None not in p50s else None
    document["desk"] = desk
    base = steps[0]["server_cores"] if steps else 0.0
    for step in steps:
        count = step["desks"]
        step["per_added_desk"] = (step["server_cores"] - base) / count if count else None
        step["desk_cores_per_stream"] = step["desks_cores"] / (count * n) if count else None
    slope = _slope([(s["desks"], s["server_cores"]) for s in steps])
    document["server"] = {
        "steps": steps,
        "slope_cores_per_desk": slope,
        "slope_cores_per_stream": slope / n if slope is not None else None,
    }
    document["finished"] = report.timestamp()
    return document


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks room",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--feeds", type=int, default=8, help="720p30 cameras (default 8)")
    parser.add_argument("--seconds", type=float, help="measured seconds per window (default 5)")
    parser.add_argument("--runs", type=int, help="runs per desk path, windows per step (3)")
    parser.add_argument("--desks", type=_int_list, help="desk counts (default 1,2,4,8)")
    parser.add_argument("--quick", action="store_true", help="one run of 3 s, 1 and 2 desks")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "room.json")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (3.0 if args.quick else 5.0)
    args.runs = args.runs or (1 if args.quick else 3)
    args.desks = args.desks or ([1, 2] if args.quick else [1, 2, 4, 8])
    started = time.monotonic()
    document = run(args)
    document["settings"]["elapsed_s"] = time.monotonic() - started
    report.write_json(args.out, document)
    print(format_desk_table(document))
    print()
    print(format_server_table(document))
    print()
    print(LEGEND)
    print(f"\nJSON: {args.out}  ({document['settings']['elapsed_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

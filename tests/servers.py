"""Real servers on loopback for the tests, started and stopped by fixtures.

Every server here listens on or sends to 127.0.0.1 only, and every process it starts dies
with the test run (stdin closed, and a parent-death signal on Linux), so a crashed test
leaves nothing behind.

- `RtspServer`: GStreamer's RTSP server (`tests/rtsp_server.py`, run with the system
  python3, which has `gi`), optionally behind basic authentication.
- `RtmpPublisher`: ffmpeg publishing a live encode as a one-client RTMP server (`-listen 1`).
- `HlsPublisher` with `HttpServer`: ffmpeg writing a live HLS playlist into a folder that a
  Python HTTP server serves.
- `UdpTsSender`: Vigil's own demo encoder (`media.demo.TsUdpSender`) in a thread, with a
  picture size that can change mid-stream; `UdpRelay` passes its datagrams on, damaging
  them on demand.
- `BlackHoleServer`: accepts TCP connections and never answers (a hung camera).
- `SecretService`: a private D-Bus session bus and gnome-keyring-daemon in a temporary
  folder, so keyring tests never touch the user's own keyring.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import functools
import http.server
import os
import random
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

from media.demo import Orbit, TsUdpSender
from media.testcard import TestCard

LOOPBACK = "127.0.0.1"
SYSTEM_PYTHON = "/usr/bin/python3"
"""Debian's python3: it has `gi` (python3-gi) for the GStreamer RTSP server; the venv has not."""
RTSP_SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")

T = TypeVar("T")


# -- helpers ----------------------------------------------------------------------------


def wait_for(
    predicate: Callable[[], T], timeout_s: float, what: str, interval_s: float = 0.02
) -> T:
    """Poll `predicate` until it returns something truthy; fail naming `what` at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s:.1f} s waiting for {what}")
        time.sleep(interval_s)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 nobody listens on (the kernel's choice, released again)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def tcp_listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port, read from /proc without connecting
    (a probe connection would use up a one-client server such as `ffmpeg -listen 1`)."""
    wanted = f"0100007F:{port:04X}"
    with open("/proc/net/tcp", encoding="ascii") as table:
        next(table)
        for line in table:
            fields = line.split()
            if fields[1] == wanted and fields[3] == "0A":  # 0A: TCP_LISTEN
                return True
    return False


try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:
    _LIBC = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child between fork and exec: get SIGTERM when the test process goes (Linux).
    libc is loaded beforehand: the child of a threaded process must not dlopen."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Process:
    """A child process whose stderr goes to a file, for the message when it fails."""

    def __init__(
        self, argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        self.argv = list(argv)
        # Closed in stop(); it outlives this call, so no `with`.
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            preexec_fn=_die_with_parent if _LIBC is not None else None,  # noqa: PLW1509
        )

    def read_line(self, timeout_s: float) -> str:
        """One line of stdout, or "" at the deadline or when the process ends."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                break
            byte = os.read(self.proc.stdout.fileno(), 1)
            if not byte:
                break
            line += byte
        return line.decode(errors="replace").strip()

    def stderr_text(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-2000:]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout_s: float = 3.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a hung (SIGSTOPped) server must hear SIGTERM
            self.proc.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout_s)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._stderr.close()

    def fail(self, message: str) -> AssertionError:
        return AssertionError(f"{message}: {' '.join(self.argv)}\n{self.stderr_text()}")


# -- RTSP -------------------------------------------------------------------------------


class RtspServer:
    """rtsp://127.0.0.1:PORT/live, H.264 320x240 at 15 fps, over TCP and UDP (or only
    one: `protocols="tcp"` or `"udp"`)."""

    def __init__(
        self,
        port: int | None = None,
        *,
        user: str | None = None,
        password: str | None = None,
        size: str = "320x240",
        fps: int = 15,
        protocols: str = "both",
    ) -> None:
        self.port = port or free_port()
        self.user, self.password, self.size, self.fps = user, password, size, fps
        self.protocols = protocols
        self._process: Process | None = None

    @property
    def url(self) -> str:
        return f"rtsp://{LOOPBACK}:{self.port}/live"

    def start(self, timeout_s: float = 10.0) -> RtspServer:
        argv = [SYSTEM_PYTHON, str(RTSP_SERVER_SCRIPT), "--port", str(self.port)]
        argv += ["--size", self.size, "--fps", str(self.fps), "--protocols", self.protocols]
        if self.user:
            argv += ["--user", self.user, "--password", self.password or ""]
        process = Process(argv)
        line = process.read_line(timeout_s)
        if line != "READY":
            process.stop()
            raise process.fail(f"RTSP server did not start (said {line!r})")
        self._process = process
        return self

    def hang(self) -> None:
        """Freeze the server (SIGSTOP): its sockets stay open but nothing more comes, like
        a camera that locks up or a link that silently drops."""
        assert self._process is not None
        self._process.proc.send_signal(signal.SIGSTOP)

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- RTMP and HLS (ffmpeg) --------------------------------------------------------------

FFMPEG_TESTSRC = [
    "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
    "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15",
    "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
    "-g", "15", "-keyint_min", "15", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
]  # fmt: skip
"""A live 320x240 15 fps H.264 encode of ffmpeg's moving test pattern, key frame each second."""


class RtmpPublisher:
    """ffmpeg as a one-client RTMP server: it listens, a player connects, ffmpeg publishes
    the live encode to it, and ends when the player goes."""

    def __init__(self) -> None:
        self.port = free_port()
        self._process: Process | None = None

    @property
    def url(self) -> str:
        return f"rtmp://{LOOPBACK}:{self.port}/live/x"

    def start(self, timeout_s: float = 10.0) -> RtmpPublisher:
        process = Process([*FFMPEG_TESTSRC, "-f", "flv", "-listen", "1", self.url])
        self._process = process
        try:
            wait_for(
                lambda: tcp_listening(self.port) or not process.alive(), timeout_s, "RTMP listen"
            )
        except AssertionError:
            self.stop()
            raise
        if not process.alive():
            raise process.fail("ffmpeg did not start as an RTMP server")
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None


class RtpTsSender:
    """ffmpeg sending the live encode as MPEG-TS in RTP (payload type 33) to a UDP port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._process: Process | None = None

    def start(self) -> RtpTsSender:
        self._process = Process(
            [*FFMPEG_TESTSRC, "-f", "rtp_mpegts", f"rtp://{LOOPBACK}:{self.port}?pkt_size=1316"]
        )
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class HttpServer:
    """Serves a folder over HTTP on 127.0.0.1, from a thread. It counts the requests it
    gets, and while `fail_with` is set answers every one with that HTTP error (a server
    having a bad day)."""

    def __init__(self, directory: Path) -> None:
        self.requests = 0
        self.fail_with: int | None = None
        lock = threading.Lock()
        server = self

        class Handler(_QuietHandler):
            def do_GET(self) -> None:
                with lock:
                    server.requests += 1
                if server.fail_with is not None:
                    self.send_error(server.fail_with)
                    return
                super().do_GET()

        handler = functools.partial(Handler, directory=str(directory))
        self._server = http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    def url(self, name: str) -> str:
        return f"http://{LOOPBACK}:{self.port}/{name}"

    def start(self) -> HttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(2)


class HlsPublisher:
    """ffmpeg writing a live HLS playlist (1 s segments) into `directory`, served over HTTP."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.http = HttpServer(directory)
        self._process: Process | None = None

    @property
    def url(self) -> str:
        return self.http.url("live.m3u8")

    def start(self, timeout_s: float = 15.0, segments: int = 2) -> HlsPublisher:
        self.http.start()
        hls = [
            "-f", "hls", "-hls_time", "1", "-hls_list_size", "6",
            "-hls_flags", "delete_segments+independent_segments", "live.m3u8",
        ]  # fmt: skip
        process = Process([*FFMPEG_TESTSRC, *hls], cwd=self.directory)
        self._process = process
        playlist = self.directory / "live.m3u8"

        def ready() -> bool:
            if not process.alive():
                return True
            return playlist.exists() and playlist.read_text().count("#EXTINF") >= segments

        try:
            wait_for(ready, timeout_s, "the HLS playlist")
        except AssertionError:
            self.stop()
            raise
        if not process.alive():
            raise process.fail("ffmpeg did not write HLS")
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None
        self.http.stop()


# -- UDP MPEG-TS ------------------------------------------------------------------------


class UdpTsSender:
    """Vigil's demo encoder sending one live H.264 MPEG-TS stream to udp://127.0.0.1:port.

    `resize()` makes it start a new encode at another size on the same port, as a camera
    does when its resolution is changed while streaming."""

    def __init__(
        self,
        port: int,
        size: tuple[int, int] = (320, 240),
        fps: int = 15,
        name: str = "UDP",
        orbit: Orbit | None = None,
    ) -> None:
        self.port, self.fps, self.name, self.orbit = port, fps, name, orbit
        self._size = size
        self._wanted = size
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sender-{port}", daemon=True)
        self.frames = 0
        self.error: BaseException | None = None

    def start(self) -> UdpTsSender:
        self._thread.start()
        return self

    def resize(self, width: int, height: int) -> None:
        self._wanted = (width, height)

    def _encoder(self) -> TsUdpSender:
        width, height = self._size
        card = TestCard(self.name, width, height, (90, 160, 255))
        return TsUdpSender(card, self.port, self.fps, orbit=self.orbit)

    def _run(self) -> None:
        try:
            sender = self._encoder()
            period = 1 / self.fps
            next_tick = time.monotonic()
            while not self._stop.is_set():
                if self._wanted != self._size:
                    sender.close()
                    self._size = self._wanted
                    sender = self._encoder()
                sender.send_next(dt.datetime.now(dt.UTC))
                self.frames += 1
                next_tick += period
                delay = next_tick - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_tick = time.monotonic()
            sender.close()
        except BaseException as exc:  # the test asserts on it; a sender must not die silently
            self.error = exc
            raise

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


TS_PACKET = 188


class UdpRelay:
    """Receives datagrams on its own port and passes them on to `target_port`.

    While `damaging` is set it overwrites most of the payload of one in three video TS
    packets (headers intact, so the demuxer keeps the stream and the decoder gets the
    damage) and adds a datagram of random bytes after about one in three datagrams."""

    def __init__(self, target_port: int, video_pid: int = 0x100) -> None:
        self.target_port = target_port
        self.video_pid = video_pid
        self.damaging = threading.Event()
        self.damaged_packets = 0
        self._in = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._in.bind((LOOPBACK, 0))
        self._in.settimeout(0.1)
        self.port = int(self._in.getsockname()[1])
        self._out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._stop = threading.Event()
        self._random = random.Random(4521)
        self._thread = threading.Thread(target=self._run, name=f"relay-{self.port}", daemon=True)

    def start(self) -> UdpRelay:
        self._thread.start()
        return self

    def send_garbage(self, datagrams: int, size: int = 1316) -> None:
        """Random bytes straight to the target, as from a misconfigured sender."""
        for _ in range(datagrams):
            self._out.sendto(self._random.randbytes(size), (LOOPBACK, self.target_port))

    def _damage(self, data: bytes) -> bytes:
        packets = bytearray(data)
        for start in range(0, len(packets) - TS_PACKET + 1, TS_PACKET):
            pid = ((packets[start + 1] & 0x1F) << 8) | packets[start + 2]
            if pid == self.video_pid and self._random.random() < 0.33:
                for offset in range(start + 8, start + TS_PACKET, 2):
                    packets[offset] = self._random.randrange(256)
                self.damaged_packets += 1
        return bytes(packets)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._in.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            damaging = self.damaging.is_set()
            self._out.sendto(self._damage(data) if damaging else data, (LOOPBACK, self.target_port))
            if damaging and self._random.random() < 0.33:
                self.send_garbage(1)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._in.close()
        self._out.close()


# -- a hung server ----------------------------------------------------------------------


class BlackHoleServer:
    """Accepts TCP connections on 127.0.0.1 and never says a word."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind((LOOPBACK, 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.port = int(self._sock.getsockname()[1])
        self._clients: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="black-hole", daemon=True)

    def start(self) -> BlackHoleServer:
        self._thread.start()
        return self

    @property
    def connections(self) -> int:
        return len(self._clients)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._clients.append(client)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for client in self._clients:
            client.close()
        self._sock.close()


# -- a private Secret Service -----------------------------------------------------------

_DBUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""
"""A session bus of our own: no service files (nothing is auto-started on it, least of all
the user's keyring), reachable only through a socket in the temporary folder."""


class SecretService:
    """dbus-daemon plus gnome-keyring-daemon (secrets only), all state under `root`.

    `env` holds the variables a client needs (bus address, XDG folders, HOME); they are
    given to the daemons here and put into the test process only by the fixture, for the
    length of a test."""

    KEYRING_PASSWORD = "vigil-tests"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._bus: Process | None = None
        self._keyring: Process | None = None
        self.env: dict[str, str] = {}

    def start(self, timeout_s: float = 10.0) -> SecretService:
        for name in ("home", "data", "config", "cache", "runtime"):
            (self.root / name).mkdir(mode=0o700, parents=True, exist_ok=True)
        config = self.root / "session.conf"
        config.write_text(_DBUS_CONFIG.format(socket=self.root / "bus"), encoding="utf-8")
        self._bus = Process(
            ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"]
        )
        address = self._bus.read_line(timeout_s)
        if not address.startswith("unix:"):
            raise self._bus.fail(f"dbus-daemon did not start (said {address!r})")
        self.env = {
            "DBUS_SESSION_BUS_ADDRESS": address,
            "HOME": str(self.root / "home"),
            "XDG_DATA_HOME": str(self.root / "data"),
            "XDG_CONFIG_HOME": str(self.root / "config"),
            "XDG_CACHE_HOME": str(self.root / "cache"),
            "XDG_RUNTIME_DIR": str(self.root / "runtime"),
        }
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **self.env}
        # --unlock reads the login keyring's password from stdin and creates that keyring
        # (the default collection) when there is none yet.
        self._keyring = Process(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"], env=env
        )
        assert self._keyring.proc.stdin is not None
        self._keyring.proc.stdin.write(self.KEYRING_PASSWORD.encode())
        self._keyring.proc.stdin.close()
        try:
            wait_for(self._ready, timeout_s, "gnome-keyring-daemon on the private bus")
        except AssertionError as exc:
            message = f"{exc}\n{self._keyring.stderr_text()}"
            self.stop()
            raise AssertionError(message) from None
        return self

    def _ready(self) -> bool:
        import secretstorage
        from jeepney.io.blocking import open_dbus_connection

        assert self._keyring is not None
        if not self._keyring.alive():
            raise self._keyring.fail("gnome-keyring-daemon ended")
        try:
            with open_dbus_connection(bus=self.env["DBUS_SESSION_BUS_ADDRESS"]) as connection:
                if not secretstorage.check_service_availability(connection):
                    return False
                collection = secretstorage.get_default_collection(connection)
                return not collection.is_locked()
        except (OSError, secretstorage.exceptions.SecretStorageException):
            return False

    def stop(self) -> None:
        for process in (self._keyring, self._bus):
            if process is not None:
                process.stop()
        self._keyring = self._bus = None


# -- SRT (ffmpeg's own libsrt output) ---------------------------------------------------


def udp_bound(port: int) -> bool:
    """Whether a socket is bound to UDP 127.0.0.1:port, read from /proc (an SRT listener
    must be up before a caller is started, or the caller gives up)."""
    wanted = f"0100007F:{port:04X}"
    with open("/proc/net/udp", encoding="ascii") as table:
        next(table)
        return any(line.split()[1] == wanted for line in table)


class SrtSender:
    """ffmpeg sending the live encode as MPEG-TS over SRT (Debian's ffmpeg has libsrt), as a
    drone or encoder does: `mode="listener"` waits on 127.0.0.1:port for Vigil to call it,
    `mode="caller"` calls Vigil's listener on that port. `kill()` is the sender dying
    (SIGKILL, nothing said to the peer); `start()` again brings it back on the same port."""

    def __init__(self, port: int, mode: str, passphrase: str | None = None) -> None:
        self.port, self.mode, self.passphrase = port, mode, passphrase
        self._process: Process | None = None

    @property
    def url(self) -> str:
        url = f"srt://{LOOPBACK}:{self.port}?mode={self.mode}&pkt_size=1316"
        return url + (f"&passphrase={self.passphrase}" if self.passphrase else "")

    def start(self, timeout_s: float = 10.0) -> SrtSender:
        process = Process([*FFMPEG_TESTSRC, "-f", "mpegts", self.url])
        self._process = process
        if self.mode == "listener":
            wait_for(lambda: udp_bound(self.port) or not process.alive(), timeout_s, "SRT listen")
            if not process.alive():
                raise process.fail("ffmpeg did not start as an SRT listener")
        return self

    def alive(self) -> bool:
        return self._process is not None and self._process.alive()

    def stderr_text(self) -> str:
        return self._process.stderr_text() if self._process is not None else ""

    def kill(self) -> None:
        if self._process is not None:
            self._process.proc.kill()
            self._process.stop()
            self._process = None

    def stop(self) -> None:
        # ffmpeg may hang on SIGTERM in an SRT write; Process.stop kills it after 3 s, so
        # go straight to SIGKILL: a test sender has nothing to finish.
        self.kill()

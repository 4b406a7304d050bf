"""SRT feeds through a real SRT implementation: Debian's `srt-live-transmit` as a relay.

The PyAV wheel's FFmpeg is built without libsrt, so `srt://` cannot be opened directly.
Instead each SRT feed gets its own `srt-live-transmit` child that speaks SRT to the drone or
encoder (calling its listener, or listening for it to call) and passes the MPEG-TS it
receives, datagram by datagram, to a UDP port on 127.0.0.1 that the feed's source reads as
it reads any `udp://` feed. What SRT adds (retransmission, encryption) ends at the relay;
nothing leaves loopback after it.

The relay is supervised here, not by srt-live-transmit's own auto-reconnect: that retries a
rejected connection every 10 ms with no wait (a wrong passphrase hammers the sender a
hundred times a second), and exits silently. So it runs with `-a no`: it exits when its
connection fails or ends, and is started again after the feed's backoff (0.5 s, then once a
second). Its stderr is logged at debug, with the passphrase blanked, and read for the
reason a connection failed ("Incorrect passphrase"), which the feed then shows. The child
gets SIGTERM when its supervising thread or Vigil ends (PR_SET_PDEATHSIG), so a killed
Vigil never leaves a relay holding a listener's port.

srt-live-transmit takes the passphrase only in its SRT URI (it has no option to read it
from a file or the environment), so it is on the child's command line, where `ps` shows it
to local users unless /proc is mounted with `hidepid=2`. Vigil never logs that URI nor
shows it in `vigil status`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse

from media.live.backoff import Backoff
from media.live.relay import LOOPBACK, free_udp_port

log = logging.getLogger(__name__)

PROGRAM = "srt-live-transmit"
INSTALL = "apt-get install srt-tools"
MODES = ("caller", "listener")
PASSPHRASE_LENGTHS = range(10, 80)
"""SRT's own limit (10 to 79 characters); srt-live-transmit refuses anything else."""
CONNECTED_FOR_RESET_S = 2.0
"""A relay that stayed connected this long has proved the link: its backoff starts over."""

try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
except OSError:
    _LIBC = None
_PR_SET_PDEATHSIG = 1

_REJECTED = (
    re.compile(r"REJECT reported from HS processing: (?P<why>.+?) - not processing further"),
    re.compile(r"rsp\(REJECT\): \d+ - (?P<why>.+)$"),
)
"""How libsrt says a handshake was refused: as the caller, and as the listener."""
_SECRET_IN_LINE = re.compile(r"(passphrase\s*=\s*'?)[^&'\s]*")
"""The passphrase as srt-live-transmit echoes its URI or, verbose, its parameters."""
_URI_SAFE = re.compile(r"[^&#%\s]+")


def _die_with_parent() -> None:
    """In the child between fork and exec: SIGTERM when the thread that started it ends
    (Linux), which outlives the child unless Vigil itself dies. libc is loaded beforehand:
    the child of a threaded process must not dlopen."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def is_srt(url: str) -> bool:
    return urllib.parse.urlsplit(url).scheme == "srt"


def srt_mode(url: str) -> str:
    """`caller` or `listener` as the URL asks (`mode=`), else as srt-live-transmit takes it:
    no host means listen."""
    parts = urllib.parse.urlsplit(url)
    mode = urllib.parse.parse_qs(parts.query).get("mode", [""])[-1]
    return mode or ("caller" if parts.hostname else "listener")


def srt_url_problem(url: str) -> str | None:
    """What is wrong with an srt:// URL for a feed, or None. The passphrase never goes in
    it (the config file is not where secrets live): it comes from the keyring."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    try:
        port = parts.port
    except ValueError:
        return "the port is not a number"
    if port is None:
        return "an srt:// URL needs a port: srt://HOST:PORT or srt://:PORT?mode=listener"
    if "passphrase" in query:
        return "the URL holds the SRT passphrase; remove it and store it in the keyring"
    mode = srt_mode(url)
    if mode not in MODES:
        return f"mode={mode} is not supported; use mode=caller or mode=listener"
    if mode == "caller" and not parts.hostname:
        return "a caller needs the sender's host: srt://HOST:PORT"
    return None


def srt_missing(program: str = PROGRAM) -> str | None:
    """Why SRT feeds cannot run on this machine (srt-live-transmit is not installed), or
    None."""
    if shutil.which(program) is None:
        return f"SRT needs {program}, which is not installed: {INSTALL}"
    return None


class SrtRelay:
    """One feed's srt-live-transmit, from `url` to udp://127.0.0.1:`port`, kept running from
    `start()` until `stop()`. `problem` says why nothing arrives, when the relay knows."""

    def __init__(
        self,
        url: str,
        passphrase: str | None,
        *,
        name: str,
        program: str = PROGRAM,
        backoff: Backoff | None = None,
    ) -> None:
        self.url = url
        self.name = name
        self.program = program
        self.mode = srt_mode(url)
        self.port = free_udp_port()
        self.starts = 0
        self.connected = False
        self.problem: str | None = None
        self.fatal: str | None = None
        """A problem no restart can mend (a passphrase SRT refuses): the feed fails."""
        if passphrase is not None and len(passphrase) not in PASSPHRASE_LENGTHS:
            self.fatal = "the SRT passphrase in the keyring must be 10 to 79 characters"
        elif passphrase is not None and not _URI_SAFE.fullmatch(passphrase):
            self.fatal = "the SRT passphrase in the keyring cannot hold &, #, % or spaces"
        self._passphrase = passphrase
        self._backoff = backoff or Backoff()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._supervise, name=f"srt-{name}", daemon=True)

    @property
    def local_url(self) -> str:
        """Where the feed's source reads the relayed MPEG-TS."""
        return f"udp://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def open_options(self) -> dict[str, str] | None:
        return None  # a udp:// URL: the usual ones

    def start(self) -> None:
        if self.fatal is None:
            self._thread.start()

    def stop(self, timeout_s: float = 1.0) -> None:
        """SIGTERM to the relay and no restart; waits a little for the supervisor to see it
        go (it kills a relay that ignores SIGTERM)."""
        self._stop.set()
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                self._process.terminate()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def explain(self, error: str) -> str:
        """The reason to show for a feed that got nothing: the relay's, when it has one."""
        if self.problem is not None:
            return self.problem
        if not self.connected and self.mode == "listener":
            return f"no SRT sender has called yet (listening on port {self._srt_port()})"
        return error

    # -- the supervising thread ----------------------------------------------------------

    def argv(self) -> list[str]:
        """The command line; it holds the passphrase, so it is never logged."""
        # srt-live-transmit does not percent-decode its URI: the query is passed as written,
        # and the passphrase as it is (one holding & or # is refused in __init__).
        parts = urllib.parse.urlsplit(self.url)
        query = [f"mode={self.mode}"]
        query += [item for item in parts.query.split("&") if item and not item.startswith("mode=")]
        if self._passphrase:
            query.append(f"passphrase={self._passphrase}")
        source = urllib.parse.urlunsplit(parts._replace(query="&".join(query)))
        # -a no: exit on a failed or ended connection; this class restarts it with backoff.
        return [self.program, "-a", "no", source, f"{self.local_url}?pkt_size=1316"]

    def _srt_port(self) -> int | None:
        return urllib.parse.urlsplit(self.url).port

    def _supervise(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            code = self._run_once()
            if self._stop.is_set():
                break
            if self.connected and time.monotonic() - started >= CONNECTED_FOR_RESET_S:
                self._backoff.reset()
            if not self.connected and self.problem is None and code is not None:
                where = urllib.parse.urlsplit(self.url).netloc
                self.problem = (
                    f"no SRT answer from {where}"
                    if self.mode == "caller"
                    else f"the SRT relay ended (exit status {code})"
                )
            self.connected = False
            delay = self._backoff.next_delay()
            log.info(
                "feed %s: %s exited (status %s); starting it again in %.1f s",
                self.name,
                self.program,
                code,
                delay,
            )
            self._stop.wait(delay)

    def _run_once(self) -> int | None:
        """Run the relay until it exits; its exit status, or None if it never started."""
        with self._lock:
            if self._stop.is_set():
                return None
            try:
                self._process = subprocess.Popen(
                    self.argv(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    preexec_fn=_die_with_parent if _LIBC is not None else None,  # noqa: PLW1509
                )
            except OSError as exc:
                self.problem = f"{self.program} could not be started: {exc.strerror}"
                log.error("feed %s: %s", self.name, self.problem)
                return None
            process = self._process
            self.starts += 1
        log.debug("feed %s: %s started, pid %d", self.name, self.program, process.pid)
        assert process.stderr is not None
        for raw in process.stderr:
            self._on_line(raw.decode(errors="replace").rstrip())
        try:
            return process.wait(2.0)
        except subprocess.TimeoutExpired:  # stderr closed, yet it lingers: end it for good
            process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(2.0)
            return process.returncode

    def _on_line(self, line: str) -> None:
        line = _SECRET_IN_LINE.sub(r"\1***", line)
        if self._passphrase:
            line = line.replace(self._passphrase, "***")
        if not line:
            return
        log.debug("feed %s: %s: %s", self.name, self.program, line)
        if line.startswith("SRT source connected"):
            self.connected = True
            self.problem = None
            return
        for pattern in _REJECTED:
            match = pattern.search(line)
            if match:
                self.problem = f"SRT connection rejected: {match['why'].strip()}"
                return
        if line.startswith("ERROR:"):
            self.problem = f"SRT relay: {line.removeprefix('ERROR:').strip()}"

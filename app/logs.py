"""Logging for an instance: a rotating file under the base dir, warnings also on stderr, and
one hook for uncaught exceptions from any thread, so nothing fails silently.

Floods are collapsed (`RepeatFilter`): a thousand slow connections once wrote 35,000
identical `socket.accept() out of system resource` lines and 1,700 tracebacks in 80 s,
rotating the whole history out of the files. Past a few lines a minute from one place in
the code, the rest are counted and said in one line instead.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from app.paths import BaseDir

_installed: list[logging.Handler] = []
"""Handlers this module added, so a second setup (tests) replaces rather than doubles them."""

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"

REPEAT_PERIOD_S = 60.0
WARNINGS_PER_PERIOD = 10
"""Warnings and errors written per period from one place in the code; the rest counted."""
LINES_PER_PERIOD = 600
"""Lines below WARNING per period from one place: the access log of a busy gateway (dozens
of phones posting every 5 s) fits; a flood does not."""

_early: list[logging.LogRecord] = []
"""Records made before any handler existed (`note_early`), written once `setup_logging` runs."""


def note_early(level: int, message: str, *args: object) -> None:
    """Log a line from before logging is set up (the open-file limit, raised in `main()`):
    kept, and written into the log when `setup_logging` has made its handlers."""
    logger = logging.getLogger("vigil")
    _early.append(logger.makeRecord(logger.name, level, __file__, 0, message, args, None))
    del _early[:-100]  # main() run again and again in one process, never set up


@dataclass
class _Run:
    """One place's lines in the current period."""

    started: float
    written: int = 0
    held: int = 0
    first: str = ""


class RepeatFilter(logging.Filter):
    """A handler's filter that collapses repeated lines. Lines are counted per place in the
    code (logger, level, file and line), per `period_s`: past `warnings` (WARNING and up) or
    `lines` (below), they are not written but counted, and when the period is over, the
    next line through this handler is preceded by one line saying how many were held back
    and what the first of them said. Keyed by place rather than text, so a flood whose
    lines differ (an address, a file descriptor) is still one flood."""

    def __init__(
        self,
        handler: logging.Handler,
        *,
        period_s: float = REPEAT_PERIOD_S,
        warnings: int = WARNINGS_PER_PERIOD,
        lines: int = LINES_PER_PERIOD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.handler = handler
        self.period_s = period_s
        self.warnings = warnings
        self.lines = lines
        self._clock = clock
        self._runs: dict[tuple[str, int, str, int], _Run] = {}
        self._lock = threading.Lock()
        self._next_report = float("inf")

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "vigil_repeats", False):
            return True
        now = self._clock()
        due: list[logging.LogRecord] = []
        with self._lock:
            if now >= self._next_report:
                due = self._take_due(now)
            key = (record.name, record.levelno, record.pathname, record.lineno)
            run = self._runs.get(key)
            if run is None or now - run.started >= self.period_s:
                if run is not None and run.held:
                    due.append(self._summary(key, run))
                run = self._runs[key] = _Run(now)
                if len(self._runs) > 10_000:  # a logger name made per request: forget old runs
                    self._runs = {k: r for k, r in self._runs.items() if r.held or r is run}
            allowed = self.warnings if record.levelno >= logging.WARNING else self.lines
            if run.written < allowed:
                run.written += 1
                keep = True
            else:
                if not run.held:
                    run.first = _first_line(record)
                    self._next_report = min(self._next_report, run.started + self.period_s)
                run.held += 1
                keep = False
        for summary in due:  # outside the lock: handle() comes back through filter()
            self.handler.handle(summary)
        return keep

    def _take_due(self, now: float) -> list[logging.LogRecord]:
        due = []
        self._next_report = float("inf")
        for key, run in self._runs.items():
            if not run.held:
                continue
            if now - run.started >= self.period_s:
                due.append(self._summary(key, run))
                run.held = 0
                run.started, run.written = now, 0
            else:
                self._next_report = min(self._next_report, run.started + self.period_s)
        return due

    def _summary(self, key: tuple[str, int, str, int], run: _Run) -> logging.LogRecord:
        name, level, pathname, lineno = key
        summary = logging.LogRecord(
            name,
            level,
            pathname,
            lineno,
            "%d more lines like this one in %.0f s were not written: %s",
            (run.held, self.period_s, run.first),
            None,
        )
        summary.vigil_repeats = True
        run.held = 0
        return summary


def _first_line(record: logging.LogRecord) -> str:
    try:
        text = record.getMessage()
    except Exception:  # a bad format: the template says enough
        text = str(record.msg)
    text = text.splitlines()[0] if text else ""
    return text if len(text) <= 300 else text[:300] + "…"


def setup_logging(base: BaseDir, *, verbose: bool = False) -> None:
    root = logging.getLogger()
    for handler in _installed:
        root.removeHandler(handler)
        handler.close()
    _installed.clear()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    file_handler = logging.handlers.RotatingFileHandler(
        base.log_dir / "vigil.log", maxBytes=5_000_000, backupCount=5, encoding="utf-8"
    )
    file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.setFormatter(logging.Formatter("vigil: %(levelname)s: %(message)s"))
    for handler in (file_handler, console):
        handler.addFilter(RepeatFilter(handler))
        root.addHandler(handler)
        _installed.append(handler)
    early, _early[:] = list(_early), []
    for record in early:
        if root.isEnabledFor(record.levelno):
            root.handle(record)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread_uncaught


def _log_uncaught(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    logging.getLogger("vigil").critical("uncaught exception", exc_info=(kind, value, tb))


def _log_thread_uncaught(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None:
        return
    thread = args.thread.name if args.thread else "?"
    logging.getLogger("vigil").critical(
        "uncaught exception in thread %s",
        thread,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )

"""Logging for an instance: a rotating file under the base dir, warnings also on stderr, and
one hook for uncaught exceptions from any thread, so nothing fails silently."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
from types import TracebackType

from app.paths import BaseDir

_installed: list[logging.Handler] = []
"""Handlers this module added, so a second setup (tests) replaces rather than doubles them."""

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"


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
        root.addHandler(handler)
        _installed.append(handler)
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

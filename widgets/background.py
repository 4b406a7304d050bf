"""Run a slow job off the GUI thread and hear its outcome back on the GUI thread.

The wall must never freeze, so anything that may wait (SQLite behind another writer's lock,
a disk, an export) runs on Qt's global thread pool. `run_in_background(job, done, failed)`
calls `job()` there; `done(result)` or `failed(exc)` then runs on the thread that asked
(the GUI thread), through a queued signal, so views are only ever touched from it. A
receiver that is gone by then (a closed dialog) hears nothing: the callbacks are tied to
`context`, a QObject whose destruction disconnects them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")


class _Outcome(QObject):
    """Lives on the asking thread; the job's result crosses back to it through a queued
    connection to its own slots, whatever thread emits."""

    succeeded = Signal(object)
    raised = Signal(object)

    def __init__(
        self,
        context: QObject,
        done: Callable[[Any], None],
        failed: Callable[[Exception], None] | None,
    ) -> None:
        # Parented to `context`: the outcome (and with it the callbacks) ends with it.
        super().__init__(context)
        self._done = done
        self._failed = failed
        queued = Qt.ConnectionType.QueuedConnection
        self.succeeded.connect(self._on_succeeded, queued)
        self.raised.connect(self._on_raised, queued)

    @Slot(object)
    def _on_succeeded(self, result: object) -> None:
        try:
            self._done(result)
        finally:
            self.deleteLater()

    @Slot(object)
    def _on_raised(self, exc: Exception) -> None:
        try:
            if self._failed is not None:
                self._failed(exc)
            else:
                log.error("background job failed: %r", exc)
        finally:
            self.deleteLater()


class _Job(QRunnable):
    def __init__(self, job: Callable[[], Any], outcome: _Outcome) -> None:
        super().__init__()
        self._job = job
        self._outcome = outcome

    def run(self) -> None:
        try:
            result = self._job()
        except Exception as exc:  # handed to `failed`: the GUI says what went wrong
            self._emit(self._outcome.raised, exc)
        else:
            self._emit(self._outcome.succeeded, result)

    @staticmethod
    def _emit(signal: Any, value: object) -> None:
        # RuntimeError: the asker was closed meanwhile, and nobody is left to tell.
        with contextlib.suppress(RuntimeError):
            signal.emit(value)


def run_in_background(
    job: Callable[[], T],
    done: Callable[[T], None],
    failed: Callable[[Exception], None] | None = None,
    *,
    context: QObject,
) -> None:
    """Start `job` on the thread pool; `done` or `failed` follow on `context`'s thread."""
    QThreadPool.globalInstance().start(_Job(job, _Outcome(context, done, failed)))

"""Notices when nobody has touched the keyboard or mouse for a while, so the window can lock.

`IdleWatcher` filters the whole application's events (every window of it: the wall and the
Review window alike), notes the time of the last input event and, on a coarse timer,
emits `idle` once the quiet has lasted `idle_after_s`. It emits once per quiet spell; the
next input event starts a new one. Video repainting, timers and network events are not
input, so a wall busy with live feeds still goes idle.

The filter only records a time: it runs for every event the application delivers, so it
must cost next to nothing. The clock and the check interval are parameters, so tests run
in milliseconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, Signal

_INPUT = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.KeyRelease,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonRelease,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TouchUpdate,
        QEvent.Type.TabletPress,
        QEvent.Type.TabletMove,
    }
)


class IdleWatcher(QObject):
    idle = Signal()
    """No input for `idle_after_s`; emitted once until input comes again."""
    active = Signal()
    """Input came after `idle` was emitted."""

    def __init__(
        self,
        idle_after_s: float,
        *,
        check_interval_ms: int = 5000,
        clock: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._clock = clock
        self._last_input = clock()
        self._fired = False
        self._idle_after_s = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(check_interval_ms)
        self._timer.timeout.connect(self._on_check)
        self.idle_after_s = idle_after_s
        app = QCoreApplication.instance()
        if app is None:
            raise RuntimeError("IdleWatcher needs a QApplication")
        app.installEventFilter(self)

    @property
    def idle_after_s(self) -> float:
        return self._idle_after_s

    @idle_after_s.setter
    def idle_after_s(self, seconds: float) -> None:
        """0 or less: never idle."""
        self._idle_after_s = seconds
        if seconds > 0:
            self._timer.start()
        else:
            self._timer.stop()

    @property
    def quiet_s(self) -> float:
        """Seconds since the last input event."""
        return self._clock() - self._last_input

    def reset(self) -> None:
        """Start a new quiet spell now (after an unlock, say)."""
        self._last_input = self._clock()
        self._fired = False

    def stop(self) -> None:
        """Stop watching (the window is closing)."""
        self._timer.stop()
        app = QCoreApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _INPUT:
            self._last_input = self._clock()
            if self._fired:
                self._fired = False
                self.active.emit()
        return False

    def _on_check(self) -> None:
        if not self._fired and self._idle_after_s > 0 and self.quiet_s >= self._idle_after_s:
            self._fired = True
            self.idle.emit()

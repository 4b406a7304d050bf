"""The idle watcher: `idle` once after the quiet lasts its time, input starting a new quiet
spell (and `active` after idle), 0 meaning never; the clock is the test's, the check
interval a few milliseconds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from tests.clock import Clock
from widgets.access.idle import IdleWatcher


@pytest.fixture
def clock() -> Clock:
    return Clock(1000.0)


@pytest.fixture
def watcher(clock: Clock) -> Iterator[IdleWatcher]:
    watcher = IdleWatcher(60, check_interval_ms=5, clock=clock)
    yield watcher
    watcher.stop()


@pytest.fixture
def field(qtbot: QtBot) -> QLineEdit:
    widget = QLineEdit()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_idle_fires_once_after_the_quiet_lasts(
    qtbot: QtBot, watcher: IdleWatcher, clock: Clock
) -> None:
    """In: 60 s to idle; the clock at 59 s of quiet, then 60. Out: no idle at 59; idle at
    60, once (not again at 200 s)."""
    clock.now += 59
    with qtbot.assertNotEmitted(watcher.idle, wait=50):
        pass
    clock.now += 1
    with qtbot.waitSignal(watcher.idle, timeout=1000):
        pass
    clock.now += 140
    with qtbot.assertNotEmitted(watcher.idle, wait=50):
        pass


def test_input_starts_a_new_quiet_spell(
    qtbot: QtBot, watcher: IdleWatcher, clock: Clock, field: QLineEdit
) -> None:
    """In: 50 s of quiet, a key typed, 50 s more. Out: no idle (only 50 s since the key);
    after 10 s more, idle; a mouse click then emits `active`, and 60 s after it idle comes
    again."""
    clock.now += 50
    qtbot.keyClick(field, Qt.Key.Key_A)
    assert watcher.quiet_s == 0
    clock.now += 50
    with qtbot.assertNotEmitted(watcher.idle, wait=50):
        pass
    clock.now += 10
    with qtbot.waitSignal(watcher.idle, timeout=1000):
        pass
    with qtbot.waitSignal(watcher.active, timeout=1000):
        qtbot.mouseClick(field, Qt.MouseButton.LeftButton)
    clock.now += 60
    with qtbot.waitSignal(watcher.idle, timeout=1000):
        pass


def test_zero_means_never_and_reset_restarts(
    qtbot: QtBot, watcher: IdleWatcher, clock: Clock
) -> None:
    """In: idle_after_s set to 0, then an hour passes. Out: no idle. Set back to 60 and
    reset (an unlock, say), 59 s pass: no idle; at 60 s, idle."""
    watcher.idle_after_s = 0
    clock.now += 3600
    with qtbot.assertNotEmitted(watcher.idle, wait=50):
        pass
    watcher.idle_after_s = 60
    watcher.reset()
    clock.now += 59
    with qtbot.assertNotEmitted(watcher.idle, wait=50):
        pass
    clock.now += 1
    with qtbot.waitSignal(watcher.idle, timeout=1000):
        pass


def test_idle_on_the_real_clock(qtbot: QtBot) -> None:
    """In: 0.2 s to idle on time.monotonic, checked every 20 ms. Out: idle within 2 s."""
    watcher = IdleWatcher(0.2, check_interval_ms=20)
    try:
        with qtbot.waitSignal(watcher.idle, timeout=2000):
            pass
    finally:
        watcher.stop()

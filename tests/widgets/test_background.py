"""run_in_background: the job runs off the GUI thread, its outcome lands back on it."""

from __future__ import annotations

import threading

from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from widgets.background import run_in_background


def test_the_job_runs_elsewhere_and_the_answer_comes_home(qtbot: QtBot) -> None:
    """In: a job that records its thread and returns 42. Out: it ran on another thread;
    `done` got 42 on the GUI thread."""
    context = QWidget()
    qtbot.addWidget(context)
    gui = threading.get_ident()
    ran_on: list[int] = []
    heard: list[tuple[object, int]] = []

    def job() -> int:
        ran_on.append(threading.get_ident())
        return 42

    run_in_background(job, lambda r: heard.append((r, threading.get_ident())), context=context)
    qtbot.waitUntil(lambda: bool(heard), timeout=5000)
    assert ran_on
    assert ran_on[0] != gui
    assert heard == [(42, gui)]


def test_a_failure_is_handed_over_not_lost(qtbot: QtBot) -> None:
    """In: a job raising OSError("disk gone"). Out: `failed` gets that very exception on
    the GUI thread; `done` is never called."""
    context = QWidget()
    qtbot.addWidget(context)
    done: list[object] = []
    failed: list[Exception] = []

    def job() -> None:
        raise OSError("disk gone")

    run_in_background(job, done.append, failed.append, context=context)
    qtbot.waitUntil(lambda: bool(failed), timeout=5000)
    assert isinstance(failed[0], OSError)
    assert str(failed[0]) == "disk gone"
    assert done == []


def test_a_closed_asker_hears_nothing(qtbot: QtBot) -> None:
    """In: the asking widget is deleted while its job still runs. Out: no callback, no
    error; the job itself finishes."""
    context = QWidget()
    release = threading.Event()
    finished = threading.Event()
    heard: list[object] = []

    def job() -> int:
        release.wait(5)
        finished.set()
        return 1

    run_in_background(job, heard.append, heard.append, context=context)
    context.deleteLater()
    qtbot.wait(50)
    release.set()
    assert finished.wait(5)
    qtbot.wait(100)
    assert heard == []

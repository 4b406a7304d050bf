"""Qt's own messages go into Python logging (app/qt_log.py): logger "qt", at the level Qt
gave them, with their category; the offscreen platform's expected chatter is kept down at
DEBUG so it never reaches the operator's warnings.

pytest-qt captures Qt's messages with a handler of its own (and fails a test on a
warning); each test here puts Vigil's handler in for its own span only and then gives
pytest-qt its handler back."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from PySide6.QtCore import qCritical, qDebug, qInfo, qInstallMessageHandler, qWarning
from PySide6.QtGui import QFont

from app.qt_log import route_qt_messages


@pytest.fixture
def routed(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    previous = qInstallMessageHandler(None)
    qInstallMessageHandler(previous)
    caplog.set_level(logging.DEBUG, logger="qt")
    route_qt_messages()
    try:
        yield caplog
    finally:
        qInstallMessageHandler(previous)


def qt_records(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "qt"]


def test_each_kind_of_qt_message_keeps_its_level(routed: pytest.LogCaptureFixture) -> None:
    """In: qDebug, qInfo, qWarning and qCritical, each with its own words. Out: four records
    on logger "qt", DEBUG, INFO, WARNING and ERROR, each "[default] " and the words."""
    qDebug("vigil-test debug")
    qInfo("vigil-test info")
    qWarning("vigil-test warning")
    qCritical("vigil-test critical")
    assert qt_records(routed) == [
        (logging.DEBUG, "[default] vigil-test debug"),
        (logging.INFO, "[default] vigil-test info"),
        (logging.WARNING, "[default] vigil-test warning"),
        (logging.ERROR, "[default] vigil-test critical"),
    ]


def test_a_warning_qt_itself_gives_is_logged_as_a_warning(
    routed: pytest.LogCaptureFixture,
) -> None:
    """In: a font given a point size of 0 (Qt warns about it itself). Out: a WARNING on
    logger "qt" with Qt's own words about the point size."""
    QFont().setPointSizeF(0)
    ((level, message),) = qt_records(routed)
    assert level == logging.WARNING
    assert "QFont::setPointSizeF: Point size <= 0" in message


def test_the_offscreen_platforms_expected_chatter_is_only_debug(
    routed: pytest.LogCaptureFixture,
) -> None:
    """In: the two messages Vigil expects and does not want in the operator's warnings
    ("This plugin does not support …" and QtLocation's "QObject::disconnect: Unexpected
    nullptr parameter"), sent as Qt warnings; then an unexpected warning. Out: the first
    two logged at DEBUG, the third at WARNING."""
    qWarning("This plugin does not support propagateSizeHints()")
    qWarning("QObject::disconnect: Unexpected nullptr parameter")
    qWarning("QObject::connect: No such signal")
    assert [level for level, _ in qt_records(routed)] == [
        logging.DEBUG,
        logging.DEBUG,
        logging.WARNING,
    ]

"""Routes Qt's own messages (qDebug, qWarning, ...) into Python logging, logger "qt"."""

from __future__ import annotations

import logging

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}
_log = logging.getLogger("qt")


# The offscreen platform (snapshots, headless runs) says this about every window; it is
# expected there, so it is kept out of the operator's warnings.
# QtLocation's Map says the other as it is destroyed, on every exit; nothing is lost.
_EXPECTED = ("This plugin does not support", "QObject::disconnect: Unexpected nullptr parameter")


def _handler(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    category = context.category or "default"
    level = _LEVELS.get(kind, logging.WARNING)
    if message.startswith(_EXPECTED):
        level = logging.DEBUG
    _log.log(level, "[%s] %s", category, message)


def route_qt_messages() -> None:
    qInstallMessageHandler(_handler)

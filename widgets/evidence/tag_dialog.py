"""The small dialog that follows a tag on the wall: tags, a note and the incident reference.

The moment is tagged the instant the operator presses T (or the out mark of Shift+T), before
this dialog opens, so nothing is lost if the call takes all their attention; the dialog then
adds the words. It never blocks the wall (`show()`, not `exec()`), several can be open at
once (one per tagged moment), and it is told, not asked, how saving went: the app does the
database work off the GUI thread and calls `show_saved` or `show_error`.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from widgets import theme

SUGGESTED_TAGS = ("weapon", "injury", "vehicle", "suspect", "fire", "crowd", "threat")
"""Offered as the field's placeholder: the words control rooms tag most, as examples."""


@dataclass(frozen=True)
class TaggedMoment:
    """What the wall tagged, as the dialog shows it (the app's Clip, minus the app)."""

    clip_id: str
    feed_name: str
    start_utc: float
    end_utc: float
    tags: tuple[str, ...] = ()
    note: str | None = None
    incident: str | None = None


@dataclass(frozen=True)
class TagDetails:
    """What the operator wrote; the app cleans and checks it (ClipBook.edit)."""

    tags: str
    note: str
    incident: str


def _clock(when: float) -> str:
    return dt.datetime.fromtimestamp(when, dt.UTC).strftime("%H:%M:%S")


class TagDialog(QDialog):
    save_requested = Signal(object)
    """TagDetails: the operator pressed Save."""
    withdraw_requested = Signal()
    """The operator tagged by mistake: withdraw the clip (it is kept, marked withdrawn)."""

    def __init__(self, moment: TaggedMoment, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.moment = moment
        self.setWindowTitle(f"Tagged {moment.feed_name}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setModal(False)
        length = moment.end_utc - moment.start_utc
        day = dt.datetime.fromtimestamp(moment.start_utc, dt.UTC).strftime("%Y-%m-%d")
        self.summary = QLabel(
            f"<b>{moment.clip_id}</b><br>{html.escape(moment.feed_name)} · "
            f"{_clock(moment.start_utc)}–{_clock(moment.end_utc)} UTC {day} ({length:.0f} s)"
        )
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tags = QLineEdit(", ".join(moment.tags))
        self.tags.setPlaceholderText(", ".join(SUGGESTED_TAGS[:3]) + " …")
        self.incident = QLineEdit(moment.incident or "")
        self.incident.setPlaceholderText("incident reference")
        self.note = QPlainTextEdit(moment.note or "")
        self.note.setPlaceholderText("What is seen, in words")
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(self.fontMetrics().lineSpacing() * 5)
        form = QFormLayout()
        form.addRow("Tags", self.tags)
        form.addRow("Incident", self.incident)
        form.addRow("Note", self.note)
        self.message = QLabel("Tagged. Add what matters, then Save.")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {theme.TEXT_DIM.name()}")
        buttons = QDialogButtonBox()
        self.save_button = buttons.addButton("Save", QDialogButtonBox.ButtonRole.AcceptRole)
        self.withdraw_button = QPushButton("Withdraw tag")
        self.withdraw_button.setToolTip(
            "Tagged by mistake: the clip is withdrawn (kept and logged, left out of searches)"
        )
        buttons.addButton(self.withdraw_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        close = buttons.addButton("Close", QDialogButtonBox.ButtonRole.RejectRole)
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self._save)
        self.withdraw_button.clicked.connect(self._withdraw)
        close.clicked.connect(self.close)
        QShortcut(QKeySequence("Ctrl+Return"), self, self._save)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.resize(440, self.sizeHint().height())
        self.tags.setFocus()

    def details(self) -> TagDetails:
        return TagDetails(
            tags=self.tags.text(),
            note=self.note.toPlainText(),
            incident=self.incident.text(),
        )

    def _save(self) -> None:
        self._busy("Saving…")
        self.save_requested.emit(self.details())

    def _withdraw(self) -> None:
        self._busy("Withdrawing…")
        self.withdraw_requested.emit()

    def _busy(self, text: str) -> None:
        self.save_button.setEnabled(False)
        self.withdraw_button.setEnabled(False)
        self._say(text, theme.TEXT_DIM.name())

    def show_saved(self, moment: TaggedMoment) -> None:
        """Saved: the dialog has done its job and closes."""
        self.moment = moment
        self.close()

    def show_withdrawn(self) -> None:
        self.close()

    def show_error(self, text: str) -> None:
        """Saving failed (a tag too long, the database busy): say so, keep what was typed."""
        self.save_button.setEnabled(True)
        self.withdraw_button.setEnabled(True)
        self._say(text, theme.ERROR_TEXT.name())

    def _say(self, text: str, colour: str) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {colour}")

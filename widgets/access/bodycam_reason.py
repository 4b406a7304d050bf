"""The dialog that asks a supervisor why they are opening a body cam, before it opens.

A body-worn camera is watched live only for a stated operational reason: the supervisor
picks one of the reasons (radio buttons, one click), may add words (required for Other),
and gives the incident reference. The dialog knows neither the reasons nor the rule: the
app hands it both (app/access/bodycam.py's REASONS and stated_reason), so the check the custody
log relies on is the one the dialog runs. It is window-modal and shown with `open()`; it
emits `stated` once, with what was typed, only after the check passes.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from widgets import theme

CUSTODY_NOTICE = "Your name, this reason and how long you watch are written to the custody log."


class ReasonDialog(QDialog):
    stated = Signal(str, str, str)
    """Reason, detail and incident as typed, once `check` accepted them; the dialog closes."""

    def __init__(
        self,
        feed_name: str,
        reasons: Sequence[str],
        *,
        who: str,
        incident: str = "",
        check: Callable[[str, str, str], object],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._check = check
        self.setWindowTitle(f"Open body cam — {feed_name}")
        self.setWindowModality(Qt.WindowModality.WindowModal)

        self.who = QLabel(f"Opening <b>{html.escape(feed_name)}</b> as <b>{html.escape(who)}</b>.")
        self.who.setObjectName("who")
        self.who.setWordWrap(True)
        self.notice = QLabel(CUSTODY_NOTICE)
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)

        self.reasons = QWidget()
        self.reasons.setObjectName("reasons")
        self.reasons.setAccessibleName("Reason for opening the body cam")
        self._choices = QButtonGroup(self)
        self._reason_of: dict[QAbstractButton, str] = {}
        column = QVBoxLayout(self.reasons)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        for text in reasons:
            button = QRadioButton(text.replace("&", "&&"))  # shown as written, no mnemonic
            button.setAccessibleName(text)
            self._reason_of[button] = text
            theme.show_indicator_outlines(button)
            self._choices.addButton(button)
            column.addWidget(button)
        self._choices.buttonToggled.connect(self._changed)

        self.detail = QPlainTextEdit()
        self.detail.setObjectName("detail")
        self.detail.setAccessibleName("Reason in your words")
        self.detail.setPlaceholderText("Why this feed, now. Required for Other.")
        self.detail.setTabChangesFocus(True)  # Tab moves on; a tab typed here would be refused
        self.detail.setFixedHeight(self.fontMetrics().lineSpacing() * 4)
        self.detail.textChanged.connect(self._changed)

        self.incident = QLineEdit(incident)
        self.incident.setObjectName("incident")
        self.incident.setAccessibleName("Incident reference")
        self.incident.setPlaceholderText("e.g. INC-0412")
        self.incident.textChanged.connect(self._changed)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(9)
        form.addRow("Reason", self.reasons)
        form.addRow("In your words", self.detail)
        form.addRow("&Incident", self.incident)

        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setAccessibleName("Error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.ERROR_TEXT.name()}")
        self.error.hide()

        buttons = QDialogButtonBox()
        self.open_button = buttons.addButton(
            "Open body cam", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.open_button.setDefault(True)
        self.open_button.clicked.connect(self._submit)
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        layout.addWidget(self.who)
        layout.addWidget(self.notice)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(540, self.sizeHint().height())
        self._changed()

    def chosen(self) -> str:
        """The reason chosen, exactly as the app gave it, or "" before one is chosen."""
        button = self._choices.checkedButton()
        return self._reason_of[button] if button is not None else ""

    def _changed(self, *_: object) -> None:
        self.open_button.setEnabled(bool(self.chosen()) and bool(self.incident.text().strip()))
        # What the message said was about what was there before this change.
        self.error.hide()

    def _submit(self) -> None:
        reason, detail, incident = self.chosen(), self.detail.toPlainText(), self.incident.text()
        try:
            self._check(reason, detail, incident)
        except ValueError as refused:
            self.error.setText(str(refused))
            self.error.show()
            self._focus(getattr(refused, "field", ""))
            return
        self.stated.emit(reason, detail, incident)
        self.accept()

    def _focus(self, field: str) -> None:
        """Put the cursor where the correction goes, when the check says which field."""
        if field == "detail":
            self.detail.setFocus()
        elif field == "incident":
            self.incident.setFocus()
            self.incident.selectAll()
        elif field == "reason" and self._choices.buttons():
            self._choices.buttons()[0].setFocus()

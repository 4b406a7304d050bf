"""The "Invite caller" dialog: the operator asks for a one-time link for a 999 caller (or an
officer's own phone), and hands it over as a text message, a QR code or words read out.

The dialog knows plain data only. It emits an `Invitation`; the app makes the link and
answers with `show_link(IssuedLink)`, then `show_sent(...)` once a text went out or could
not, or `show_error(...)` when no link could be made. It is not modal: the wall keeps
running behind it while the operator is on the phone with the caller.
"""

from __future__ import annotations

import itertools
import math
import re
import time
from dataclasses import dataclass
from typing import TypeVar

import segno
from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QPainter, QPaintEvent, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from widgets import theme

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_SEPARATORS = re.compile(r"[\s\-]")


@dataclass(frozen=True)
class Invitation:
    """What the operator asks for."""

    name: str
    """The caller's (or officer's) name, required."""
    phone: str | None
    """E.164 (+447700900123); required when `send`."""
    incident: str | None
    location_only: bool
    officer: bool
    """An officer's own phone: kind OFFICER, valid for a shift."""
    send: bool
    """Text the link now (needs an SMS provider)."""


@dataclass(frozen=True)
class IssuedLink:
    """What the app answers."""

    url: str
    expires_at: float
    """Unix time the unopened link stops working."""
    kind: str
    """"caller" or "officer"."""


def normalise_phone(text: str) -> str | None:
    """The E.164 form of a typed mobile number with its spaces and dashes dropped, or None
    when what is left is not E.164 ("07700 900123" lacks its country code)."""
    number = _SEPARATORS.sub("", text)
    return number if E164.match(number) else None


def _until(seconds: float) -> str:
    if seconds < 60:
        return f"{math.ceil(seconds)} s"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"


def expiry_text(expires_at: float, unix_now: float) -> str:
    """ "Expires at 14:32 (in 15 min)", "Expires at 07:30 tomorrow (in 11 h 58 min)", or
    "Expired at 14:32" once the time has passed."""
    when = time.localtime(expires_at)
    clock = time.strftime("%H:%M", when)
    days = _day(when) - _day(time.localtime(unix_now))  # calendar days, not 24 h periods
    if days == 1:
        clock += " tomorrow"
    elif days > 1:
        clock += time.strftime(" on %a %d %b", when)
    if expires_at <= unix_now:
        return f"Expired at {clock}"
    return f"Expires at {clock} (in {_until(expires_at - unix_now)})"


def _day(moment: time.struct_time) -> int:
    """A count of local calendar days (noon of the day, so DST changes do not matter)."""
    return int(time.mktime((*moment[:3], 12, 0, 0, 0, 0, -1)) // 86400)


class QrCode(QWidget):
    """A QR code painted module by module: black on white, square modules a whole number of
    device pixels wide, and a quiet zone of `QUIET_ZONE` modules, so a phone reads it off
    the screen first time."""

    QUIET_ZONE = 4
    MODULE_PX = 5

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text: str | None = None
        self._matrix: tuple[bytes, ...] = ()
        self.setAccessibleName("QR code of the link")

    @property
    def text(self) -> str | None:
        return self._text

    @property
    def modules(self) -> int:
        """Modules along one side of the symbol (quiet zone not counted); 0 with no text."""
        return len(self._matrix)

    def set_text(self, text: str | None) -> None:
        self._text = text
        # Never a Micro QR code: phone cameras do not read them (a URL never fits one anyway).
        self._matrix = (
            tuple(bytes(row) for row in segno.make(text, error="m", micro=False).matrix)
            if text
            else ()
        )
        self.setFixedSize(self.sizeHint())
        self.update()

    def sizeHint(self) -> QSize:
        side = (self.modules + 2 * self.QUIET_ZONE) * self.MODULE_PX if self.modules else 0
        return QSize(side, side)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.white)
        count = self.modules
        if count:
            # Work in device pixels so each module is a whole number of them at any scale.
            ratio = self.devicePixelRatioF()
            painter.scale(1 / ratio, 1 / ratio)
            width, height = round(self.width() * ratio), round(self.height() * ratio)
            module = max(1, min(width, height) // (count + 2 * self.QUIET_ZONE))
            left = (width - module * count) // 2
            top = (height - module * count) // 2
            for row, bits in enumerate(self._matrix):
                for col, dark in enumerate(bits):
                    if dark:
                        painter.fillRect(
                            QRect(left + col * module, top + row * module, module, module),
                            Qt.GlobalColor.black,
                        )
        painter.end()


_W = TypeVar("_W", bound=QWidget)


def _named(widget: _W, name: str) -> _W:
    """The widget, given the object name the style sheet and tests know it by."""
    widget.setObjectName(name)
    return widget


_STYLE = f"""
QLabel#heading {{ font-size: 15pt; font-weight: bold; }}
QLabel#intro, QLabel#expires, QLabel#send_note, QLabel#scan_hint {{
    color: {theme.TEXT_DIM.name()};
}}
QLabel#message[tone="error"] {{ color: {theme.ERROR_TEXT.name()}; }}
QLabel#message[tone="busy"] {{ color: {theme.TEXT_DIM.name()}; }}
QLabel#sent[tone="ok"] {{ color: {theme.SUCCESS_TEXT.name()}; }}
QLabel#sent[tone="error"] {{ color: {theme.ERROR_TEXT.name()}; }}
QLabel#sent[tone="busy"] {{ color: {theme.TEXT_DIM.name()}; }}
QLabel#expires[tone="expired"] {{ color: {theme.WARNING.name()}; }}
QLabel#link_kind {{ font-weight: bold; }}
QLineEdit {{
    background: #0d1014; border: 1px solid #2f3742; border-radius: 4px;
    padding: 5px 7px; selection-background-color: {theme.ACCENT.name()};
}}
QLineEdit:focus {{ border-color: {theme.ACCENT.name()}; }}
QLineEdit:disabled {{ color: {theme.TEXT_DIM.name()}; border-color: #232a33; }}
QLineEdit[invalid="true"] {{ border-color: {theme.ERROR_TEXT.name()}; }}
QLineEdit#url {{ font-family: "DejaVu Sans Mono", monospace; background: #0b0d10; }}
QFrame#result {{ background: #161a20; border: 1px solid #252c35; border-radius: 6px; }}
QFrame#result QLabel {{ background: transparent; }}
QPushButton {{
    background: #1f252d; border: 1px solid #313a46; border-radius: 4px;
    padding: 6px 16px; min-width: 64px;
}}
QPushButton:hover {{ background: #262d37; }}
QPushButton:focus {{ border-color: {theme.ACCENT.name()}; }}
QPushButton:disabled {{ color: {theme.TEXT_DIM.name()}; background: #181c22; }}
QPushButton#create {{
    background: {theme.ACCENT.name()}; color: #06121d; border-color: {theme.ACCENT.name()};
    font-weight: bold;
}}
QPushButton#create:hover {{ background: #5cb8f7; }}
QPushButton#create:disabled {{ background: #24425a; color: #8aa4b8; border-color: #24425a; }}
"""

NO_SMS_PROVIDER = (
    "No SMS provider is configured, so Vigil cannot send texts. "
    "Read the link out, or let the caller scan the QR code."
)


class InviteDialog(QDialog):
    """Asks for an `Invitation`, then shows the link the app issued for it."""

    requested = Signal(object)
    """An `Invitation`, valid: the app creates its link and calls `show_link` or `show_error`."""

    def __init__(self, *, can_send: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Invite caller")
        self.setModal(False)
        self.setStyleSheet(_STYLE)
        self._can_send = can_send
        self._invitation: Invitation | None = None
        self._link: IssuedLink | None = None

        heading = _named(QLabel("Invite caller"), "heading")
        intro = _named(
            QLabel("A one-time link opens the phone's camera and location in its browser: no app."),
            "intro",
        )
        intro.setWordWrap(True)

        self.name_edit = _named(QLineEdit(placeholderText="Caller's name"), "name")
        self.phone_edit = _named(QLineEdit(placeholderText="+44 7700 900123"), "phone")
        self.incident_edit = _named(QLineEdit(placeholderText="e.g. INC-2231"), "incident")
        self.video_choice = _named(QRadioButton("Video and location"), "video")
        self.location_choice = _named(QRadioButton("Location only"), "location_only")
        self.officer_choice = _named(QRadioButton("Officer's own phone"), "officer")
        self.video_choice.setChecked(True)
        self._choices = QButtonGroup(self)
        choices = QVBoxLayout()
        choices.setSpacing(4)
        for button in (self.video_choice, self.location_choice, self.officer_choice):
            self._choices.addButton(button)
            choices.addWidget(button)
            theme.show_indicator_outlines(button)
        self.officer_choice.toggled.connect(self._on_officer_toggled)
        self.send_box = _named(QCheckBox("Send text message"), "send")
        theme.show_indicator_outlines(self.send_box)
        send_row = QHBoxLayout()
        send_row.addWidget(self.send_box)
        if can_send:
            self.send_box.setChecked(True)
        else:
            self.send_box.setEnabled(False)
            self.send_box.setToolTip(NO_SMS_PROVIDER)
            note = _named(QLabel("no SMS provider configured"), "send_note")
            note.setToolTip(NO_SMS_PROVIDER)
            send_row.addWidget(note)
        send_row.addStretch(1)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(9)
        form.addRow("&Name", self.name_edit)
        form.addRow("&Mobile number", self.phone_edit)
        form.addRow("&Incident", self.incident_edit)
        form.addRow("Share", choices)
        form.addRow("", send_row)

        self.message_label = _named(QLabel(), "message")
        self.message_label.setWordWrap(True)
        self.message_label.setAccessibleName("message")
        self.message_label.hide()

        self.link_panel = self._build_result()

        self.create_button = _named(QPushButton("Create link"), "create")
        self.create_button.setDefault(True)
        self.create_button.clicked.connect(self._on_create)
        self.new_button = _named(QPushButton("New invitation"), "new")
        self.new_button.clicked.connect(self.reset)
        self.new_button.hide()
        close = _named(QPushButton("Close"), "close")
        close.setAutoDefault(False)
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(close)
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.create_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(10)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addSpacing(4)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        layout.addWidget(self.link_panel)
        layout.addSpacing(4)
        layout.addLayout(buttons)
        self.setMinimumWidth(640)  # a whole link (59 characters) fits in its field

        for edit in (self.name_edit, self.phone_edit, self.incident_edit):
            edit.textEdited.connect(lambda _, e=edit: self._mark(e, invalid=False))
        self.send_box.toggled.connect(lambda _: self._mark(self.phone_edit, invalid=False))
        order = [
            self.name_edit,
            self.phone_edit,
            self.incident_edit,
            self.video_choice,
            self.location_choice,
            self.officer_choice,
            self.send_box,
            self.url_field,
            self.copy_button,
            close,
            self.new_button,
            self.create_button,
        ]
        for first, second in itertools.pairwise(order):
            QWidget.setTabOrder(first, second)

        self._expiry_timer = QTimer(self)
        self._expiry_timer.setInterval(1000)
        self._expiry_timer.timeout.connect(self._show_expiry)
        self._copied_timer = QTimer(self, singleShot=True, interval=1500)
        self._copied_timer.timeout.connect(lambda: self.copy_button.setText("Copy"))

    def _build_result(self) -> QFrame:
        frame = _named(QFrame(), "result")
        self.qr = QrCode()
        self.link_kind_label = _named(QLabel(), "link_kind")
        self.url_field = _named(QLineEdit(readOnly=True), "url")
        self.url_field.setAccessibleName("link")
        self.copy_button = _named(QPushButton("Copy"), "copy")
        self.copy_button.clicked.connect(self.copy_link)
        self.expires_label = _named(QLabel(), "expires")
        self.sent_label = _named(QLabel(), "sent")
        self.sent_label.setWordWrap(True)
        self.sent_label.hide()
        scan = _named(QLabel("Or scan the code with the phone's camera."), "scan_hint")
        scan.setWordWrap(True)
        url_row = QHBoxLayout()
        url_row.setSpacing(8)
        url_row.addWidget(self.url_field, 1)
        url_row.addWidget(self.copy_button)
        details = QVBoxLayout()
        details.setSpacing(8)
        details.addWidget(self.expires_label)
        details.addWidget(self.sent_label)
        details.addStretch(1)
        details.addWidget(scan)
        grid = QGridLayout(frame)
        grid.setContentsMargins(14, 12, 14, 14)
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(10)
        grid.addWidget(self.link_kind_label, 0, 0, 1, 2)
        grid.addLayout(url_row, 1, 0, 1, 2)
        grid.addWidget(self.qr, 2, 0, Qt.AlignmentFlag.AlignTop)
        grid.addLayout(details, 2, 1)
        grid.setColumnStretch(1, 1)
        frame.hide()
        return frame

    # -- what the app calls ---------------------------------------------------------------

    @property
    def invitation(self) -> Invitation | None:
        """The invitation last asked for, while its answer is awaited or shown."""
        return self._invitation

    def show_link(self, link: IssuedLink) -> None:
        """Show the issued link: selectable text, a Copy button, a QR code, its expiry."""
        self._link = link
        self._set_message("")
        self._set_form_enabled(False)
        self.link_kind_label.setText(
            "Officer's link, for this shift" if link.kind == "officer" else "Caller's link"
        )
        self.url_field.setText(link.url)
        self.url_field.setCursorPosition(0)
        self.qr.set_text(link.url)
        self._show_expiry()
        self._expiry_timer.start()
        invitation = self._invitation
        if invitation is not None and invitation.send:
            self._set_sent(f"Sending text to {invitation.phone}…", "busy")
        else:
            self.sent_label.hide()
        self.link_panel.show()
        self.create_button.hide()
        self.new_button.show()
        self.copy_button.setDefault(True)
        self.copy_button.setFocus()

    def show_sent(self, ok: bool, message: str) -> None:
        """Say how the text went. ok: "Text sent to +44…", with `message` (the provider's
        note, may be empty) after it; not ok: `message` is why it was not sent."""
        phone = self._invitation.phone if self._invitation else None
        if ok:
            text = f"✓ Text sent to {phone}" if phone else "✓ Text sent"
            self._set_sent(f"{text} ({message})" if message else text, "ok")
        else:
            reason = message or "no reason given"
            self._set_sent(f"Text not sent: {reason}. Read the link out instead.", "error")

    def show_error(self, message: str) -> None:
        """The link could not be made: say why, and let the operator correct and retry."""
        self._set_form_enabled(True)
        self.create_button.setEnabled(True)
        self._set_message(f"No link created: {message}", "error")
        self.name_edit.setFocus()

    def reset(self) -> None:
        """Back to an empty form for the next invitation ("New invitation")."""
        self._invitation = None
        self._link = None
        self._expiry_timer.stop()
        for edit in (self.name_edit, self.phone_edit, self.incident_edit):
            edit.clear()
            self._mark(edit, invalid=False)
        self.video_choice.setChecked(True)
        self.send_box.setChecked(self._can_send)
        self._set_form_enabled(True)
        self._set_message("")
        self.url_field.clear()
        self.qr.set_text(None)
        self.link_panel.hide()
        self.new_button.hide()
        self.create_button.show()
        self.create_button.setEnabled(True)
        self.create_button.setDefault(True)
        self.name_edit.setFocus()

    def copy_link(self) -> None:
        if self._link is not None:
            QGuiApplication.clipboard().setText(self._link.url)
            self.copy_button.setText("Copied")
            self._copied_timer.start()

    # -- the form -----------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.link_panel.isHidden():
            self.name_edit.setFocus()

    def _on_officer_toggled(self, officer: bool) -> None:
        who = "Officer's name" if officer else "Caller's name"
        self.name_edit.setPlaceholderText(who)

    def _on_create(self) -> None:
        invitation = self._validate()
        if invitation is None:
            return
        self._invitation = invitation
        self._set_form_enabled(False)
        self.create_button.setEnabled(False)
        self._set_message("Creating link…", "busy")
        self.requested.emit(invitation)

    def _validate(self) -> Invitation | None:
        """The invitation the form describes, or None having said (inline) what to fix."""
        for edit in (self.name_edit, self.phone_edit):
            self._mark(edit, invalid=False)
        officer = self.officer_choice.isChecked()
        name = " ".join(self.name_edit.text().split())
        typed_phone = self.phone_edit.text().strip()
        send = self.send_box.isChecked() and self._can_send
        phone = normalise_phone(typed_phone) if typed_phone else None
        problem: tuple[QLineEdit, str] | None = None
        if not name:
            who = "officer's" if officer else "caller's"
            problem = (self.name_edit, f"Enter the {who} name.")
        elif typed_phone and phone is None:
            problem = (
                self.phone_edit,
                "Enter the mobile number in international format, starting with + and "
                "the country code, e.g. +44 7700 900123.",
            )
        elif send and phone is None:
            problem = (
                self.phone_edit,
                "Enter a mobile number to send the text to, or untick Send text message.",
            )
        if problem is not None:
            edit, message = problem
            self._mark(edit, invalid=True)
            self._set_message(message, "error")
            edit.setFocus()
            return None
        incident = self.incident_edit.text().strip() or None
        return Invitation(
            name=name,
            phone=phone,
            incident=incident,
            location_only=self.location_choice.isChecked(),
            officer=officer,
            send=send,
        )

    def _mark(self, edit: QLineEdit, *, invalid: bool) -> None:
        if edit.property("invalid") != invalid:
            edit.setProperty("invalid", invalid)
            edit.style().unpolish(edit)
            edit.style().polish(edit)
        if not invalid and self.message_label.property("tone") == "error":
            self._set_message("")

    def _set_message(self, text: str, tone: str = "") -> None:
        self._restyle(self.message_label, tone)
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def _set_sent(self, text: str, tone: str) -> None:
        self._restyle(self.sent_label, tone)
        self.sent_label.setText(text)
        self.sent_label.show()

    def _show_expiry(self) -> None:
        if self._link is None:
            return
        now = time.time()
        self.expires_label.setText(expiry_text(self._link.expires_at, now))
        self._restyle(self.expires_label, "expired" if self._link.expires_at <= now else "")
        if self._link.expires_at <= now:
            self._expiry_timer.stop()

    def _set_form_enabled(self, enabled: bool) -> None:
        for widget in (
            self.name_edit,
            self.phone_edit,
            self.incident_edit,
            self.video_choice,
            self.location_choice,
            self.officer_choice,
        ):
            widget.setEnabled(enabled)
        self.send_box.setEnabled(enabled and self._can_send)

    @staticmethod
    def _restyle(widget: QWidget, tone: str) -> None:
        if widget.property("tone") != tone:
            widget.setProperty("tone", tone)
            widget.style().unpolish(widget)
            widget.style().polish(widget)

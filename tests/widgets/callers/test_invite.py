"""The "Invite caller" dialog: inline validation, the Invitation it emits, and the issued
link shown as text, a QR code that reads back, a clipboard copy and a running expiry."""

from __future__ import annotations

import time

import numpy as np
import pytest
import segno
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from widgets.callers.invite import (
    Invitation,
    InviteDialog,
    IssuedLink,
    QrCode,
    expiry_text,
    normalise_phone,
)

URL = "https://controlroom.example:8443/c/Zk3p9QxV7mW2aR8tY4uB1nE6"


def shown(qtbot: QtBot, *, can_send: bool) -> InviteDialog:
    widget = InviteDialog(can_send=can_send)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def dialog(qtbot: QtBot) -> InviteDialog:
    return shown(qtbot, can_send=True)


@pytest.fixture
def no_sms(qtbot: QtBot) -> InviteDialog:
    return shown(qtbot, can_send=False)


def fill(dialog: InviteDialog, name: str = "", phone: str = "", incident: str = "") -> None:
    dialog.name_edit.setText(name)
    dialog.phone_edit.setText(phone)
    dialog.incident_edit.setText(incident)


def refused(dialog: InviteDialog, qtbot: QtBot) -> str:
    """Click Create link expecting no request; returns the inline message shown instead."""
    with qtbot.assertNotEmitted(dialog.requested):
        dialog.create_button.click()
    assert dialog.message_label.isVisible()
    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]
    assert not boxes, "validation speaks inline, never in a modal box"
    return dialog.message_label.text()


def created(dialog: InviteDialog, qtbot: QtBot) -> Invitation:
    with qtbot.waitSignal(dialog.requested, timeout=1000) as asked:
        dialog.create_button.click()
    invitation = asked.args[0]
    assert isinstance(invitation, Invitation)
    return invitation


# -- asking --------------------------------------------------------------------------------


def test_the_dialog_leaves_the_wall_usable(dialog: InviteDialog) -> None:
    """In: a new dialog. Out: not modal; the name field has the focus; send is ticked when
    an SMS provider is there; Video and location is the default choice."""
    assert not dialog.isModal()
    assert dialog.focusWidget() is dialog.name_edit
    assert dialog.send_box.isEnabled()
    assert dialog.send_box.isChecked()
    assert dialog.video_choice.isChecked()


def test_a_name_is_required(dialog: InviteDialog, qtbot: QtBot) -> None:
    """In: Create link with every field empty. Out: no request; an inline message asking
    for the caller's name, the name field marked invalid and focused."""
    assert refused(dialog, qtbot) == "Enter the caller's name."
    assert dialog.name_edit.property("invalid") is True
    assert dialog.focusWidget() is dialog.name_edit


def test_an_officers_name_is_asked_for_as_such(dialog: InviteDialog, qtbot: QtBot) -> None:
    """In: Officer's own phone chosen, no name. Out: the message asks for the officer's name."""
    dialog.officer_choice.setChecked(True)
    assert refused(dialog, qtbot) == "Enter the officer's name."


@pytest.mark.parametrize(
    "phone",
    ["07700 900123", "+0 7700 900123", "+44 77", "+44 7700 900123 ext 2", "+44 (7700) 900123"],
)
def test_a_mobile_number_must_be_international(
    dialog: InviteDialog, qtbot: QtBot, phone: str
) -> None:
    """In: a name and a number not in E.164 once spaces and dashes go. Out: no request; an
    inline message saying to use the international format, the number field marked."""
    fill(dialog, "Sarah Okonkwo", phone)
    assert "international format" in refused(dialog, qtbot)
    assert dialog.phone_edit.property("invalid") is True
    assert dialog.name_edit.property("invalid") is False


def test_sending_needs_a_number(dialog: InviteDialog, qtbot: QtBot) -> None:
    """In: a name, no number, Send text message ticked. Out: no request, a message saying a
    number is needed to send; unticking Send clears it and the link can be created."""
    fill(dialog, "Sarah Okonkwo")
    assert "mobile number to send" in refused(dialog, qtbot)
    dialog.send_box.setChecked(False)
    assert not dialog.message_label.isVisible()
    assert created(dialog, qtbot).phone is None


def test_editing_the_field_clears_its_complaint(dialog: InviteDialog, qtbot: QtBot) -> None:
    """In: a refused empty name, then a letter typed into the name field. Out: the field is
    no longer marked and the message is gone."""
    refused(dialog, qtbot)
    qtbot.keyClicks(dialog.name_edit, "S")
    assert dialog.name_edit.property("invalid") is False
    assert not dialog.message_label.isVisible()


def test_the_invitation_carries_a_normalised_number(dialog: InviteDialog, qtbot: QtBot) -> None:
    """In: "  Sarah   Okonkwo ", "+44 7700-900 123", " INC-2231 ", Location only, send ticked.
    Out: Invitation("Sarah Okonkwo", "+447700900123", "INC-2231", location_only, send); the
    form is then locked with "Creating link…" while the app works."""
    fill(dialog, "  Sarah   Okonkwo ", "+44 7700-900 123", " INC-2231 ")
    dialog.location_choice.setChecked(True)
    assert created(dialog, qtbot) == Invitation(
        name="Sarah Okonkwo",
        phone="+447700900123",
        incident="INC-2231",
        location_only=True,
        officer=False,
        send=True,
    )
    assert dialog.message_label.text() == "Creating link…"
    assert not dialog.create_button.isEnabled()
    assert not dialog.name_edit.isEnabled()


def test_an_officers_phone_link(dialog: InviteDialog, qtbot: QtBot) -> None:
    """In: Officer's own phone chosen, no incident. Out: officer=True, location_only=False,
    incident None."""
    fill(dialog, "PC 4521 Evans", "+447700900456")
    dialog.officer_choice.setChecked(True)
    invitation = created(dialog, qtbot)
    assert (invitation.officer, invitation.location_only, invitation.incident) == (
        True,
        False,
        None,
    )


def test_enter_in_a_field_creates_the_link(dialog: InviteDialog, qtbot: QtBot) -> None:
    """In: a name and number typed, then Enter pressed in the incident field. Out: requested."""
    fill(dialog, "Sarah Okonkwo", "+447700900123")
    with qtbot.waitSignal(dialog.requested, timeout=1000):
        qtbot.keyClick(dialog.incident_edit, Qt.Key.Key_Return)


def test_tab_goes_down_the_form_then_to_the_buttons(dialog: InviteDialog) -> None:
    """In: the dialog's focus chain. Out: name, number, incident, the three choices, send,
    then Close and Create link, in that order."""
    chain: list[QWidget] = []
    widget: QWidget = dialog.name_edit
    for _ in range(60):
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.isVisibleTo(dialog):
            chain.append(widget)
        widget = widget.nextInFocusChain()
        if widget is dialog.name_edit:
            break
    names = [w.objectName() for w in chain]
    assert names[: names.index("create") + 1] == [
        "name",
        "phone",
        "incident",
        "video",
        "location_only",
        "officer",
        "send",
        "close",
        "create",
    ]


def test_without_an_sms_provider_send_is_off_and_says_why(
    no_sms: InviteDialog, qtbot: QtBot
) -> None:
    """In: can_send False; a name and a number. Out: the send box unticked, disabled, its
    tooltip naming the missing SMS provider; the Invitation has send False and the number."""
    assert not no_sms.send_box.isEnabled()
    assert not no_sms.send_box.isChecked()
    assert "No SMS provider is configured" in no_sms.send_box.toolTip()
    fill(no_sms, "Sarah Okonkwo", "+44 7700 900123")
    invitation = created(no_sms, qtbot)
    assert (invitation.send, invitation.phone) == (False, "+447700900123")
    no_sms.show_error("database is locked")
    assert not no_sms.send_box.isEnabled(), "re-enabling the form leaves send disabled"


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("+44 7700 900123", "+447700900123"),
        ("+1-415-555-0100", "+14155550100"),
        ("+44 7700\u00a0900123", "+447700900123"),
        ("07700 900123", None),
        ("+447700900123456789", None),
        ("", None),
    ],
)
def test_normalise_phone(typed: str, number: str | None) -> None:
    """In: a typed number. Out: its E.164 form without spaces and dashes, or None."""
    assert normalise_phone(typed) == number


# -- the answer ----------------------------------------------------------------------------


def ask(dialog: InviteDialog, qtbot: QtBot, *, send: bool = True) -> Invitation:
    fill(dialog, "Sarah Okonkwo", "+44 7700 900123", "INC-2231")
    dialog.send_box.setChecked(send)
    return created(dialog, qtbot)


def read_qr(widget: QrCode) -> tuple[list[list[int]], int, int]:
    """Decode the painted widget: the modules' dark/light read at their centres, the module
    size in pixels and the quiet zone in modules (smallest white margin)."""
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    width, height = image.width(), image.height()
    grey = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    grey = grey.reshape(height, image.bytesPerLine())[:, :width].copy()
    assert set(np.unique(grey)) <= {0, 255}, "only black and white: crisp, no antialiasing"
    dark = grey == 0
    rows, cols = np.nonzero(dark)
    top, left, bottom, right = rows.min(), cols.min(), rows.max(), cols.max()
    # The top-left finder pattern's top edge is 7 dark modules in a row.
    run = int(np.argmin(dark[top, left:]))
    assert run % 7 == 0
    module = run // 7
    side = right - left + 1
    assert side == bottom - top + 1, "the symbol is square"
    assert side % module == 0, "whole modules"
    count = side // module
    matrix = [
        [
            int(dark[top + r * module + module // 2, left + c * module + module // 2])
            for c in range(count)
        ]
        for r in range(count)
    ]
    quiet = min(top, left, height - 1 - bottom, width - 1 - right) // module
    return matrix, module, quiet


def test_show_link_draws_a_qr_code_that_reads_back(dialog: InviteDialog, qtbot: QtBot) -> None:
    """In: show_link with a caller's URL. Out: the QR widget, sampled at each module's
    centre, gives segno's own matrix for the URL at error level M; modules are whole
    pixels, black on white, with a quiet zone of at least 4 modules."""
    ask(dialog, qtbot)
    dialog.show_link(IssuedLink(URL, time.time() + 900, "caller"))
    assert dialog.qr.isVisible()
    matrix, module, quiet = read_qr(dialog.qr)
    assert matrix == [list(row) for row in segno.make(URL, error="m").matrix]
    assert module >= 3
    assert quiet >= 4


def test_show_link_shows_the_url_as_selectable_text(dialog: InviteDialog, qtbot: QtBot) -> None:
    """In: show_link. Out: the URL in a read-only field whose whole text can be selected;
    the form locked on what was asked; Create link gone, New invitation offered."""
    ask(dialog, qtbot)
    dialog.show_link(IssuedLink(URL, time.time() + 900, "caller"))
    assert dialog.url_field.text() == URL
    assert dialog.url_field.isReadOnly()
    dialog.url_field.selectAll()
    assert dialog.url_field.selectedText() == URL
    assert dialog.link_kind_label.text() == "Caller's link"
    assert not dialog.name_edit.isEnabled()
    assert dialog.name_edit.text() == "Sarah Okonkwo"
    assert not dialog.create_button.isVisible()
    assert dialog.new_button.isVisible()
    assert not dialog.message_label.isVisible()


def test_copy_puts_the_url_on_the_clipboard(dialog: InviteDialog, qtbot: QtBot) -> None:
    """In: show_link, then Copy clicked. Out: the clipboard holds the URL; the button says
    Copied for a moment, then Copy again."""
    QGuiApplication.clipboard().setText("something else")
    ask(dialog, qtbot)
    dialog.show_link(IssuedLink(URL, time.time() + 900, "caller"))
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == URL
    assert dialog.copy_button.text() == "Copied"
    qtbot.waitUntil(lambda: dialog.copy_button.text() == "Copy", timeout=3000)


def test_the_expiry_counts_down_to_expired(dialog: InviteDialog, qtbot: QtBot) -> None:
    """In: a link expiring in 15 min, then one expiring in 1.5 s. Out: "Expires at HH:MM (in
    15 min)" with the local clock time; the second, left alone, turns to "Expired at HH:MM"."""
    ask(dialog, qtbot, send=False)
    expires = time.time() + 900
    dialog.show_link(IssuedLink(URL, expires, "caller"))
    clock = time.strftime("%H:%M", time.localtime(expires))
    assert dialog.expires_label.text() == f"Expires at {clock} (in 15 min)"
    soon = time.time() + 1.5
    dialog.show_link(IssuedLink(URL, soon, "caller"))
    assert dialog.expires_label.text().endswith(("(in 2 s)", "(in 1 s)"))
    clock = time.strftime("%H:%M", time.localtime(soon))
    qtbot.waitUntil(lambda: dialog.expires_label.text() == f"Expired at {clock}", timeout=3000)


@pytest.mark.parametrize(
    ("ahead_s", "text"),
    [
        (899.5, "in 15 min"),
        (45.2, "in 46 s"),
        (3 * 3600, "in 3 h"),
        (11 * 3600 + 58 * 60, "in 11 h 58 min"),
    ],
)
def test_expiry_wording(ahead_s: float, text: str) -> None:
    """In: seconds until expiry. Out: how long that is, as the label says it."""
    now = time.time()
    assert expiry_text(now + ahead_s, now).endswith(f"({text})")


def test_an_officer_link_expiring_tomorrow_says_so() -> None:
    """In: noon today and an expiry at 07:30 tomorrow (local). Out: "Expires at 07:30
    tomorrow (in 19 h 30 min)"."""
    today = time.localtime()
    noon = time.mktime((*today[:3], 12, 0, 0, 0, 0, -1))
    tomorrow = time.localtime(noon + 86400)
    expires = time.mktime((*tomorrow[:3], 7, 30, 0, 0, 0, -1))
    assert expiry_text(expires, noon) == "Expires at 07:30 tomorrow (in 19 h 30 min)"


def test_sending_then_sent(dialog: InviteDialog, qtbot: QtBot) -> None:
    """In: an invitation with send, show_link, then show_sent(True, ""). Out: "Sending text
    to +447700900123…" until the answer, then "✓ Text sent to +447700900123"."""
    ask(dialog, qtbot)
    dialog.show_link(IssuedLink(URL, time.time() + 900, "caller"))
    assert dialog.sent_label.text() == "Sending text to +447700900123…"
    dialog.show_sent(True, "")
    assert dialog.sent_label.text() == "✓ Text sent to +447700900123"
    assert dialog.sent_label.property("tone") == "ok"


def test_a_failed_text_says_why(dialog: InviteDialog, qtbot: QtBot) -> None:
    """In: show_sent(False, reason). Out: the reason shown, in the error tone; the link is
    still there to read out."""
    ask(dialog, qtbot)
    dialog.show_link(IssuedLink(URL, time.time() + 900, "caller"))
    dialog.show_sent(False, "the SMS provider refused the number")
    assert "the SMS provider refused the number" in dialog.sent_label.text()
    assert dialog.sent_label.property("tone") == "error"
    assert dialog.url_field.text() == URL


def test_no_sending_line_when_not_sending(dialog: InviteDialog, qtbot: QtBot) -> None:
    """In: an invitation without send, then show_link. Out: no sending line."""
    ask(dialog, qtbot, send=False)
    dialog.show_link(IssuedLink(URL, time.time() + 900, "officer"))
    assert not dialog.sent_label.isVisible()
    assert dialog.link_kind_label.text() == "Officer's link, for this shift"


def test_a_failed_create_says_why_and_allows_a_retry(dialog: InviteDialog, qtbot: QtBot) -> None:
    """In: a request answered by show_error("database is locked"). Out: the message inline,
    the form usable again with what was typed, Create link enabled; a retry asks again."""
    ask(dialog, qtbot)
    dialog.show_error("database is locked")
    assert dialog.message_label.text() == "No link created: database is locked"
    assert dialog.message_label.property("tone") == "error"
    assert dialog.name_edit.isEnabled()
    assert dialog.name_edit.text() == "Sarah Okonkwo"
    assert dialog.create_button.isEnabled()
    assert created(dialog, qtbot).phone == "+447700900123"


def test_new_invitation_resets_the_form(dialog: InviteDialog, qtbot: QtBot) -> None:
    """In: a link shown, then New invitation clicked. Out: empty fields, default choices,
    the link and its QR code gone, Create link back and the name field focused."""
    ask(dialog, qtbot)
    dialog.location_choice.setChecked(True)
    dialog.show_link(IssuedLink(URL, time.time() + 900, "caller"))
    qtbot.mouseClick(dialog.new_button, Qt.MouseButton.LeftButton)
    assert (dialog.name_edit.text(), dialog.phone_edit.text(), dialog.incident_edit.text()) == (
        "",
        "",
        "",
    )
    assert dialog.video_choice.isChecked()
    assert dialog.send_box.isChecked()
    assert dialog.name_edit.isEnabled()
    assert not dialog.link_panel.isVisible()
    assert dialog.qr.text is None
    assert dialog.url_field.text() == ""
    assert dialog.create_button.isVisible()
    assert dialog.create_button.isEnabled()
    assert not dialog.new_button.isVisible()
    assert dialog.invitation is None
    assert dialog.focusWidget() is dialog.name_edit


def test_closing_hides_without_a_verdict(dialog: InviteDialog) -> None:
    """In: the Close button. Out: the dialog hidden (the app keeps it for next time)."""
    close = dialog.findChild(QPushButton, "close")
    assert close is not None
    close.click()
    assert not dialog.isVisible()
    assert dialog.result() == QDialog.DialogCode.Rejected

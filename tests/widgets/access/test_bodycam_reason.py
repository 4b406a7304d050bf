"""The body-cam reason dialog, driven as a supervisor would: clicks and typing, no app."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QPlainTextEdit, QRadioButton, QWidget
from pytestqt.qtbot import QtBot

from widgets import theme
from widgets.access.bodycam_reason import ReasonDialog
from widgets.theme import apply_dark_theme

REASONS = (
    "Officer safety: threat or assault",
    "Officer asked for support",
    "Live incident command",
    "Missing or vulnerable person",
    "Pursuit or search",
    "Public order",
    "Other (say why below)",
)

Stated = tuple[str, str, str]


def accept_all(reason: str, detail: str, incident: str) -> None:
    return None


def make(
    qtbot: QtBot,
    *,
    incident: str = "",
    check: Callable[[str, str, str], object] = accept_all,
) -> tuple[ReasonDialog, list[Stated]]:
    dialog = ReasonDialog(
        "BWV-4521",
        REASONS,
        who="Sgt Ann Jones (supervisor)",
        incident=incident,
        check=check,
    )
    qtbot.addWidget(dialog)
    stated: list[Stated] = []
    dialog.stated.connect(lambda *args: stated.append(args))
    dialog.open()
    qtbot.waitExposed(dialog)
    return dialog, stated


def radios(dialog: ReasonDialog) -> list[QRadioButton]:
    box = dialog.findChild(QWidget, "reasons")
    assert box is not None
    return box.findChildren(QRadioButton)


def choose(qtbot: QtBot, dialog: ReasonDialog, text: str) -> None:
    button = next(b for b in radios(dialog) if b.text() == text)
    # On the words, as a person clicks: the button is as wide as the form, but only its
    # indicator and text take a click.
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(30, button.height() // 2))
    assert button.isChecked()


def incident_field(dialog: ReasonDialog) -> QLineEdit:
    field = dialog.findChild(QLineEdit, "incident")
    assert field is not None
    return field


def error_label(dialog: ReasonDialog) -> QLabel:
    label = dialog.findChild(QLabel, "error")
    assert label is not None
    return label


def test_it_says_which_feed_who_opens_it_and_that_it_is_logged(qtbot: QtBot) -> None:
    """In: feed BWV-4521 opened by "Sgt Ann Jones (supervisor)". Out: the title names the feed,
    the text names the person and says the viewing goes to the custody log."""
    dialog, _ = make(qtbot)
    assert dialog.windowTitle() == "Open body cam — BWV-4521"
    assert dialog.windowModality() == Qt.WindowModality.WindowModal
    assert "Sgt Ann Jones (supervisor)" in dialog.who.text()
    assert (
        dialog.notice.text()
        == "Your name, this reason and how long you watch are written to the custody log."
    )
    assert dialog.open_button.text() == "Open body cam"


def test_each_reason_is_a_radio_button_and_none_is_chosen_first(qtbot: QtBot) -> None:
    """In: the seven reasons. Out: seven radio buttons in order, none checked, each with an
    accessible name; the detail and incident fields are named for screen readers."""
    dialog, _ = make(qtbot)
    buttons = radios(dialog)
    assert [b.text() for b in buttons] == list(REASONS)
    assert not any(b.isChecked() for b in buttons)
    assert all(b.accessibleName() for b in buttons)
    detail = dialog.findChild(QPlainTextEdit, "detail")
    assert detail is not None
    assert detail.accessibleName()
    assert "required" in detail.placeholderText().lower()
    assert incident_field(dialog).accessibleName()


def test_open_is_disabled_until_a_reason_and_an_incident(qtbot: QtBot) -> None:
    """In: nothing, then a reason, then an incident typed, then the incident erased to spaces.
    Out: Open body cam disabled, disabled, enabled, disabled."""
    dialog, _ = make(qtbot)
    assert not dialog.open_button.isEnabled()
    choose(qtbot, dialog, "Public order")
    assert not dialog.open_button.isEnabled()
    qtbot.keyClicks(incident_field(dialog), "INC-0412")
    assert dialog.open_button.isEnabled()
    incident_field(dialog).setText("   ")
    assert not dialog.open_button.isEnabled()


def test_a_chosen_reason_and_incident_are_stated_once_and_the_dialog_accepts(
    qtbot: QtBot,
) -> None:
    """In: Public order clicked, "Crowd at the gates" typed as detail, "INC 04/12" as
    incident, Open body cam clicked. Out: `stated` once with exactly those strings, the
    check called with them, the dialog accepted and closed."""
    checked: list[Stated] = []

    def check(reason: str, detail: str, incident: str) -> None:
        checked.append((reason, detail, incident))

    dialog, stated = make(qtbot, check=check)
    choose(qtbot, dialog, "Public order")
    qtbot.keyClicks(dialog.detail, "Crowd at the gates")
    qtbot.keyClicks(incident_field(dialog), "INC 04/12")
    with qtbot.waitSignal(dialog.accepted, timeout=1000):
        qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
    assert stated == [("Public order", "Crowd at the gates", "INC 04/12")]
    assert checked == stated
    assert dialog.result() == ReasonDialog.DialogCode.Accepted
    assert not dialog.isVisible()


def test_enter_in_the_incident_field_opens(qtbot: QtBot) -> None:
    """In: Pursuit or search clicked, "INC-9" typed and Enter pressed in the incident field.
    Out: `stated` once, accepted."""
    dialog, stated = make(qtbot)
    choose(qtbot, dialog, "Pursuit or search")
    qtbot.keyClicks(incident_field(dialog), "INC-9")
    qtbot.keyClick(incident_field(dialog), Qt.Key.Key_Return)
    assert stated == [("Pursuit or search", "", "INC-9")]
    assert dialog.result() == ReasonDialog.DialogCode.Accepted


def test_a_refused_statement_shows_the_message_and_stays_open(qtbot: QtBot) -> None:
    """In: a check that raises ValueError("You chose Other: say in a few words why."), Other
    clicked, INC-1 typed, Open clicked. Out: the error label shows that message in the
    error colour, nothing stated, the dialog still open; typing in the detail hides the
    message again."""

    def check(reason: str, detail: str, incident: str) -> None:
        raise ValueError("You chose Other: say in a few words why.")

    dialog, stated = make(qtbot, check=check)
    assert not error_label(dialog).isVisible()
    choose(qtbot, dialog, "Other (say why below)")
    qtbot.keyClicks(incident_field(dialog), "INC-1")
    qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
    label = error_label(dialog)
    assert label.isVisible()
    assert label.text() == "You chose Other: say in a few words why."
    assert "#ff8787" in label.styleSheet()
    assert stated == []
    assert dialog.isVisible()
    assert dialog.result() == 0
    qtbot.keyClicks(dialog.detail, "Flood")
    assert not label.isVisible()


def test_a_refusal_naming_a_field_puts_the_cursor_there(qtbot: QtBot) -> None:
    """In: a check raising a ValueError whose `field` is "incident". Out: the incident field
    has the focus, its text selected for retyping."""

    class RefusedError(ValueError):
        field = "incident"

    def check(reason: str, detail: str, incident: str) -> None:
        raise RefusedError("The incident reference may hold only letters, digits …")

    dialog, stated = make(qtbot, check=check)
    choose(qtbot, dialog, "Public order")
    qtbot.keyClicks(incident_field(dialog), "INC;1")
    dialog.detail.setFocus()
    qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
    assert stated == []
    qtbot.waitUntil(lambda: QApplication.focusWidget() is incident_field(dialog))
    assert incident_field(dialog).selectedText() == "INC;1"


def test_cancel_states_nothing(qtbot: QtBot) -> None:
    """In: a reason and incident filled, then Cancel clicked. Out: nothing stated, the dialog
    rejected."""
    dialog, stated = make(qtbot, incident="INC-0412")
    choose(qtbot, dialog, "Live incident command")
    cancel = next(b for b in dialog.findChildren(type(dialog.open_button)) if b.text() == "Cancel")
    with qtbot.waitSignal(dialog.rejected, timeout=1000):
        qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert stated == []
    assert dialog.result() == ReasonDialog.DialogCode.Rejected


def test_escape_states_nothing(qtbot: QtBot) -> None:
    """In: a reason and incident filled, then Esc. Out: nothing stated, the dialog rejected."""
    dialog, stated = make(qtbot, incident="INC-0412")
    choose(qtbot, dialog, "Live incident command")
    with qtbot.waitSignal(dialog.rejected, timeout=1000):
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert stated == []


def test_the_incident_is_prefilled(qtbot: QtBot) -> None:
    """In: incident "INC-0412" given. Out: the field shows it, and one click on a reason is
    enough to enable Open."""
    dialog, _ = make(qtbot, incident="INC-0412")
    assert incident_field(dialog).text() == "INC-0412"
    assert not dialog.open_button.isEnabled()
    choose(qtbot, dialog, "Officer asked for support")
    assert dialog.open_button.isEnabled()


def test_a_reason_with_an_ampersand_is_shown_and_stated_as_written(qtbot: QtBot) -> None:
    """In: a reason "Search & rescue". Out: the button shows "Search & rescue" (no keyboard
    mnemonic eats the &) and `stated` carries it unchanged."""
    dialog = ReasonDialog("BWV-1", ("Search & rescue",), who="Insp Lee", check=accept_all)
    qtbot.addWidget(dialog)
    stated: list[Stated] = []
    dialog.stated.connect(lambda *args: stated.append(args))
    (button,) = radios(dialog)
    assert button.text() == "Search && rescue"
    assert dialog.chosen() == ""
    button.setChecked(True)
    dialog.incident.setText("INC-2")
    dialog.open_button.click()
    assert stated == [("Search & rescue", "", "INC-2")]


@pytest.fixture
def dark_theme(qapp: QApplication) -> Iterator[QApplication]:
    """The app's dark theme for one test; the session's palette and style back after."""
    palette, style = QPalette(qapp.palette()), qapp.style().name()
    apply_dark_theme(qapp)
    yield qapp
    qapp.setStyle(style)
    qapp.setPalette(palette)


def near(colour: QColor, image: QImage, rect: QRect, within: int = 40) -> int:
    """How many of the image's pixels inside `rect` are within `within` of `colour`."""
    count = 0
    for y in range(rect.top(), rect.bottom() + 1):
        for x in range(rect.left(), rect.right() + 1):
            pixel = image.pixelColor(x, y)
            if (
                abs(pixel.red() - colour.red())
                + abs(pixel.green() - colour.green())
                + abs(pixel.blue() - colour.blue())
                <= within
            ):
                count += 1
    return count


def test_a_refusal_reads_in_the_dark_theme_the_app_shows(
    qtbot: QtBot, dark_theme: QApplication
) -> None:
    """In: the dialog in the app's dark theme; "Other (say why below)" chosen, incident
    INC-0412, Open clicked, and the check refuses (no words). Out: the dialog says who is
    opening which body cam and that it is logged, lists the seven reasons in order with
    Other chosen; the refusal is shown in words, in the error colour on the theme's dark
    background (in the dialog's own picture: its background is the theme's window colour,
    its who line light text, its error line red text); nothing is stated. (The fixture
    puts the session's palette and style back afterwards.)"""

    def check(reason: str, detail: str, incident: str) -> None:
        raise ValueError("You chose Other: say in a few words why you are opening it.")

    dialog, stated = make(qtbot, incident="INC-0412", check=check)
    choose(qtbot, dialog, "Other (say why below)")
    qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
    assert stated == []
    who = dialog.findChild(QLabel, "who")
    notice = dialog.findChild(QLabel, "notice")
    error = dialog.findChild(QLabel, "error")
    assert who is not None
    assert notice is not None
    assert error is not None
    assert "BWV-4521" in who.text()
    assert "Sgt Ann Jones (supervisor)" in who.text()
    assert "custody" in notice.text().lower()
    assert [b.text() for b in radios(dialog)] == list(REASONS)
    assert dialog.chosen() == "Other (say why below)"
    assert error.isVisible()
    assert error.text() == "You chose Other: say in a few words why you are opening it."

    image = dialog.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    assert image.devicePixelRatio() == 1
    assert image.pixelColor(2, 2) == dark_theme.palette().color(QPalette.ColorRole.Window)
    assert image.pixelColor(2, 2).lightness() < 40
    assert near(theme.TEXT, image, who.geometry()) > 30, "the who line is not light text"
    assert near(theme.ERROR_TEXT, image, error.geometry()) > 30, "the refusal is not red"

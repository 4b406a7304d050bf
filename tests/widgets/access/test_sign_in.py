"""The sign-in dialog, the lock screen and the access banner: typing into them, the signals
they emit, and the lock screen holding back input (clicks and shortcuts) to the window it
covers until it is told the session is unlocked."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from widgets.access.sign_in import AccessBanner, LockScreen, SignInDialog


@pytest.fixture
def dialog(qtbot: QtBot) -> SignInDialog:
    widget = SignInDialog()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


class Window(QWidget):
    """A stand-in for the wall's window: a button and a Ctrl+R shortcut, counted."""

    def __init__(self) -> None:
        super().__init__()
        self.clicks, self.shortcuts = 0, 0
        self.button = QPushButton("Tag")
        self.button.clicked.connect(self._clicked)
        QVBoxLayout(self).addWidget(self.button)
        QShortcut(QKeySequence("Ctrl+R"), self, self._shortcut)
        self.lock_screen = LockScreen(self)
        self.resize(640, 400)

    def _clicked(self) -> None:
        self.clicks += 1

    def _shortcut(self) -> None:
        self.shortcuts += 1


@pytest.fixture
def window(qtbot: QtBot) -> Window:
    widget = Window()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_sign_in_emits_what_was_typed(qtbot: QtBot, dialog: SignInDialog) -> None:
    """In: "jo" typed, Return, "s3cret-pw" typed, Return. Out: attempted("jo", "s3cret-pw")
    and the button disabled until the answer."""
    qtbot.keyClicks(dialog.user, "jo")
    qtbot.keyClick(dialog.user, Qt.Key.Key_Return)
    qtbot.keyClicks(dialog.password, "s3cret-pw")
    with qtbot.waitSignal(dialog.attempted) as signal:
        qtbot.keyClick(dialog.password, Qt.Key.Key_Return)

    assert signal.args == ["jo", "s3cret-pw"]
    assert not dialog.sign_in_button.isEnabled()


def test_sign_in_asks_for_what_is_missing(qtbot: QtBot, dialog: SignInDialog) -> None:
    """In: Sign in pressed with nothing typed, then with a user but no password. Out: no
    signal; the message asks for the user name, then the password."""
    with qtbot.assertNotEmitted(dialog.attempted):
        qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
        assert dialog.message.text() == "Enter your user name."
        qtbot.keyClicks(dialog.user, "jo")
        qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
        assert dialog.message.text() == "Enter your password."


def test_a_refused_sign_in_says_why_and_clears_the_password(
    qtbot: QtBot, dialog: SignInDialog
) -> None:
    """In: an attempt, answered refuse("Wrong user name or password."). Out: the message
    shown, the password cleared, the user kept, the button enabled again."""
    qtbot.keyClicks(dialog.user, "jo")
    qtbot.keyClicks(dialog.password, "wrong-pw!")
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)

    dialog.refuse("Wrong user name or password.")

    assert dialog.message.isVisible()
    assert dialog.message.text() == "Wrong user name or password."
    assert (dialog.user.text(), dialog.password.text()) == ("jo", "")
    assert dialog.sign_in_button.isEnabled()


def test_the_lock_screen_covers_the_window_and_takes_a_password(
    qtbot: QtBot, window: Window
) -> None:
    """In: lock("Jo Bloggs (jo)", needs_password=True); the window resized; "s3cret-pw"
    typed and Return. Out: the lock screen covers the whole window (after the resize too),
    says who is signed in and to enter the password, and emits unlock_requested with it."""
    lock = window.lock_screen
    lock.lock("Jo Bloggs (jo)", needs_password=True)
    window.resize(800, 500)

    assert lock.isVisible()
    assert lock.geometry() == window.rect()
    assert lock.who.text() == "Signed in as Jo Bloggs (jo); enter your password to unlock."
    assert lock.switch_button.isVisible()
    qtbot.keyClicks(lock.password, "s3cret-pw")
    with qtbot.waitSignal(lock.unlock_requested) as signal:
        qtbot.keyClick(lock.password, Qt.Key.Key_Return)
    assert signal.args == ["s3cret-pw"]


def test_a_refused_unlock_stays_locked(qtbot: QtBot, window: Window) -> None:
    """In: locked; a wrong password answered refuse(...). Out: still shown, the message
    visible, the password cleared."""
    lock = window.lock_screen
    lock.lock("jo", needs_password=True)
    qtbot.keyClicks(lock.password, "wrong-pw!")

    lock.refuse("Wrong password.")

    assert lock.isVisible()
    assert lock.message.text() == "Wrong password."
    assert lock.password.text() == ""


def test_os_sign_in_unlocks_with_a_button_and_offers_no_switch(
    qtbot: QtBot, window: Window
) -> None:
    """In: lock("tom · operator", needs_password=False); Unlock clicked. Out: no password
    field or switch button shown; unlock_requested("")."""
    lock = window.lock_screen
    lock.lock("tom · operator", needs_password=False)

    assert not lock.password.isVisible()
    assert not lock.switch_button.isVisible()
    assert "press Unlock" in lock.who.text()
    with qtbot.waitSignal(lock.unlock_requested) as signal:
        qtbot.mouseClick(lock.unlock_button, Qt.MouseButton.LeftButton)
    assert signal.args == [""]


def test_switch_user_is_a_signal(qtbot: QtBot, window: Window) -> None:
    """In: locked with a password; "Sign in as someone else" clicked. Out: its signal."""
    window.lock_screen.lock("jo", needs_password=True)
    with qtbot.waitSignal(window.lock_screen.switch_user_requested):
        qtbot.mouseClick(window.lock_screen.switch_button, Qt.MouseButton.LeftButton)


def test_input_to_the_window_is_held_back_while_locked(qtbot: QtBot, window: Window) -> None:
    """In: the window's button clicked and Ctrl+R pressed, unlocked, then locked, then
    unlocked again. Out: click and shortcut count while unlocked, and not while locked."""
    qtbot.mouseClick(window.button, Qt.MouseButton.LeftButton)
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert (window.clicks, window.shortcuts) == (1, 1)

    window.lock_screen.lock("jo", needs_password=True)
    qtbot.mouseClick(window.button, Qt.MouseButton.LeftButton)
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert (window.clicks, window.shortcuts) == (1, 1)

    window.lock_screen.unlocked()
    assert not window.lock_screen.isVisible()
    qtbot.mouseClick(window.button, Qt.MouseButton.LeftButton)
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert (window.clicks, window.shortcuts) == (2, 2)


def test_the_banner_shows_only_when_there_is_something_to_say(qtbot: QtBot) -> None:
    """In: a banner; show_text("Setup mode: …"), then None. Out: shown with the text, then
    hidden."""
    banner = AccessBanner()
    qtbot.addWidget(banner)
    assert banner.isHidden()
    banner.show_text("Setup mode: no admin account exists yet")
    assert not banner.isHidden()
    assert banner.text() == "Setup mode: no admin account exists yet"
    banner.show_text(None)
    assert banner.isHidden()

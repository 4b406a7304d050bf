"""Signing in, and the screen that covers a locked window.

`SignInDialog` asks for a user name and password (Vigil's own sign-in, for a workstation
shared by several staff). `LockScreen` covers a window when its session locks: it says who
is signed in and takes their password, or with the OS's sign-in offers Unlock, which has the
app check that the computer's user is still the same person. `AccessBanner` is the line
across the top of the window that says setup mode, or why the person holds no rights.

None of them decides anything: they emit what was typed, and the app (app/access/session.py) says
whether it was right by calling `refuse(...)` or closing them. Plain text in, signals out;
no app imports.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from widgets import theme

_BLOCKED = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.KeyRelease,
        QEvent.Type.ShortcutOverride,
        QEvent.Type.Shortcut,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonRelease,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.ContextMenu,
        QEvent.Type.TouchBegin,
    }
)
"""Input that must not reach the locked window's controls (shortcuts included: Ctrl+R
would otherwise open the Review window behind the lock)."""


class SignInDialog(QDialog):
    attempted = Signal(str, str)
    """User name and password, as typed; the app answers with `refuse` or `accept`."""

    def __init__(self, user: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in to Vigil")
        self.user = QLineEdit(user)
        self.user.setPlaceholderText("user name")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form = QFormLayout()
        form.addRow("User", self.user)
        form.addRow("Password", self.password)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.hide()
        buttons = QDialogButtonBox()
        self.sign_in_button = buttons.addButton("Sign in", QDialogButtonBox.ButtonRole.AcceptRole)
        self.sign_in_button.setDefault(True)
        self.sign_in_button.clicked.connect(self._submit)
        self.password.returnPressed.connect(self._submit)
        self.user.returnPressed.connect(self.password.setFocus)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        (self.password if user else self.user).setFocus()

    def refuse(self, text: str) -> None:
        """The sign-in failed: say why, clear the password, ready for another try."""
        _say(self.message, text, theme.ERROR_TEXT.name())
        self.password.clear()
        self.password.setFocus()
        self.sign_in_button.setEnabled(True)

    def _submit(self) -> None:
        user = self.user.text().strip()
        if not user:
            _say(self.message, "Enter your user name.", theme.ERROR_TEXT.name())
            self.user.setFocus()
            return
        if not self.password.text():
            _say(self.message, "Enter your password.", theme.ERROR_TEXT.name())
            self.password.setFocus()
            return
        self.sign_in_button.setEnabled(False)  # one attempt at a time; `refuse` re-enables
        self.attempted.emit(user, self.password.text())


class LockScreen(QWidget):
    """Covers its parent window, opaque, while the session is locked; input to everything
    else in the application is held back until `unlocked()`."""

    unlock_requested = Signal(str)
    """The password typed, or "" with the OS's sign-in (check the computer's user)."""
    switch_user_requested = Signal()
    """Someone else wants to sign in (Vigil's sign-in only): sign this person out."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("lock-screen")
        self.title = QLabel("Locked")
        self.title.setStyleSheet("font-size: 28px; font-weight: bold")
        self.who = QLabel("")
        self.who.setWordWrap(True)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("password")
        self.password.setMaximumWidth(320)
        self.password.returnPressed.connect(self._submit)
        self.unlock_button = QPushButton("Unlock")
        self.unlock_button.setDefault(True)
        self.unlock_button.clicked.connect(self._submit)
        self.switch_button = QPushButton("Sign in as someone else")
        self.switch_button.clicked.connect(self.switch_user_requested)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.hide()
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for widget in (
            self.title,
            self.who,
            self.password,
            self.unlock_button,
            self.switch_button,
            self.message,
        ):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)
        self._needs_password = False
        parent.installEventFilter(self)
        self.hide()

    @property
    def needs_password(self) -> bool:
        return self._needs_password

    def lock(self, who: str, *, needs_password: bool) -> None:
        """Cover the window: "Locked — signed in as WHO", with a password field or not."""
        self._needs_password = needs_password
        how = (
            "enter your password to unlock"
            if needs_password
            else "press Unlock; the computer's user is checked"
        )
        self.who.setText(f"Signed in as {who}; {how}.")
        self.password.setVisible(needs_password)
        self.switch_button.setVisible(needs_password)
        self.password.clear()
        self.message.hide()
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        if not self.isVisible():
            app = QApplication.instance()
            if app is not None:
                app.installEventFilter(self)
        self.show()
        self.raise_()
        (self.password if needs_password else self.unlock_button).setFocus()

    def refuse(self, text: str) -> None:
        """The unlock failed: say why and stay locked."""
        _say(self.message, text, theme.ERROR_TEXT.name())
        self.password.clear()
        if self._needs_password:
            self.password.setFocus()

    def unlocked(self) -> None:
        """The app unlocked the session: uncover the window."""
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.password.clear()
        self.message.hide()
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        parent = self.parentWidget()
        if parent is not None and watched is parent and event.type() == QEvent.Type.Resize:
            self.setGeometry(parent.rect())
            return False
        if not self.isVisible() or event.type() not in _BLOCKED:
            return False
        if event.type() == QEvent.Type.Shortcut:
            return True
        # Events reach a window (a QWindow) before its widgets: only widgets are held back,
        # or the lock screen's own field would never see a key.
        return isinstance(watched, QWidget) and not (watched is self or self.isAncestorOf(watched))

    def paintEvent(self, event: QPaintEvent) -> None:
        # Opaque: a locked control room's screen does not show callers' video to passers-by.
        painter = QPainter(self)
        painter.fillRect(self.rect(), theme.BACKGROUND)
        painter.end()

    def _submit(self) -> None:
        self.unlock_requested.emit(self.password.text() if self._needs_password else "")


class AccessBanner(QLabel):
    """The line across the top of the window: setup mode, or why the person holds no
    rights. Hidden when there is nothing to say."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("access-banner")
        self.setWordWrap(True)
        self.setStyleSheet(
            f"background: {theme.WARNING.name()}; color: {theme.BACKGROUND.name()}; "
            "padding: 4px 8px; font-weight: bold"
        )
        self.show_text(None)

    def show_text(self, text: str | None) -> None:
        self.setText(text or "")
        self.setVisible(bool(text))


def _say(label: QLabel, text: str, colour: str) -> None:
    label.setText(text)
    label.setStyleSheet(f"color: {colour}")
    label.show()

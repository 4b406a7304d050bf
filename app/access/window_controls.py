"""The wall window's side of sign-in and roles: who is signed in (the status line), setup
mode or a missing account said plainly (a banner above the wall), the controls a role may
not use taken away, and the idle lock.

Glue between the session (app/access/session.py, no Qt) and the widgets that show it
(widgets/access/sign_in.py, widgets/access/idle.py), on the GUI thread, in the way CallerControls
glues the caller gateway. A control a role may not use is not offered: its action is hidden and
disabled, so its shortcut does nothing either. Nothing here can hold up an unattended start
(`--offscreen`, `snapshot`, the demo): with no accounts Vigil is in setup mode, and the sign-in
dialog, when the config asks for one, never blocks.

Accounts change while the wall runs (`vigil users add` from another terminal ends setup
mode): the session is asked every ACCOUNTS_POLL_MS whether the database changed (SQLite's
data_version, one cheap query) and, when the person it stands for changed, the banner, the
status line and the controls follow."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget

from app.access.person import How
from app.access.roles import Permission
from app.access.session import Session, SignInError
from app.config import SignIn
from widgets.access import AccessBanner, IdleWatcher, LockScreen, SignInDialog

log = logging.getLogger(__name__)

ACCOUNTS_POLL_MS = 1000
"""How often the window looks for account changes made elsewhere."""


class AccessControls(QObject):
    def __init__(
        self,
        session: Session,
        window: QMainWindow,
        banner: AccessBanner,
        *,
        sign_in: SignIn = SignIn.OS,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(window)
        self.session = session
        self._window = window
        self.banner = banner
        self._sign_in = sign_in
        self._on_change = on_change
        self._gated: list[tuple[QAction, Permission]] = []
        self.who = QLabel()
        self.who.setObjectName("signed-in")
        window.statusBar().addPermanentWidget(self.who)
        self.lock_screen = LockScreen(window)
        self.lock_screen.unlock_requested.connect(self._unlock)
        self.lock_screen.switch_user_requested.connect(self._switch_user)
        self.idle: IdleWatcher | None = None
        self._watch_idle()
        self.dialog: SignInDialog | None = None
        self._accounts = QTimer(self)
        self._accounts.timeout.connect(self.follow_accounts)

    def start(self) -> None:
        """Record who the window opened for and offer what they may use; with Vigil's own
        sign-in and nobody recognised, show the sign-in dialog (never modal)."""
        self.session.start()
        if self.session.person.how is How.NOBODY and self._sign_in is SignIn.VIGIL:
            self.ask_sign_in()
        self.apply()
        self._accounts.start(ACCOUNTS_POLL_MS)

    def follow_accounts(self) -> None:
        """Take in account changes made elsewhere; with Vigil's sign-in, a window left with
        nobody who may use it offers the sign-in dialog."""
        if not self.session.refresh():
            return
        person = self.session.person
        log.info("accounts changed: the window is now for %s", person.label)
        self._watch_idle()
        if person.how is How.NOBODY and self._sign_in is SignIn.VIGIL:
            self.ask_sign_in()
        self.apply()

    def _watch_idle(self) -> None:
        # Setup mode has no accounts to tell people apart, so nothing to lock against;
        # a demo left running is not locked either. Once setup mode ends, the lock starts.
        session = self.session
        if self.idle is None and session.idle_lock_s > 0 and not session.person.setup_mode:
            self.idle = IdleWatcher(session.idle_lock_s, parent=self)
            self.idle.idle.connect(self.lock)

    def gate(self, action: QAction, permission: Permission) -> None:
        """Offer `action` only to a person whose role holds `permission`."""
        self._gated.append((action, permission))
        self._show(action, permission)

    def apply(self) -> None:
        """Show who is here and offer exactly what they may use (after any change)."""
        person = self.session.person
        self.who.setText(f"Signed in: {person.label}")
        self.banner.show_text(person.banner)
        for action, permission in self._gated:
            self._show(action, permission)
        if self._on_change is not None:
            self._on_change()

    def may(self, permission: Permission) -> bool:
        return self.session.may(permission)

    def _show(self, action: QAction, permission: Permission) -> None:
        allowed = self.session.may(permission)
        action.setVisible(allowed)
        action.setEnabled(allowed)

    # -- sign-in -----------------------------------------------------------------------------

    def ask_sign_in(self) -> SignInDialog:
        if self.dialog is None:
            self.dialog = SignInDialog(parent=self._window)
            self.dialog.attempted.connect(self._attempt)
            self.dialog.finished.connect(lambda _: setattr(self, "dialog", None))
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def _attempt(self, user: str, password: str) -> None:
        dialog = self.dialog
        try:
            self.session.sign_in(user, password)
        except SignInError as exc:
            if dialog is not None:
                dialog.refuse(str(exc))
            return
        if dialog is not None:
            dialog.accept()
        self.apply()

    # -- the idle lock -----------------------------------------------------------------------

    def lock(self) -> None:
        if self.session.locked:
            return
        self.session.lock("idle")
        log.info("window locked: idle")
        self.lock_screen.lock(self.session.person.label, needs_password=self.session.needs_password)
        self.apply()

    def _unlock(self, password: str) -> None:
        try:
            self.session.unlock(password or None)
        except SignInError as exc:
            self.lock_screen.refuse(str(exc))
            return
        self.lock_screen.unlocked()
        if self.idle is not None:
            self.idle.reset()
        self.apply()

    def _switch_user(self) -> None:
        self.session.sign_out()
        self.lock_screen.unlocked()
        self.apply()
        self.ask_sign_in()

    def close(self) -> None:
        self._accounts.stop()
        if self.idle is not None:
            self.idle.stop()


def banner_above(wall: QWidget, banner: AccessBanner, instead: QWidget) -> QWidget:
    """The wall with the access banner across its top, and what shows in its place for a
    role that does not watch live feeds, as one central widget."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    layout.addWidget(banner)
    layout.addWidget(wall, 1)
    layout.addWidget(instead, 1)
    return box

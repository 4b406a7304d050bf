"""One window's session: who is signed in, sign-in with a password, sign-out, and the idle
lock. No Qt here: the window (app/window.py) drives it from widgets/access/sign_in.py's dialog and
lock screen and widgets/access/idle.py's watcher, and asks it before offering a control.

Every change is a custody entry: signed in, signed out, locked, unlocked; a wrong password
or an unlock by someone else is a REFUSED entry. The person's actions are logged under the
account's user name, which with Vigil's own sign-in differs from the OS user.
"""

from __future__ import annotations

from app.access.accounts import AccountBook
from app.access.person import How, Person, require, who_is_here
from app.access.roles import Permission
from app.config import AccessSettings, SignIn
from app.evidence import CustodyAction, CustodyLog, os_user

WRONG_SIGN_IN = "Wrong user name or password, or the account is disabled."
"""One answer for every failed sign-in, so a guess learns nothing about which part failed
(the custody entry records which)."""


class SignInError(Exception):
    """A failed sign-in or unlock; the message is for the dialog, the REFUSED entry logged."""


class Session:
    def __init__(
        self, book: AccountBook, settings: AccessSettings, *, os_name: str | None = None
    ) -> None:
        self._book = book
        self._custody: CustodyLog = book.custody
        self._settings = settings
        self._os_name = os_name if os_name is not None else os_user()
        self._person = who_is_here(book, settings, os_name=self._os_name)
        self._locked = False
        self._logged_in = False
        self._seen_version = book.data_version()

    @property
    def person(self) -> Person:
        return self._person

    @property
    def locked(self) -> bool:
        return self._locked

    @property
    def needs_password(self) -> bool:
        """Whether sign-in and unlock ask for a password (else an Unlock button will do)."""
        return self._settings.sign_in is SignIn.VIGIL and not self._person.setup_mode

    @property
    def idle_lock_s(self) -> float:
        """Seconds of no input before the window locks; 0: never."""
        return self._settings.idle_lock_minutes * 60

    def may(self, permission: Permission) -> bool:
        return not self._locked and self._person.may(permission)

    def start(self) -> Person:
        """Record who the window opened for (OS sign-in and setup mode; Vigil's sign-in is
        recorded when it happens)."""
        if self._person.how in (How.OS, How.SETUP) and not self._logged_in:
            self._log(CustodyAction.SIGNED_IN, {"how": self._person.how.value})
            self._logged_in = True
        return self._person

    def sign_in(self, user: str, password: str) -> Person:
        """Vigil's own sign-in: the account's person, or SignInError (logged)."""
        user = user.strip()
        if not self._book.verify_password(user, password):
            self._refuse("sign in", user, _why_refused(self._book, user))
            raise SignInError(WRONG_SIGN_IN)
        account = self._book.get(user)
        assert account is not None
        self._person = Person(account.user, account.display, account.role, How.VIGIL)
        self._locked = False
        self._log(CustodyAction.SIGNED_IN, {"how": How.VIGIL.value})
        self._logged_in = True
        return self._person

    def sign_out(self) -> Person:
        """End the person's session; with Vigil's sign-in nobody is signed in after."""
        if self._logged_in:
            self._log(CustodyAction.SIGNED_OUT, {})
        self._logged_in = False
        self._locked = False
        self._person = who_is_here(self._book, self._settings, os_name=self._os_name)
        return self._person

    def refresh(self) -> bool:
        """Follow the accounts as they are now (changed by `vigil users` while the window
        runs): the first admin ends setup mode, a role changed or an account disabled takes
        effect. True when the person changed. A signed-in person stays who they are, with
        their account re-read; the OS user is looked up again. A change is a SIGNED_IN
        custody entry for the person as they now are, so the log says which role acted."""
        version = self._book.data_version()
        if version == self._seen_version:
            return False
        self._seen_version = version
        before = self._person
        if before.how is How.VIGIL:
            account = self._book.get(before.user)
            if account is None or account.disabled:
                after = Person(
                    before.user,
                    before.display,
                    None,
                    How.NOBODY,
                    f"{before.user}'s Vigil account is disabled.",
                )
            else:
                after = Person(account.user, account.display, account.role, How.VIGIL)
        else:
            after = who_is_here(self._book, self._settings, os_name=self._os_name)
        if after == before:
            return False
        self._person = after
        if after.how in (How.OS, How.SETUP, How.VIGIL):
            self._log(CustodyAction.SIGNED_IN, {"how": after.how.value, "why": "accounts changed"})
            self._logged_in = True
        return True

    def lock(self, why: str = "idle") -> None:
        if not self._locked:
            self._locked = True
            self._log(CustodyAction.SESSION_LOCKED, {"why": why})

    def unlock(self, password: str | None = None) -> Person:
        """Unlock for the same person: with Vigil's sign-in their password; otherwise the OS
        user must still be the one who locked, and their account still active. Returns
        the person (their account re-read) or raises SignInError, logged."""
        if not self._locked:
            return self._person
        if self.needs_password:
            if password is None or not self._book.verify_password(self._person.user, password):
                self._refuse("unlock", self._person.user, "wrong password or account disabled")
                raise SignInError("Wrong password, or the account is now disabled.")
            person = self._person
        else:
            person = who_is_here(self._book, self._settings, os_name=os_user())
            if person.user != self._person.user or person.how is How.NOBODY:
                self._refuse("unlock", self._person.user, f"the OS user is now {person.user}")
                raise SignInError(
                    f"Locked for {self._person.user}; this computer's user is now "
                    f"{person.user}" + (f": {person.problem}" if person.problem else ".")
                )
        self._person = person
        self._locked = False
        self._log(CustodyAction.SESSION_UNLOCKED, {})
        return person

    def require(self, permission: Permission, request: str, *, subject: str | None = None) -> None:
        """The window's check for a request made some way other than a control it offered
        (a shortcut, the control socket): NotPermittedError, logged, when not allowed."""
        require(self._person, permission, request, self._custody, subject=subject, via="window")

    def _log(self, action: CustodyAction, details: dict[str, object]) -> None:
        details = {**details, "role": self._person.role.value if self._person.role else None}
        self._custody.append(action, self._person.user, details, actor=self._person.user)

    def _refuse(self, request: str, user: str, reason: str) -> None:
        self._custody.append(
            CustodyAction.REFUSED,
            user,
            {"request": request, "via": "window", "reason": reason},
            actor=self._os_name,
        )


def _why_refused(book: AccountBook, user: str) -> str:
    account = book.get(user)
    if account is None:
        return "no such account"
    if account.disabled:
        return "account disabled"
    return "no password set" if not account.has_password else "wrong password"

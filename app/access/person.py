"""Who is here, and whether they may do what they ask. No Qt here.

`who_is_here` turns the operating-system user into a `Person`: the Vigil account of that
name, with its role. Until an admin account exists the instance is in setup mode: the OS
user holds every right, and `Person.banner` says so plainly for the window. Once accounts
exist, an OS user with no account (or a disabled one) holds no rights at all, and the
banner says why. Nothing here ever waits for a person: the wall, `vigil snapshot` and the
demo start unattended whatever the accounts say.

With `[access] sign_in = "vigil"` (a workstation shared by several staff) the window asks
for a user name and password instead (app/access/session.py). The command line always acts as
the OS user: a shared workstation's shared login should hold no account, so commands run
there are refused.

`require` is the one check: a request the person's role does not allow is refused with
`NotPermittedError` after a REFUSED custody entry naming the person, the permission and how
the request came; the command line exits 4 (EXIT_NOT_PERMITTED) on it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from app.access.accounts import AccountBook
from app.access.roles import EVERYTHING, PERMISSIONS, Permission, Role, roles_with
from app.config import AccessSettings, SignIn
from app.database import open_database
from app.evidence import CustodyAction, CustodyLog, os_user
from app.paths import BaseDir

EXIT_NOT_PERMITTED = 4
"""`vigil` exits with this when the person's role does not allow the command."""


class How(enum.StrEnum):
    """How the person came to be here."""

    OS = "os"
    VIGIL = "vigil"
    SETUP = "setup"
    """No admin account exists yet: the OS user, with every right."""
    NOBODY = "nobody"
    """No rights: no account, a disabled one, or Vigil's sign-in not done yet."""


@dataclass(frozen=True)
class Person:
    user: str
    """The account's user name; for setup mode or nobody, the OS user's."""
    display: str
    role: Role | None
    how: How
    problem: str | None = None
    """Why this person holds no rights, in words for the window; None when they hold some."""

    @property
    def permissions(self) -> frozenset[Permission]:
        if self.how is How.SETUP:
            return EVERYTHING
        return PERMISSIONS[self.role] if self.role is not None else frozenset()

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def setup_mode(self) -> bool:
        return self.how is How.SETUP

    @property
    def label(self) -> str:
        """Who is signed in, for the window's status bar."""
        if self.how is How.SETUP:
            return f"{self.user} · setup mode (every right)"
        if self.how is How.NOBODY:
            return f"{self.user} · no rights"
        name = self.display if self.display == self.user else f"{self.display} ({self.user})"
        assert self.role is not None
        return f"{name} · {self.role.value}"

    @property
    def banner(self) -> str | None:
        """A line the window shows across the top, or None when all is as it should be."""
        if self.how is How.SETUP:
            # The first admin ends setup mode, and an admin may not watch the wall: advice
            # that named only the admin role locked out a lone user who followed it.
            return (
                f"Setup mode: no admin yet, so {self.user} has every right. Add the people at "
                f"the wall first (vigil users add {self.user} --role supervisor), then "
                "vigil users add NAME --role admin: an admin manages accounts, never the wall."
            )
        return self.problem


class NotPermittedError(Exception):
    """The person's role does not allow the request; the REFUSED entry is already logged."""

    def __init__(self, person: Person, permission: Permission, request: str) -> None:
        self.person, self.permission, self.request = person, permission, request
        who = person.user + (f" ({person.role.value})" if person.role else "")
        holders = [role.value for role in roles_with(permission)]
        held = f"the {' and '.join(holders)} role{'s' if len(holders) > 1 else ''}"
        reason = f"; {person.problem}" if person.problem else ""
        super().__init__(
            f"{who} may not {permission.text}: {request} needs the {permission.value} "
            f"permission (held by {held}){reason}"
        )


def who_is_here(
    book: AccountBook, settings: AccessSettings | None = None, *, os_name: str | None = None
) -> Person:
    """The person at this computer: the OS user's account. `settings.sign_in = vigil`
    gives NOBODY until app/access/session.py signs someone in; without settings (the command
    line) the OS user is always taken. Setup mode while no admin account exists."""
    name = os_name if os_name is not None else os_user()
    if not book.has_admin():
        return Person(name, name, Role.ADMIN, How.SETUP)
    if settings is not None and settings.sign_in is SignIn.VIGIL:
        return Person(name, name, None, How.NOBODY, "Sign in to use Vigil.")
    account = book.get(name)
    if account is None:
        return Person(
            name,
            name,
            None,
            How.NOBODY,
            f"{name} has no Vigil account, so holds no rights; an admin adds one with "
            f"vigil users add {name} --role ROLE",
        )
    if account.disabled:
        return Person(
            name, account.display, None, How.NOBODY, f"{name}'s Vigil account is disabled."
        )
    return Person(account.user, account.display, account.role, How.OS)


def require(
    person: Person,
    permission: Permission,
    request: str,
    custody: CustodyLog,
    *,
    subject: str | None = None,
    via: str = "command line",
) -> None:
    """Return if `person` may; else log a REFUSED custody entry and raise NotPermittedError.
    `request` is what was asked, in words ("vigil evidence export"); `via` how it came."""
    if person.may(permission):
        return
    custody.append(
        CustodyAction.REFUSED,
        subject or request,
        {
            "permission": permission.value,
            "request": request,
            "via": via,
            "role": person.role.value if person.role else None,
            "how": person.how.value,
        },
        actor=person.user,
    )
    raise NotPermittedError(person, permission, request)


def check_command(
    base: BaseDir, permission: Permission, request: str, *, subject: str | None = None
) -> Person:
    """The command line's check, made before the command does anything: the OS user's
    person, or NotPermittedError. A base dir with no database has no accounts: setup."""
    if not base.database.exists():
        name = os_user()
        return Person(name, name, Role.ADMIN, How.SETUP)
    db = open_database(base.database)
    try:
        custody = CustodyLog(db)
        person = who_is_here(AccountBook(db, custody))
        require(person, permission, request, custody, subject=subject)
        return person
    finally:
        db.close()

"""Roles, who is here, the permission check, and the [access] config.

The role table is checked both ways for every permission: each role holds exactly what the
documented table gives it and is refused the rest. `who_is_here` is checked in each mode
(setup, OS sign-in with an account, with none, with a disabled one, Vigil's sign-in), and
`require` both ways, with the REFUSED custody entry it leaves.
"""

from __future__ import annotations

import pytest
import sqlite_utils

from app.access.accounts import AccountBook
from app.access.person import How, NotPermittedError, require, who_is_here
from app.access.roles import PERMISSIONS, Permission, Role, may, roles_with
from app.config import ConfigError, parse
from app.config.access import AccessSettings, SignIn
from app.evidence.custody import CustodyAction, CustodyLog

P = Permission
EXPECTED = {
    Role.OPERATOR: {P.INVITE_CALLERS, P.WATCH_FEEDS, P.TAG},
    Role.SUPERVISOR: {P.INVITE_CALLERS, P.WATCH_FEEDS, P.TAG, P.OPEN_BODYCAMS, P.MANAGE_LAYOUTS},
    Role.FORENSIC: {P.REVIEW, P.EXPORT, P.LOCK},
    Role.ADMIN: {P.MANAGE_USERS, P.EDIT_CONFIG},
}


@pytest.fixture
def book(db: sqlite_utils.Database) -> AccountBook:
    return AccountBook(db, CustodyLog(db))


@pytest.mark.parametrize("permission", list(Permission))
@pytest.mark.parametrize("role", list(Role))
def test_each_role_holds_exactly_its_documented_permissions(
    role: Role, permission: Permission
) -> None:
    """In: every (role, permission) pair. Out: may() is true exactly where the documented
    table (app/access/roles.py's docstring, copied here) gives the role that permission."""
    assert may(role, permission) is (permission in EXPECTED[role])


def test_supervisors_hold_everything_operators_do_and_no_role_is_empty() -> None:
    """Out: supervisor ⊇ operator; every permission is held by some role; no role holds
    nothing; no role but setup mode holds everything; no role is None."""
    assert PERMISSIONS[Role.OPERATOR] < PERMISSIONS[Role.SUPERVISOR]
    assert all(roles_with(p) for p in Permission)
    assert all(PERMISSIONS[r] and PERMISSIONS[r] != frozenset(Permission) for r in Role)
    assert not may(None, Permission.WATCH_FEEDS)


def test_setup_mode_while_no_admin_exists(book: AccountBook) -> None:
    """In: no accounts, then an operator account for "tom". Out: both times tom is in
    setup mode with every permission and a banner saying so and how to leave it."""
    for step in range(2):
        person = who_is_here(book, AccessSettings(), os_name="tom")
        assert person.how is How.SETUP
        assert person.setup_mode
        assert all(person.may(p) for p in Permission)
        assert person.banner is not None
        assert "Setup mode" in person.banner
        assert "vigil users add NAME --role admin" in person.banner
        if step == 0:
            book.add("tom", Role.OPERATOR, by="tom")


def test_os_sign_in_maps_the_os_user_to_their_account(book: AccountBook) -> None:
    """In: an admin chief and tom, supervisor, "Tom Cole". Out: tom is here by OS with the
    supervisor's permissions only, no banner; the label names him and his role."""
    book.add("chief", Role.ADMIN, by="setup")
    book.add("tom", Role.SUPERVISOR, by="chief", display="Tom Cole")

    person = who_is_here(book, AccessSettings(), os_name="tom")

    assert (person.user, person.role, person.how) == ("tom", Role.SUPERVISOR, How.OS)
    assert person.permissions == PERMISSIONS[Role.SUPERVISOR]
    assert person.banner is None
    assert person.label == "Tom Cole (tom) · supervisor"


def test_an_os_user_without_an_account_holds_no_rights(book: AccountBook) -> None:
    """In: accounts exist (an admin), none for "ann". Out: ann is NOBODY, no permission at
    all, and the banner says she has no account and how an admin adds one."""
    book.add("chief", Role.ADMIN, by="setup")

    person = who_is_here(book, AccessSettings(), os_name="ann")

    assert person.how is How.NOBODY
    assert person.role is None
    assert not any(person.may(p) for p in Permission)
    assert person.banner == (
        "ann has no Vigil account, so holds no rights; an admin adds one with "
        "vigil users add ann --role ROLE"
    )


def test_a_disabled_account_holds_no_rights(book: AccountBook) -> None:
    """In: tom's operator account disabled. Out: NOBODY, no permissions, banner says so."""
    book.add("chief", Role.ADMIN, by="setup")
    book.add("tom", Role.OPERATOR, by="chief")
    book.disable("tom", by="chief")

    person = who_is_here(book, AccessSettings(), os_name="tom")

    assert person.how is How.NOBODY
    assert not person.permissions
    assert person.banner == "tom's Vigil account is disabled."


def test_vigil_sign_in_gives_nobody_until_signed_in_but_the_command_line_takes_the_os_user(
    book: AccountBook,
) -> None:
    """In: sign_in = vigil; tom an operator. Out: for the window (settings given) tom is
    NOBODY asked to sign in; for the command line (no settings) tom is his operator account."""
    book.add("chief", Role.ADMIN, by="setup")
    book.add("tom", Role.OPERATOR, by="chief")

    window = who_is_here(book, AccessSettings(SignIn.VIGIL), os_name="tom")
    command = who_is_here(book, None, os_name="tom")

    assert (window.how, window.banner) == (How.NOBODY, "Sign in to use Vigil.")
    assert (command.how, command.role) == (How.OS, Role.OPERATOR)


def test_require_allows_silently_and_refuses_with_a_custody_entry(book: AccountBook) -> None:
    """In: tom an operator; require TAG, then EXPORT for clip CLIP-1 via "window". Out: TAG
    returns and logs nothing; EXPORT raises NotPermittedError whose text names tom, his
    role, "export evidence", the permission and the forensic role, after one REFUSED entry:
    actor tom, subject CLIP-1, details with the permission, request, via, role and how."""
    book.add("chief", Role.ADMIN, by="setup")
    book.add("tom", Role.OPERATOR, by="chief")
    person = who_is_here(book, None, os_name="tom")
    custody = book.custody
    count = custody.count()

    require(person, Permission.TAG, "tag", custody)
    assert custody.count() == count

    with pytest.raises(NotPermittedError) as refused:
        require(person, Permission.EXPORT, "Export…", custody, subject="CLIP-1", via="window")

    assert str(refused.value) == (
        "tom (operator) may not export evidence: Export… needs the export permission "
        "(held by the forensic role)"
    )
    entry = custody.entries()[-1]
    assert (entry.action, entry.actor, entry.subject) == (CustodyAction.REFUSED, "tom", "CLIP-1")
    assert entry.details_dict == {
        "permission": "export",
        "request": "Export…",
        "via": "window",
        "role": "operator",
        "how": "os",
    }


def test_access_config_defaults_and_values() -> None:
    """In: no [access]; then sign_in = "vigil", idle_lock_minutes = 2.5; then 0. Out: os
    and 10 minutes; vigil and 2.5; 0 (never lock)."""
    assert parse("").access == AccessSettings(SignIn.OS, 10.0)
    text = '[access]\nsign_in = "vigil"\nidle_lock_minutes = 2.5\n'
    assert parse(text).access == AccessSettings(SignIn.VIGIL, 2.5)
    assert parse("[access]\nidle_lock_minutes = 0\n").access.idle_lock_minutes == 0


@pytest.mark.parametrize(
    ("body", "key", "line", "words"),
    [
        ('sign_in = "password"', "access.sign_in", 3, '"os"'),
        ("idle_lock_minutes = -1", "access.idle_lock_minutes", 3, "from 0"),
        ("idle_lock_minutes = true", "access.idle_lock_minutes", 3, "number of minutes"),
        ("idle_lock_minutes = 100000", "access.idle_lock_minutes", 3, "1440"),
        ("lock_after = 5", "access.lock_after", 3, "unknown access setting"),
    ],
)
def test_access_config_errors_name_the_key_and_line(
    body: str, key: str, line: int, words: str
) -> None:
    """In: a bad [access] value on line 3 (after a [wall] table). Out: ConfigError naming
    access.KEY, line 3, and what is expected."""
    text = f"[wall]\n[access]\n{body}\n"
    with pytest.raises(ConfigError) as error:
        parse(text)
    assert (error.value.key, error.value.line) == (key, line)
    assert words in error.value.message


def test_access_must_be_a_table() -> None:
    """In: access = 3. Out: ConfigError "must be a table: [access]" on line 1."""
    with pytest.raises(ConfigError, match=r"must be a table: \[access\]"):
        parse("access = 3\n")

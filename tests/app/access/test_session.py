"""A window's session on a real SQLite file: Vigil's sign-in with a password, one answer for
every failed sign-in, the idle lock and its unlock (by password, or by the OS user being the
same), sign-out, and the custody entries each leaves.

The OS user cannot be changed by a test, so OS-sign-in sessions use the real one
(app.evidence.custody.os_user()) with an account made for it.
"""

from __future__ import annotations

import pytest
import sqlite_utils

from app.access.accounts import AccountBook
from app.access.person import How, NotPermittedError
from app.access.roles import Permission, Role
from app.access.session import WRONG_SIGN_IN, Session, SignInError
from app.config.access import AccessSettings, SignIn
from app.evidence.custody import CustodyAction, CustodyLog, os_user

ME = os_user()


@pytest.fixture
def book(db: sqlite_utils.Database) -> AccountBook:
    book = AccountBook(db, CustodyLog(db))
    book.add("chief", Role.ADMIN, by="setup")
    return book


def actions(book: AccountBook) -> list[tuple[str, str, str]]:
    """(action, actor, subject) of every entry after the accounts were made."""
    return [
        (e.action, e.actor, e.subject)
        for e in book.custody.entries()
        if e.action not in (CustodyAction.ACCOUNT_ADDED, CustodyAction.ACCOUNT_DISABLED)
    ]


def test_vigil_sign_in_right_and_wrong(book: AccountBook) -> None:
    """In: sign_in = vigil; jo (forensic, password). Attempts: jo with a wrong password, an
    unknown kim, then jo rightly. Out: before, nobody with no rights and a password needed;
    both failures raise SignInError with the same text (which part failed is not said) and
    log REFUSED by the OS user, the reason only in the entry; then jo is signed in by vigil
    with forensic rights and SIGNED_IN is logged with jo as actor."""
    book.add("jo", Role.FORENSIC, by="chief", password="s3cret-pw")
    session = Session(book, AccessSettings(SignIn.VIGIL), os_name="shared")
    assert session.person.how is How.NOBODY
    assert session.needs_password
    assert not session.may(Permission.REVIEW)

    for user, password in (("jo", "wrong-pw!"), ("kim", "s3cret-pw")):
        with pytest.raises(SignInError) as refused:
            session.sign_in(user, password)
        assert str(refused.value) == WRONG_SIGN_IN
    person = session.sign_in(" jo ", "s3cret-pw")

    assert (person.user, person.role, person.how) == ("jo", Role.FORENSIC, How.VIGIL)
    assert session.may(Permission.REVIEW)
    assert actions(book) == [
        ("refused", "shared", "jo"),
        ("refused", "shared", "kim"),
        ("signed_in", "jo", "jo"),
    ]
    reasons = [e.details_dict["reason"] for e in book.custody.entries() if e.action == "refused"]
    assert reasons == ["wrong password", "no such account"]


def test_lock_and_unlock_with_a_password(book: AccountBook) -> None:
    """In: jo signed in by password; the session locks (idle). Out: locked, nothing is
    allowed; a wrong password stays locked (REFUSED "unlock"); the right one unlocks, and
    the rights are back. Entries: signed_in, session_locked, refused, session_unlocked."""
    book.add("jo", Role.FORENSIC, by="chief", password="s3cret-pw")
    session = Session(book, AccessSettings(SignIn.VIGIL, 5), os_name="shared")
    session.sign_in("jo", "s3cret-pw")
    assert session.idle_lock_s == 300

    session.lock("idle")
    assert session.locked
    assert not session.may(Permission.REVIEW)
    with pytest.raises(SignInError):
        session.unlock("wrong-pw!")
    assert session.locked
    session.unlock("s3cret-pw")

    assert not session.locked
    assert session.may(Permission.REVIEW)
    assert [a for a, _, _ in actions(book)] == [
        "signed_in",
        "session_locked",
        "refused",
        "session_unlocked",
    ]
    locked = next(e for e in book.custody.entries() if e.action == "session_locked")
    assert locked.details_dict == {"why": "idle", "role": "forensic"}


def test_os_sign_in_unlocks_while_the_os_user_is_still_theirs(book: AccountBook) -> None:
    """In: OS sign-in; the OS user holds an operator account; start, lock, unlock with no
    password. Out: started as the OS user by os (SIGNED_IN logged once even if started
    twice); unlocked; entries signed_in, session_locked, session_unlocked."""
    book.add(ME, Role.OPERATOR, by="chief")
    session = Session(book, AccessSettings())
    assert not session.needs_password

    assert session.start().how is How.OS
    session.start()
    session.lock()
    person = session.unlock()

    assert (person.user, person.role, session.locked) == (ME, Role.OPERATOR, False)
    assert [a for a, _, _ in actions(book)] == ["signed_in", "session_locked", "session_unlocked"]


def test_os_unlock_is_refused_once_the_account_is_disabled(book: AccountBook) -> None:
    """In: the OS user's supervisor account; locked; then the account disabled. Out:
    unlock raises SignInError saying the account is disabled; still locked; REFUSED."""
    book.add(ME, Role.SUPERVISOR, by="chief")
    session = Session(book, AccessSettings())
    session.start()
    session.lock()
    book.disable(ME, by="chief")

    with pytest.raises(SignInError, match="disabled"):
        session.unlock()

    assert session.locked
    assert actions(book)[-1] == ("refused", ME, ME)


def test_sign_out_leaves_nobody_with_vigil_sign_in(book: AccountBook) -> None:
    """In: jo signed in by password, then signed out. Out: nobody, no rights; SIGNED_OUT
    logged with jo as actor."""
    book.add("jo", Role.OPERATOR, by="chief", password="s3cret-pw")
    session = Session(book, AccessSettings(SignIn.VIGIL), os_name="shared")
    session.sign_in("jo", "s3cret-pw")

    person = session.sign_out()

    assert person.how is How.NOBODY
    assert not session.may(Permission.TAG)
    assert actions(book)[-1] == ("signed_out", "jo", "jo")


def test_the_window_check_refuses_and_logs_via_window(book: AccountBook) -> None:
    """In: the OS user an operator; session.require(EXPORT, "Export…", subject CLIP-1).
    Out: NotPermittedError; a REFUSED entry via "window"."""
    book.add(ME, Role.OPERATOR, by="chief")
    session = Session(book, AccessSettings())

    with pytest.raises(NotPermittedError):
        session.require(Permission.EXPORT, "Export…", subject="CLIP-1")

    entry = book.custody.entries()[-1]
    assert (entry.action, entry.subject, entry.details_dict["via"]) == (
        "refused",
        "CLIP-1",
        "window",
    )


def test_setup_mode_needs_no_password_even_with_vigil_sign_in(db: sqlite_utils.Database) -> None:
    """In: no accounts; sign_in = vigil. Out: setup mode, every right, no password asked:
    the demo and an unattended wall start with nobody at the keyboard."""
    session = Session(AccountBook(db, CustodyLog(db)), AccessSettings(SignIn.VIGIL), os_name="ops")

    assert session.person.setup_mode
    assert not session.needs_password
    assert all(session.may(p) for p in Permission)

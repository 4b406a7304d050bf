"""Accounts on a real SQLite file: scrypt hashes that carry their parameters and a salt of
their own, checked in constant time; a wrong password, a disabled account and an unknown
name all fail; every change a custody entry naming who made it; names fixed, roles changed
only through the book after a custody entry says so, rows never deleted, and the last active
admin never disabled or demoted.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from app.access.accounts import (
    AccountBook,
    AccountError,
    LastAdminError,
    UnknownAccountError,
    check_password,
    hash_password,
)
from app.access.roles import Role
from app.database import open_database
from app.evidence.custody import CustodyAction, CustodyLog


@pytest.fixture
def book(db: sqlite_utils.Database) -> AccountBook:
    return AccountBook(db, CustodyLog(db), clock=lambda: 1_700_000_000.0)


def test_a_hash_carries_its_parameters_and_a_salt_of_its_own() -> None:
    """In: the same password hashed twice. Out: both texts read
    scrypt$n=16384,r=8,p=1$SALT$HASH with different salts and hashes; each checks against
    the password and not against another; a text of another scheme, or garbled, never
    matches; a hash made with other parameters (n=1024) still checks."""
    first, second = hash_password("correct horse"), hash_password("correct horse")

    assert first.startswith("scrypt$n=16384,r=8,p=1$")
    assert first != second
    assert first.split("$")[2] != second.split("$")[2]
    assert check_password(first, "correct horse")
    assert check_password(second, "correct horse")
    assert not check_password(first, "correct horsE")
    assert not check_password("bcrypt$n=1$AAAA$AAAA", "correct horse")
    assert not check_password("nonsense", "correct horse")
    assert check_password(hash_password("pw-12345", n=1024), "pw-12345")


def test_add_get_and_verify_a_password(book: AccountBook) -> None:
    """In: jo added as forensic with a password, by chief. Out: get("jo") says forensic,
    has a password, active, made by chief; verify_password is true for the password,
    false for a wrong one and for a user nobody added; the stored hash is scrypt, never
    the password."""
    account = book.add("jo", Role.FORENSIC, by="chief", display="Jo Bloggs", password="s3cret-pw")

    assert (account.role, account.display, account.has_password, account.disabled) == (
        Role.FORENSIC,
        "Jo Bloggs",
        True,
        False,
    )
    assert account.created_by == "chief"
    assert book.verify_password("jo", "s3cret-pw")
    assert not book.verify_password("jo", "s3cret-pX")
    assert not book.verify_password("kim", "s3cret-pw")
    stored = next(iter(book._db.table("accounts").rows))["password_hash"]
    assert stored.startswith("scrypt$")
    assert "s3cret-pw" not in stored


def test_an_account_without_a_password_never_verifies(book: AccountBook) -> None:
    """In: an OS-sign-in account (no password). Out: no password verifies, not even ""."""
    book.add("sam", Role.OPERATOR, by="chief")

    assert not book.verify_password("sam", "")
    assert not book.verify_password("sam", "anything-at-all")


def test_a_disabled_account_no_longer_verifies(book: AccountBook) -> None:
    """In: jo with a password, then disabled by chief "left". Out: the right password no
    longer verifies; the account reads disabled, by chief, with the reason; disabling it
    again changes nothing and logs nothing."""
    book.add("jo", Role.FORENSIC, by="chief", password="s3cret-pw")

    account = book.disable("jo", by="chief", reason="left")

    assert not book.verify_password("jo", "s3cret-pw")
    assert (account.disabled, account.disabled_by, account.disabled_reason) == (
        True,
        "chief",
        "left",
    )
    count = book.custody.count()
    book.disable("jo", by="chief")
    assert book.custody.count() == count


def test_every_change_is_a_custody_entry(book: AccountBook) -> None:
    """In: chief adds jo (forensic, with a password), then disables jo. Out: two custody
    entries for subject jo, actor chief: account_added with the role, display and that a
    password is set (never the password or its hash), then account_disabled with the reason."""
    book.add("jo", Role.FORENSIC, by="chief", display="Jo", password="s3cret-pw")
    book.disable("jo", by="chief", reason="moved")

    entries = book.custody.entries("jo")

    assert [(e.action, e.actor) for e in entries] == [
        (CustodyAction.ACCOUNT_ADDED, "chief"),
        (CustodyAction.ACCOUNT_DISABLED, "chief"),
    ]
    assert entries[0].details_dict == {"role": "forensic", "display": "Jo", "password": True}
    assert "scrypt" not in entries[0].details
    assert entries[1].details_dict == {"reason": "moved"}


@pytest.mark.parametrize("name", ["", "two words", "x" * 65, "semi;colon", "new\nline"])
def test_a_malformed_user_name_is_refused(book: AccountBook, name: str) -> None:
    """In: a name empty, with a space, 65 long, with ; or a newline. Out: AccountError."""
    with pytest.raises(AccountError, match="is not a user name"):
        book.add(name, Role.OPERATOR, by="chief")


def test_names_as_os_accounts_write_them_are_accepted(book: AccountBook) -> None:
    """In: DOMAIN\\j.smith, jo@CORP.EXAMPLE, a_b-c. Out: each added."""
    for name in ("DOMAIN\\j.smith", "jo@CORP.EXAMPLE", "a_b-c"):
        assert book.add(name, Role.OPERATOR, by="chief").user == name


def test_a_taken_name_and_a_short_password_are_refused(book: AccountBook) -> None:
    """In: jo added twice; kim with a 7-character password. Out: AccountError for each,
    and no kim."""
    book.add("jo", Role.OPERATOR, by="chief")
    with pytest.raises(AccountError, match="exists already"):
        book.add("jo", Role.ADMIN, by="chief")
    with pytest.raises(AccountError, match="at least 8"):
        book.add("kim", Role.OPERATOR, by="chief", password="1234567")
    assert book.get("kim") is None
    assert book.get("jo").role is Role.OPERATOR  # type: ignore[union-attr]


def test_the_last_active_admin_is_never_disabled(book: AccountBook) -> None:
    """In: one admin, chief. Out: disabling chief raises LastAdminError; with a second
    admin added, chief can be disabled, and then the second cannot. An unknown name raises
    UnknownAccountError."""
    book.add("chief", Role.ADMIN, by="setup")
    with pytest.raises(LastAdminError):
        book.disable("chief", by="chief")
    book.add("deputy", Role.ADMIN, by="chief")

    book.disable("chief", by="deputy")

    with pytest.raises(LastAdminError):
        book.disable("deputy", by="deputy")
    with pytest.raises(UnknownAccountError):
        book.disable("nobody", by="deputy")


def test_has_admin_counts_disabled_admins_too(book: AccountBook) -> None:
    """In: no accounts; then an operator; then two admins, one disabled. Out: has_admin is
    false, false, true: a disabled admin does not put the instance back in setup mode."""
    assert not book.has_admin()
    book.add("sam", Role.OPERATOR, by="setup")
    assert not book.has_admin()
    book.add("chief", Role.ADMIN, by="setup")
    book.add("deputy", Role.ADMIN, by="chief")
    book.disable("chief", by="deputy")
    assert book.has_admin()


def test_rows_are_never_deleted_and_names_and_roles_never_change_by_hand(
    book: AccountBook, db: sqlite_utils.Database
) -> None:
    """In: chief (admin) in the table; SQL that deletes it, changes its role, renames it,
    changes its maker. Out: each refused by the database's triggers; chief is still an
    admin, made by setup."""
    book.add("chief", Role.ADMIN, by="setup")

    for sql in (
        "DELETE FROM accounts WHERE user = 'chief'",
        "UPDATE accounts SET role = 'operator' WHERE user = 'chief'",
        "UPDATE accounts SET user = 'boss' WHERE user = 'chief'",
        "UPDATE accounts SET created_by = 'boss' WHERE user = 'chief'",
    ):
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(sql)

    chief = book.get("chief")
    assert chief is not None
    assert (chief.role, chief.created_by) == (Role.ADMIN, "setup")


def test_change_role_records_then_changes(book: AccountBook) -> None:
    """In: chief (admin) adds root as admin (as the old setup banner advised), then makes
    root a supervisor, then asks for supervisor again. Out: root is a supervisor, still
    active, same maker and time; one account_role_changed custody entry for root, actor
    chief, {"from": "admin", "to": "supervisor"}, after its account_added; asking for the
    role it already has returns it unchanged and writes nothing; the audit chain is whole."""
    book.add("chief", Role.ADMIN, by="setup")
    book.add("root", Role.ADMIN, by="chief")

    changed = book.change_role("root", Role.SUPERVISOR, by="chief")
    count = book.custody.count()
    again = book.change_role("root", Role.SUPERVISOR, by="chief")

    assert changed.role is Role.SUPERVISOR
    assert (changed.disabled, changed.created_by) == (False, "chief")
    assert again == changed
    assert book.custody.count() == count
    entries = book.custody.entries("root")
    assert [(e.action, e.actor) for e in entries] == [
        (CustodyAction.ACCOUNT_ADDED, "chief"),
        (CustodyAction.ACCOUNT_ROLE_CHANGED, "chief"),
    ]
    assert entries[1].details_dict == {"from": "admin", "to": "supervisor"}
    assert book.custody.verify() is None


def test_the_last_active_admin_is_never_demoted(book: AccountBook) -> None:
    """In: chief the only admin, made an operator; deputy added as admin, then chief made a
    supervisor and deputy a forensic; an unknown name; then two more admins, one disabled,
    and the disabled ones given other roles.
    Out: the first is LastAdminError naming chief and how to make another admin, with no
    custody entry and chief still admin; with deputy, chief becomes a supervisor; then
    deputy is the last active admin and is refused likewise; UnknownAccountError for nobody;
    a disabled admin's role may change (it holds no rights either way)."""
    book.add("chief", Role.ADMIN, by="setup")
    count = book.custody.count()
    with pytest.raises(LastAdminError, match=r"'chief' is the last active admin.*role NAME admin"):
        book.change_role("chief", Role.OPERATOR, by="chief")
    assert book.custody.count() == count
    assert book.get("chief").role is Role.ADMIN  # type: ignore[union-attr]

    book.add("deputy", Role.ADMIN, by="chief")
    assert book.change_role("chief", Role.SUPERVISOR, by="deputy").role is Role.SUPERVISOR
    with pytest.raises(LastAdminError):
        book.change_role("deputy", Role.FORENSIC, by="deputy")
    with pytest.raises(UnknownAccountError, match="no account named 'nobody'"):
        book.change_role("nobody", Role.OPERATOR, by="deputy")

    book.add("old", Role.ADMIN, by="deputy")
    book.disable("old", by="deputy")
    book.add("new", Role.ADMIN, by="deputy")
    book.disable("deputy", by="new")
    assert book.change_role("deputy", Role.OPERATOR, by="new").role is Role.OPERATOR
    assert book.change_role("old", Role.FORENSIC, by="new").role is Role.FORENSIC
    assert book.has_admin()


def test_a_role_changes_only_as_the_custody_log_last_recorded(
    book: AccountBook, db: sqlite_utils.Database
) -> None:
    """In: jo (operator) made a supervisor through the book; then SQL by hand that sets jo
    back to operator (the earlier role), and SQL that sets jo to admin after a custody entry
    recording some other change for jo. Out: both UPDATEs refused by the database; jo stays
    a supervisor."""
    book.add("chief", Role.ADMIN, by="setup")
    book.add("jo", Role.OPERATOR, by="chief")
    book.change_role("jo", Role.SUPERVISOR, by="chief")

    with pytest.raises(sqlite3.IntegrityError, match="vigil users role"):
        db.execute("UPDATE accounts SET role = 'operator' WHERE user = 'jo'")
    book.custody.append(
        CustodyAction.ACCOUNT_ROLE_CHANGED, "jo", {"from": "operator", "to": "admin"}
    )
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE accounts SET role = 'admin' WHERE user = 'jo'")

    assert book.get("jo").role is Role.SUPERVISOR  # type: ignore[union-attr]


def test_a_database_made_before_role_changes_takes_them(tmp_path: Path) -> None:
    """In: a database file whose accounts carry the earlier trigger that fixed every role
    (accounts_fixed_columns, as Vigil made it before `vigil users role`), reopened with
    open_database. Out: the old trigger is gone, chief's role changes through the book, and
    a rename by hand is still refused."""
    path = tmp_path / "vigil.db"
    first = open_database(path)
    first.execute("DROP TRIGGER accounts_fixed_names")
    first.execute(
        "CREATE TRIGGER accounts_fixed_columns "
        "BEFORE UPDATE OF user, role, created_by, created_at ON accounts "
        "BEGIN SELECT RAISE(ABORT, 'an account''s name, role and maker are fixed'); END"
    )
    AccountBook(first, CustodyLog(first)).add("chief", Role.ADMIN, by="setup")
    AccountBook(first, CustodyLog(first)).add("deputy", Role.ADMIN, by="setup")
    first.close()

    db = open_database(path)
    try:
        triggers = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        assert "accounts_fixed_columns" not in triggers
        book = AccountBook(db, CustodyLog(db))
        assert book.change_role("chief", Role.SUPERVISOR, by="deputy").role is Role.SUPERVISOR
        with pytest.raises(sqlite3.IntegrityError, match="name and maker are fixed"):
            db.execute("UPDATE accounts SET user = 'boss' WHERE user = 'chief'")
    finally:
        db.close()


def test_list_is_oldest_first_and_public_holds_no_hash(db: sqlite_utils.Database) -> None:
    """In: sam then jo added a second apart, jo with a password. Out: all() lists sam then
    jo; jo's public() says password true and holds no hash."""
    times = iter([100.0, 101.0])
    book = AccountBook(db, CustodyLog(db), clock=lambda: next(times))
    book.add("sam", Role.OPERATOR, by="chief")
    book.add("jo", Role.FORENSIC, by="chief", password="s3cret-pw")

    accounts = book.all()

    assert [a.user for a in accounts] == ["sam", "jo"]
    public = accounts[1].public()
    assert public["password"] is True
    assert not any("scrypt" in str(v) for v in public.values())

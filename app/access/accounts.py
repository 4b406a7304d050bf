"""Vigil's accounts: a user name, a role, and a password hash where Vigil's own sign-in is
used. No Qt here.

By default the user name is the operating-system user's, and the OS session says who is
here (app/access/person.py); a workstation shared by several staff signs in with a password
instead. Passwords are hashed with scrypt (memory-hard, in the standard library): the
stored text carries its own parameters and a random salt per account, so the cost can be
raised later without breaking the hashes already kept:

    scrypt$n=16384,r=8,p=1$<salt, base64>$<hash, base64>

An account is disabled, never removed (the database refuses DELETE), and its name never
changes: its row, with the custody log, stays the record of who held which role. Its role
changes only through `change_role`, which writes the custody entry first; the database
refuses any other change of role (app/database.py), so what the log last says of an account
is its role. Every change is a custody entry naming who made it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from app.access.roles import Role
from app.evidence import CustodyAction, CustodyLog, immediate

SCRYPT_N, SCRYPT_R, SCRYPT_P = 16384, 8, 1
"""About 16 MiB and some tens of milliseconds a guess: OWASP's floor for scrypt."""
_SALT_BYTES, _KEY_BYTES = 16, 32
MIN_PASSWORD = 8
_USER = re.compile(r"[A-Za-z0-9._@\\-]{1,64}")
"""OS user names as Linux, macOS and Windows domains write them (DOMAIN\\user, user@realm)."""
_DUMMY_HASH = "scrypt$n=16384,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 43 + "="
"""Checked against when the account does not exist, so the time taken does not say so."""


class AccountError(Exception):
    """A request about accounts that cannot be met; the message says why."""


class UnknownAccountError(AccountError):
    pass


class LastAdminError(AccountError):
    """Disabling or demoting the last active admin would leave nobody able to manage
    accounts (and setup mode never comes back once an admin was made)."""


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """The text to store for `password`: scrypt with a fresh random salt and its parameters."""
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _scrypt(password, salt, n, r, p)
    return f"scrypt$n={n},r={r},p={p}${_b64(salt)}${_b64(key)}"


def check_password(stored: str, password: str) -> bool:
    """Whether `password` is the one `stored` was made from (compared in constant time).
    A stored text this module did not write is never a match."""
    try:
        scheme, params, salt_text, key_text = stored.split("$")
        values = dict(item.split("=") for item in params.split(","))
        n, r, p = int(values["n"]), int(values["r"]), int(values["p"])
        salt, key = base64.b64decode(salt_text), base64.b64decode(key_text)
    except (ValueError, KeyError):
        return False
    if scheme != "scrypt" or not key:
        return False
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, size=len(key)), key)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, *, size: int = _KEY_BYTES) -> bytes:
    # maxmem: OpenSSL's default (32 MiB) is just enough for n=16384, r=8; leave room to grow.
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=size, maxmem=256 * 2**20
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class Account:
    user: str
    display: str
    role: Role
    has_password: bool
    disabled: bool
    created_by: str
    created_at: float
    disabled_by: str | None = None
    disabled_at: float | None = None
    disabled_reason: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Account:
        return cls(
            user=row["user"],
            display=row["display"],
            role=Role(row["role"]),
            has_password=row["password_hash"] is not None,
            disabled=bool(row["disabled"]),
            created_by=row["created_by"],
            created_at=row["created_at"],
            disabled_by=row["disabled_by"],
            disabled_at=row["disabled_at"],
            disabled_reason=row["disabled_reason"],
        )

    def public(self) -> dict[str, object]:
        """What `vigil users list --json` prints: never the hash."""
        return {
            "user": self.user,
            "display": self.display,
            "role": self.role.value,
            "password": self.has_password,
            "disabled": self.disabled,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "disabled_by": self.disabled_by,
            "disabled_at": self.disabled_at,
            "disabled_reason": self.disabled_reason,
        }


class AccountBook:
    """The accounts table, on one connection; changes go to the custody log."""

    def __init__(
        self, db: sqlite_utils.Database, custody: CustodyLog, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = db
        self.custody = custody
        self._clock = clock

    def add(
        self,
        user: str,
        role: Role,
        *,
        by: str,
        display: str | None = None,
        password: str | None = None,
    ) -> Account:
        """Add an account; AccountError for a bad or taken name or too short a password."""
        if not _USER.fullmatch(user):
            raise AccountError(
                f"{user!r} is not a user name: 1 to 64 letters, digits and . _ @ \\ -"
            )
        display = (display or user).strip() or user
        if password is not None and len(password) < MIN_PASSWORD:
            raise AccountError(f"the password must be at least {MIN_PASSWORD} characters")
        hashed = hash_password(password) if password is not None else None
        with immediate(self._db.conn):  # two `vigil users add` at once: one wins, cleanly
            if self._row(user) is not None:
                raise AccountError(f"an account named {user!r} exists already")
            self._db.conn.execute(
                "INSERT INTO accounts (user, display, role, password_hash, disabled, "
                "created_by, created_at) VALUES (?, ?, ?, ?, 0, ?, ?)",
                [user, display, Role(role).value, hashed, by, self._clock()],
            )
        self.custody.append(
            CustodyAction.ACCOUNT_ADDED,
            user,
            {"role": Role(role).value, "display": display, "password": hashed is not None},
            actor=by,
        )
        account = self.get(user)
        assert account is not None
        return account

    def get(self, user: str) -> Account | None:
        row = self._row(user)
        return Account.from_row(row) if row is not None else None

    def all(self) -> list[Account]:
        rows = self._db.table("accounts").rows_where(order_by="created_at, user")
        return [Account.from_row(row) for row in rows]

    def data_version(self) -> int:
        """A number that changes whenever another connection (another process's `vigil
        users`, say) commits to the database: a cheap way to know the accounts may have
        changed without reading them (SQLite's PRAGMA data_version)."""
        return int(self._db.conn.execute("PRAGMA data_version").fetchone()[0])

    def has_admin(self) -> bool:
        """Whether an admin account was ever made, disabled or not: until one is, the
        instance is in setup mode."""
        row = self._db.execute("SELECT 1 FROM accounts WHERE role = ? LIMIT 1", [Role.ADMIN.value])
        return row.fetchone() is not None

    def disable(self, user: str, *, by: str, reason: str | None = None) -> Account:
        """Disable an account; disabling one already disabled changes nothing."""
        with immediate(self._db.conn):
            account = self.get(user)
            if account is None:
                raise UnknownAccountError(f"no account named {user!r}")
            if account.disabled:
                return account
            if account.role is Role.ADMIN and self._active_admins() <= 1:
                raise LastAdminError(
                    f"{user!r} is the last active admin; add another admin before disabling it"
                )
            self._db.conn.execute(
                "UPDATE accounts SET disabled = 1, disabled_by = ?, disabled_at = ?, "
                "disabled_reason = ? WHERE user = ?",
                [by, self._clock(), reason, user],
            )
        self.custody.append(CustodyAction.ACCOUNT_DISABLED, user, {"reason": reason}, actor=by)
        changed = self.get(user)
        assert changed is not None
        return changed

    def change_role(self, user: str, role: Role, *, by: str) -> Account:
        """Give `user` another role; asking for the role it has changes nothing. The custody
        entry (from, to) is written first and the row changed after, in a transaction that
        checks again: the database takes a role only from that entry, and two admins demoting
        each other at once must not leave none. UnknownAccountError for no such account,
        LastAdminError for demoting the last active admin (then nothing changes; if that was
        lost to a race after the entry, a REFUSED entry says the change did not happen)."""
        role = Role(role)
        account = self.get(user)
        if account is None:
            raise UnknownAccountError(f"no account named {user!r}")
        if account.role is role:
            return account
        self._check_not_last_admin(account, role)
        old = account.role.value
        self.custody.append(
            CustodyAction.ACCOUNT_ROLE_CHANGED, user, {"from": old, "to": role.value}, actor=by
        )
        try:
            with immediate(self._db.conn):
                now = self.get(user)
                assert now is not None  # accounts are never deleted
                self._check_not_last_admin(now, role)
                self._db.conn.execute(
                    "UPDATE accounts SET role = ? WHERE user = ?", [role.value, user]
                )
        except LastAdminError as exc:
            self.custody.append(
                CustodyAction.REFUSED,
                user,
                {"request": "role change", "from": old, "to": role.value, "reason": str(exc)},
                actor=by,
            )
            raise
        changed = self.get(user)
        assert changed is not None
        return changed

    def _check_not_last_admin(self, account: Account, role: Role) -> None:
        demoted = account.role is Role.ADMIN and role is not Role.ADMIN
        if demoted and not account.disabled and self._active_admins() <= 1:
            raise LastAdminError(
                f"{account.user!r} is the last active admin; make another account admin "
                f"first (vigil users role NAME admin, or vigil users add NAME --role admin)"
            )

    def verify_password(self, user: str, password: str) -> bool:
        """True only for an active account with a password that matches. An unknown user
        costs the same hash as a known one, so the time taken does not tell them apart."""
        row = self._row(user)
        stored = row["password_hash"] if row is not None else None
        matched = check_password(stored or _DUMMY_HASH, password)
        return matched and stored is not None and row is not None and not row["disabled"]

    def _active_admins(self) -> int:
        row = self._db.execute(
            "SELECT count(*) FROM accounts WHERE role = ? AND disabled = 0", [Role.ADMIN.value]
        ).fetchone()
        return int(row[0])

    def _row(self, user: str) -> dict[str, Any] | None:
        rows = list(self._db.table("accounts").rows_where("user = ?", [user]))
        return rows[0] if rows else None

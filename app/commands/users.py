"""`vigil users add|list|disable|role`: Vigil's accounts from the command line.

Allowed to admins, and to anyone while the instance is in setup mode (no admin account
yet: that is how the first admin is made). Anyone else is refused with exit 4 and a REFUSED
custody entry. A password is read from stdin's first line with `--password-stdin`, never
from the command line (where `ps` and the shell's history would show it); it is required
when the config's `[access] sign_in = "vigil"`, since such an account could not otherwise
sign in. Bad input (a taken or malformed name, a short password, a role that is none)
exits 2; an unknown account, or disabling or demoting the last active admin, exits 1.

`role NAME ROLE` exists because one role never fits a person for good, and because an admin
may not watch the wall: whoever made themselves the first admin, as setup mode suggests,
can give that account another role once a second admin exists, rather than be stuck.
Making the first admin says so, and names the supervisor role for the person at the wall.
"""

from __future__ import annotations

import argparse
import json
import sys

from app import config as config_module
from app.access import (
    AccountBook,
    AccountError,
    LastAdminError,
    Permission,
    Role,
    UnknownAccountError,
    check_command,
    who_is_here,
)
from app.config import SignIn
from app.database import open_database
from app.evidence import CustodyLog, utc_text
from app.paths import BaseDir

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def add_users_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """`vigil users ACTION`: add, list, disable, role."""
    roles = [role.value for role in Role]
    users = commands.add_parser(
        "users",
        help="accounts and roles: add, list, disable, role (admins, or anyone in setup mode)",
        description="Accounts and roles. Allowed to admins, and to anyone until an admin "
        "account exists (setup mode); otherwise refused with exit status 4.",
    )
    actions = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", parents=[common], help="add an account")
    add.add_argument("user", metavar="NAME", help="the user name (the OS user's, for OS sign-in)")
    add.add_argument("--role", required=True, choices=roles, help="what they may do")
    add.add_argument("--display", metavar="TEXT", help="the name shown in the window")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read a password from stdin's first line (required with sign_in = vigil)",
    )
    listing = actions.add_parser("list", parents=[common], help="every account, oldest first")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    disable = actions.add_parser(
        "disable", parents=[common], help="disable an account (accounts are never removed)"
    )
    disable.add_argument("user", metavar="NAME")
    disable.add_argument("--reason", metavar="TEXT", help="why, for the custody log")
    role = actions.add_parser(
        "role",
        parents=[common],
        help="change an account's role (logged; the last active admin is kept)",
        description="Give an account another role: one of " + ", ".join(roles) + ". The "
        "change is a custody entry; the last active admin cannot be made anything else.",
    )
    role.add_argument("user", metavar="NAME")
    role.add_argument("role", metavar="ROLE", choices=roles, help=" | ".join(roles))


def users_command(args: argparse.Namespace) -> int:
    config = config_module.read(args.config)
    base = BaseDir.resolve(args.base_dir)
    check_command(base, Permission.MANAGE_USERS, f"vigil users {args.users_command}")
    password = None
    if getattr(args, "password_stdin", False):
        password = sys.stdin.readline().rstrip("\r\n")
    base.ensure()
    db = open_database(base.database)
    try:
        book = AccountBook(db, CustodyLog(db))
        me = who_is_here(book)
        if args.users_command == "list":
            return _list(book, as_json=args.json)
        if args.users_command == "disable":
            try:
                account = book.disable(args.user, by=me.user, reason=args.reason)
            except (UnknownAccountError, LastAdminError) as exc:
                print(f"vigil: {exc}", file=sys.stderr)
                return EXIT_FAILED
            print(f"{account.user} disabled")
            return 0
        if args.users_command == "role":
            return _change_role(book, args.user, Role(args.role), by=me.user)
        vigil_sign_in = config is not None and config.access.sign_in is SignIn.VIGIL
        if vigil_sign_in and password is None:
            print(
                'vigil: [access] sign_in = "vigil" needs a password: give one on stdin with '
                "--password-stdin",
                file=sys.stderr,
            )
            return EXIT_BAD_INPUT
        was_setup = me.setup_mode
        try:
            account = book.add(
                args.user, Role(args.role), by=me.user, display=args.display, password=password
            )
        except AccountError as exc:
            print(f"vigil: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"{account.user} added: {account.role.value}")
        if was_setup and book.has_admin():
            after = who_is_here(book)
            now = after.problem or f"you are {after.label}"
            print(f"setup mode has ended; {now}", file=sys.stderr)
            print(f"vigil: {ADMIN_MAY_NOT_WATCH}", file=sys.stderr)
        return 0
    finally:
        db.close()


ADMIN_MAY_NOT_WATCH = (
    "an admin manages accounts and the config but may not watch the wall; for the person "
    "at the wall: vigil users add NAME --role supervisor (or, with a second admin, "
    "vigil users role NAME supervisor)"
)
"""Said once the first admin exists, so the person who made it is not left wondering why
the wall went dark."""


def _change_role(book: AccountBook, user: str, role: Role, *, by: str) -> int:
    before = book.get(user)
    try:
        account = book.change_role(user, role, by=by)
    except (UnknownAccountError, LastAdminError) as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if before is not None and before.role is role:
        print(f"{account.user} is already {role.value}; nothing changed")
        return 0
    assert before is not None
    print(f"{account.user}: {before.role.value} -> {account.role.value}")
    if account.role is Role.ADMIN:
        print(f"vigil: {ADMIN_MAY_NOT_WATCH}", file=sys.stderr)
    return 0


def _list(book: AccountBook, *, as_json: bool) -> int:
    accounts = book.all()
    if as_json:
        print(json.dumps([a.public() for a in accounts], indent=2, ensure_ascii=False))
        return 0
    for account in accounts:
        state = "disabled" if account.disabled else "active"
        password = "password" if account.has_password else "os sign-in"
        print(
            f"{account.user:20}  {account.role.value:10}  {state:8}  {password:10}  "
            f"{account.display}  (added {utc_text(account.created_at)[:19]}Z by "
            f"{account.created_by})"
        )
    if not accounts:
        print("no accounts: setup mode (the computer's user has every right)")
    return 0

"""Every permission boundary on the command line, both ways, run as the real `vigil`.

The command line always acts as the operating-system user, which a test cannot change.
So each role gets a base dir of its own in which the OS user running the tests
(getpass.getuser()) holds an account with that role, beside an admin account of another
name, so the instance is out of setup mode. There is no override of the identity by
environment or argument: such a hole would let anyone be anyone.

A refused command exits 4, names the permission on stderr and leaves a REFUSED custody
entry; an allowed one does not exit 4 and leaves none (some allowed commands still fail for
their own reasons, such as an export with no recording, which is not what is tested here).
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest

from app.access.accounts import AccountBook
from app.access.roles import Permission, Role, may
from app.database import open_database
from app.evidence.clips import ClipBook
from app.evidence.custody import CustodyAction, CustodyLog
from app.paths import BaseDir
from tests.e2e.harness import vigil

ME = getpass.getuser()
NOT_PERMITTED = 4


def make_base(root: Path, role: Role | None, *, disabled: bool = False) -> Path:
    """A base dir with an admin named "chief" and, for `role`, an account for the OS user;
    a clip of CAM-1 to lock and export."""
    base = BaseDir(root).ensure()
    db = open_database(base.database)
    try:
        custody = CustodyLog(db)
        book = AccountBook(db, custody)
        book.add("chief", Role.ADMIN, by="test", display="Chief Admin")
        if role is not None:
            book.add(ME, role, by="chief")
            if disabled:
                book.add("chief2", Role.ADMIN, by="chief")  # so ME may be disabled if admin
                book.disable(ME, by="chief", reason="left the force")
        ClipBook(db, custody).tag("CAM-1", 1_700_000_000.0, 1_700_000_010.0, tags="test")
    finally:
        db.close()
    return root


def clip_id(base: Path) -> str:
    db = open_database(BaseDir(base).database)
    try:
        return str(next(iter(db.table("clips").rows))["id"])
    finally:
        db.close()


def refusals(base: Path) -> list[dict[str, object]]:
    db = open_database(BaseDir(base).database)
    try:
        return [
            {"actor": e.actor, "subject": e.subject, **e.details_dict}
            for e in CustodyLog(db).entries()
            if e.action == CustodyAction.REFUSED
        ]
    finally:
        db.close()


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[Role, Path]:
    return {role: make_base(tmp_path_factory.mktemp(role.value), role) for role in Role}


COMMANDS: list[tuple[str, Permission, list[str]]] = [
    ("evidence tag", Permission.TAG, ["evidence", "tag", "--feed", "CAM-1", "--last", "5"]),
    ("evidence list", Permission.REVIEW, ["evidence", "list", "--json"]),
    ("evidence lock", Permission.LOCK, ["evidence", "lock", "CLIP", "--reason", "case 7"]),
    ("evidence export", Permission.EXPORT, ["evidence", "export", "CLIP", "--out", "OUT"]),
    ("audit verify", Permission.REVIEW, ["audit", "verify"]),
    (
        "link create",
        Permission.INVITE_CALLERS,
        ["link", "create", "--name", "Ann Caller", "--config", "GATEWAY"],
    ),
    ("link list", Permission.INVITE_CALLERS, ["link", "list"]),
    ("users list", Permission.MANAGE_USERS, ["users", "list"]),
    ("users add", Permission.MANAGE_USERS, ["users", "add", "NEW", "--role", "operator"]),
    ("users role", Permission.MANAGE_USERS, ["users", "role", "chief", "admin"]),
]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_each_command_is_allowed_exactly_to_the_roles_holding_its_permission(
    bases: dict[Role, Path],
    tmp_path: Path,
    role: Role,
    command: tuple[str, Permission, list[str]],
) -> None:
    """In: the OS user holds an account with `role`; the command needing `permission` is
    run. Out: when the role holds it, no exit 4 and no new REFUSED entry (and exit 0 for
    the commands that need nothing more); when not, exit 4, stderr naming the permission
    and the role, and one new REFUSED entry with the OS user as actor, the permission, the
    request and "command line"."""
    name, permission, argv = command
    base = bases[role]
    gateway = tmp_path / "gateway.toml"
    gateway.write_text('[gateway]\npublic_url = "https://vigil.example:8443"\n')
    swaps = {
        "CLIP": clip_id(base),
        "OUT": str(tmp_path / "bundle"),
        "NEW": f"new-{role}",
        "GATEWAY": str(gateway),
    }
    before = len(refusals(base))

    result = vigil(*[swaps.get(a, a) for a in argv], "--base-dir", base)

    after = refusals(base)
    if may(role, permission):
        assert result.returncode != NOT_PERMITTED, result.stderr
        assert len(after) == before
        if name not in ("evidence export", "evidence tag"):  # no recording / no such feed
            assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == NOT_PERMITTED, (result.stdout, result.stderr)
        assert f"the {permission.value} permission" in result.stderr
        assert f"{ME} ({role.value}) may not {permission.text}" in result.stderr
        assert len(after) == before + 1
        entry = after[-1]
        assert entry["actor"] == ME
        assert entry["permission"] == permission.value
        assert entry["request"] == f"vigil {name}"
        assert entry["via"] == "command line"
        assert entry["role"] == role.value


def test_setup_mode_allows_everything_and_users_add_ends_it(tmp_path: Path) -> None:
    """In: a fresh base dir (no accounts). Out: `evidence list`, `users list` and `link
    list` exit 0 (setup mode); `users add chief --role admin` exits 0 and says setup mode
    has ended; then the OS user, holding no account, is refused `evidence list` with exit 4
    and a message saying it has no Vigil account."""
    base = tmp_path / "base"
    for argv in (["evidence", "list"], ["users", "list"], ["link", "list"]):
        result = vigil(*argv, "--base-dir", base)
        assert result.returncode == 0, result.stderr
    assert "setup mode" in vigil("users", "list", "--base-dir", base).stdout

    added = vigil("users", "add", "chief", "--role", "admin", "--base-dir", base)
    assert added.returncode == 0, added.stderr
    assert "chief added: admin" in added.stdout
    assert "setup mode has ended" in added.stderr

    refused = vigil("evidence", "list", "--base-dir", base)
    assert refused.returncode == NOT_PERMITTED
    assert f"{ME} has no Vigil account" in refused.stderr


def test_a_disabled_account_holds_no_rights(tmp_path: Path) -> None:
    """In: the OS user's forensic account, disabled. Out: `evidence list` exits 4 saying
    the account is disabled; a REFUSED entry with role null and how "nobody"."""
    base = make_base(tmp_path / "base", Role.FORENSIC, disabled=True)

    result = vigil("evidence", "list", "--base-dir", base)

    assert result.returncode == NOT_PERMITTED
    assert "account is disabled" in result.stderr
    entry = refusals(base)[-1]
    assert (entry["role"], entry["how"]) == (None, "nobody")


def test_evidence_verify_is_open_to_anyone(tmp_path: Path) -> None:
    """In: an OS user with no account runs `evidence verify` on a folder that is no bundle.
    Out: exit 1 with the failed check ("not an evidence bundle"), never 4: a court's expert
    verifies with no account."""
    base = make_base(tmp_path / "base", None)
    (tmp_path / "empty").mkdir()

    result = vigil("evidence", "verify", tmp_path / "empty", "--base-dir", base)

    assert result.returncode == 1, result.stderr
    assert "FAILED: not an evidence bundle: no manifest.json" in result.stdout


def test_users_add_list_disable_as_admin(tmp_path: Path) -> None:
    """In: the OS user is an admin. Out: `users add jo --role forensic --display "Jo Bloggs"
    --password-stdin` with a password on stdin exits 0; `users list --json` shows jo,
    forensic, with a password, active, added by the OS user, and no hash anywhere;
    `users disable jo --reason moved` exits 0 and the list shows jo disabled by the OS
    user; a taken name exits 2, a short password exits 2, an unknown account exits 1; the
    custody log holds account_added and account_disabled for jo with the OS user as actor."""
    base = make_base(tmp_path / "base", Role.ADMIN)
    add = ["users", "add", "jo", "--role", "forensic", "--display", "Jo Bloggs"]

    added = vigil(*add, "--password-stdin", "--base-dir", base, stdin="correct horse\n")
    assert added.returncode == 0, added.stderr

    listed = vigil("users", "list", "--json", "--base-dir", base)
    assert listed.returncode == 0, listed.stderr
    assert "scrypt" not in listed.stdout
    jo = {a["user"]: a for a in json.loads(listed.stdout)}["jo"]
    assert (jo["role"], jo["display"], jo["password"], jo["disabled"], jo["created_by"]) == (
        "forensic",
        "Jo Bloggs",
        True,
        False,
        ME,
    )

    disabled = vigil("users", "disable", "jo", "--reason", "moved", "--base-dir", base)
    assert disabled.returncode == 0, disabled.stderr
    jo = {
        a["user"]: a
        for a in json.loads(vigil("users", "list", "--json", "--base-dir", base).stdout)
    }["jo"]
    assert (jo["disabled"], jo["disabled_by"], jo["disabled_reason"]) == (True, ME, "moved")

    assert vigil(*add, "--base-dir", base).returncode == 2
    short = vigil(
        *["users", "add", "kim", "--role", "operator", "--password-stdin"],
        "--base-dir",
        base,
        stdin="abc\n",
    )
    assert short.returncode == 2
    assert "at least 8 characters" in short.stderr
    assert vigil("users", "disable", "nobody", "--base-dir", base).returncode == 1

    db = open_database(BaseDir(base).database)
    try:
        actions = [(e.action, e.actor) for e in CustodyLog(db).entries("jo")]
    finally:
        db.close()
    assert actions == [("account_added", ME), ("account_disabled", ME)]


def test_vigil_sign_in_needs_a_password_for_new_accounts(tmp_path: Path) -> None:
    """In: a config with [access] sign_in = "vigil"; `users add kim --role operator` with
    no --password-stdin, in setup mode. Out: exit 2 naming --password-stdin; no account."""
    config = tmp_path / "vigil.toml"
    config.write_text('[access]\nsign_in = "vigil"\n')
    base = tmp_path / "base"

    result = vigil(
        "users", "add", "kim", "--role", "operator", "--config", config, "--base-dir", base
    )

    assert result.returncode == 2
    assert "--password-stdin" in result.stderr
    assert "kim" not in vigil("users", "list", "--base-dir", base).stdout


def roles_of(base: Path) -> dict[str, str]:
    listed = vigil("users", "list", "--json", "--base-dir", base)
    assert listed.returncode == 0, listed.stderr
    return {a["user"]: a["role"] for a in json.loads(listed.stdout)}


def test_users_role_changes_a_role_and_keeps_an_admin(tmp_path: Path) -> None:
    """In: the OS user is an admin beside "chief" (admin); `users role jo supervisor` for an
    operator jo; `users role jo supervisor` again; `users role jo pilot`; `users role nobody
    operator`; chief demoted to operator; then the OS user, now the last active admin,
    asks to become a supervisor.
    Out: exit 0 and "jo: operator -> supervisor", the list shows it, one
    account_role_changed entry (operator to supervisor, actor the OS user); again: exit 0,
    "already supervisor", no new entry; an unknown role exits 2 naming the roles; an unknown
    account exits 1 ("no account named 'nobody'"); chief becomes an operator; the last admin
    is refused with exit 1 and a message naming the last active admin and how to make
    another, and stays admin."""
    base = make_base(tmp_path / "base", Role.ADMIN)
    assert vigil("users", "add", "jo", "--role", "operator", "--base-dir", base).returncode == 0

    changed = vigil("users", "role", "jo", "supervisor", "--base-dir", base)
    assert changed.returncode == 0, changed.stderr
    assert "jo: operator -> supervisor" in changed.stdout
    assert roles_of(base)["jo"] == "supervisor"
    again = vigil("users", "role", "jo", "supervisor", "--base-dir", base)
    assert (again.returncode, again.stdout.strip()) == (
        0,
        "jo is already supervisor; nothing changed",
    )

    bad_role = vigil("users", "role", "jo", "pilot", "--base-dir", base)
    assert bad_role.returncode == 2
    assert "invalid choice: 'pilot'" in bad_role.stderr
    assert "operator, supervisor, forensic, admin" in bad_role.stderr.replace("'", "")
    nobody = vigil("users", "role", "nobody", "operator", "--base-dir", base)
    assert nobody.returncode == 1
    assert "no account named 'nobody'" in nobody.stderr

    assert vigil("users", "role", "chief", "operator", "--base-dir", base).returncode == 0
    last = vigil("users", "role", ME, "supervisor", "--base-dir", base)
    assert last.returncode == 1
    assert f"'{ME}' is the last active admin" in last.stderr
    assert "--role admin" in last.stderr
    assert "Traceback" not in last.stderr
    assert roles_of(base)[ME] == "admin"

    db = open_database(BaseDir(base).database)
    try:
        jo = [(e.action, e.actor, e.details_dict) for e in CustodyLog(db).entries("jo")]
        assert CustodyLog(db).verify() is None
    finally:
        db.close()
    assert jo[1:] == [
        (CustodyAction.ACCOUNT_ROLE_CHANGED, ME, {"from": "operator", "to": "supervisor"})
    ]


def test_the_first_admin_path_does_not_lock_the_only_user_out(tmp_path: Path) -> None:
    """In: a fresh base dir; a lone user does what the old banner said, `users add ME
    --role admin`, then `link list` (an operator's command); then the way back the messages
    name: `users add helper --role admin`, `users role ME supervisor`.
    Out: adding the first admin says setup mode has ended and that an admin may not watch
    the wall, naming `vigil users add NAME --role supervisor`; as admin ME is refused `link
    list` (exit 4); after the way back ME is a supervisor who may (exit 0) and may no longer
    manage accounts (exit 4), and helper is the admin."""
    base = tmp_path / "base"
    first = vigil("users", "add", ME, "--role", "admin", "--base-dir", base)
    assert first.returncode == 0, first.stderr
    assert "setup mode has ended" in first.stderr
    assert "may not watch the wall" in first.stderr
    assert "vigil users add NAME --role supervisor" in first.stderr
    assert vigil("link", "list", "--base-dir", base).returncode == NOT_PERMITTED

    assert vigil("users", "add", "helper", "--role", "admin", "--base-dir", base).returncode == 0
    back = vigil("users", "role", ME, "supervisor", "--base-dir", base)
    assert back.returncode == 0, back.stderr

    assert vigil("link", "list", "--base-dir", base).returncode == 0
    assert vigil("users", "list", "--base-dir", base).returncode == NOT_PERMITTED
    db = open_database(BaseDir(base).database)
    try:
        accounts = {a.user: a.role for a in AccountBook(db, CustodyLog(db)).all()}
    finally:
        db.close()
    assert accounts == {ME: Role.SUPERVISOR, "helper": Role.ADMIN}

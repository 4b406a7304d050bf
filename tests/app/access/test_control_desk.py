"""The control desk checks each control-socket request against the asker's role.

A real ControlServer with a ControlDesk as its handler, on a loop in a thread, and real
SQLite accounts: the asker is this test process, so each test gives the OS user (as the
kernel names it to the socket) an account with the role under test, beside an admin named
"chief" so the base dir is out of setup mode, as tests/e2e/test_access_cli.py does.
"""

from __future__ import annotations

import os
import pwd
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.access.accounts import AccountBook
from app.access.control_desk import Command, ControlDesk
from app.access.person import How, Person
from app.access.roles import Permission, Role
from app.control import request
from app.database import open_database
from app.evidence.custody import CustodyAction, CustodyLog
from app.paths import BaseDir
from tests.app.test_control import serve_in_thread, stop

ME = pwd.getpwuid(os.getuid()).pw_name
"""Who the socket says this process is: the name of its uid, not $USER."""


def make_accounts(base: BaseDir, role: Role | None, *, disabled: bool = False) -> None:
    """An admin "chief" and, for `role`, an account for ME (disabled if asked)."""
    db = open_database(base.database)
    try:
        book = AccountBook(db, CustodyLog(db))
        book.add("chief", Role.ADMIN, by="test")
        if role is not None:
            book.add(ME, role, by="chief")
            if disabled:
                book.disable(ME, by="chief", reason="left the force")
    finally:
        db.close()


def refusals(base: BaseDir) -> list[dict[str, Any]]:
    db = open_database(base.database)
    try:
        return [
            {"actor": e.actor, "subject": e.subject, **e.details_dict}
            for e in CustodyLog(db).entries()
            if e.action == CustodyAction.REFUSED
        ]
    finally:
        db.close()


@dataclass
class Recorder:
    """A command's `run` that records what it was given and on which thread."""

    answer: dict[str, Any] = field(default_factory=lambda: {"said": "done it"})
    calls: list[tuple[dict[str, Any], Person]] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def __call__(self, req: dict[str, Any], person: Person) -> dict[str, Any]:
        self.calls.append((req, person))
        self.threads.append(threading.current_thread())
        return self.answer


def refuse_it(req: dict[str, Any], person: Person) -> dict[str, Any]:
    raise ValueError(f"no preset named {req.get('name')!r}")


@dataclass
class Desk:
    base: BaseDir
    desk: ControlDesk
    layout: Recorder
    status: Recorder
    server_thread: threading.Thread

    def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        return request(self.base.control_socket, message)


@pytest.fixture
def desk(short_tmp: Path) -> Iterator[Desk]:
    base = BaseDir(short_tmp / "base").ensure()
    control = ControlDesk(base.database)
    layout, status = Recorder(), Recorder({"feeds": []})
    control.add("wall-send", Command(Permission.MANAGE_LAYOUTS, "vigil wall send", layout))
    control.add("status", Command(None, "vigil status", status))
    control.add("wall-preset", Command(Permission.MANAGE_LAYOUTS, "vigil wall preset", refuse_it))
    loop, server, thread = serve_in_thread(base.control_socket, control.handle)
    try:
        yield Desk(base, control, layout, status, thread)
    finally:
        stop(loop, server, thread)


def test_an_operator_is_refused_and_the_refusal_is_logged(desk: Desk) -> None:
    """In: ME is an operator; asks wall-send of CAM-1 (needs manage_layouts). Out: a
    refused answer naming the permission; `run` never called; one REFUSED custody entry
    with ME as actor, CAM-1 as subject, the permission, the request and "control socket"."""
    make_accounts(desk.base, Role.OPERATOR)

    answer = desk.ask({"cmd": "wall-send", "feed": "CAM-1", "screen": 2})

    assert answer["refused"] is True
    assert answer["permission"] == "manage_layouts"
    assert f"{ME} (operator) may not manage layouts and presets" in answer["error"]
    assert desk.layout.calls == []
    [entry] = refusals(desk.base)
    assert entry["actor"] == ME
    assert entry["subject"] == "CAM-1"
    assert entry["permission"] == "manage_layouts"
    assert entry["request"] == "vigil wall send"
    assert entry["via"] == "control socket"
    assert entry["role"] == "operator"


def test_a_supervisor_is_allowed_and_run_gets_the_request_and_person(desk: Desk) -> None:
    """In: ME is a supervisor. Out: the command's answer; `run` called once, on the loop's
    thread, with the request and ME's person (supervisor, by OS); no REFUSED entry."""
    make_accounts(desk.base, Role.SUPERVISOR)
    message = {"cmd": "wall-send", "feed": "CAM-1", "screen": 2}

    assert desk.ask(message) == {"said": "done it"}

    [(req, person)] = desk.layout.calls
    assert req == message
    assert (person.user, person.role, person.how) == (ME, Role.SUPERVISOR, How.OS)
    assert desk.layout.threads == [desk.server_thread]
    assert refusals(desk.base) == []


def test_setup_mode_allows_everything(desk: Desk) -> None:
    """In: no database file at all, then a database with an operator account for ME and
    no admin. Out: both times allowed, ME in setup mode; the first leaves no database."""
    assert desk.ask({"cmd": "wall-send", "feed": "CAM-1", "screen": 1}) == {"said": "done it"}
    assert not desk.base.database.exists()

    db = open_database(desk.base.database)
    try:
        AccountBook(db, CustodyLog(db)).add(ME, Role.OPERATOR, by="test")
    finally:
        db.close()
    assert desk.ask({"cmd": "wall-send", "feed": "CAM-1", "screen": 1}) == {"said": "done it"}

    assert [person.how for _, person in desk.layout.calls] == [How.SETUP, How.SETUP]
    assert refusals(desk.base) == []


def test_a_disabled_account_is_refused(desk: Desk) -> None:
    """In: ME's supervisor account, disabled. Out: refused, saying the account is
    disabled; a REFUSED entry with no role and how "nobody"; `run` never called."""
    make_accounts(desk.base, Role.SUPERVISOR, disabled=True)

    answer = desk.ask({"cmd": "wall-send", "feed": "CAM-1", "screen": 1})

    assert answer["refused"] is True
    assert "account is disabled" in answer["error"]
    assert desk.layout.calls == []
    entry = refusals(desk.base)[-1]
    assert (entry["role"], entry["how"], entry["via"]) == (None, "nobody", "control socket")


def test_no_account_at_all_is_refused(desk: Desk) -> None:
    """In: accounts exist (an admin) but none for ME. Out: refused, saying ME has no
    Vigil account; the subject is the request when no feed is named."""
    make_accounts(desk.base, None)

    answer = desk.ask({"cmd": "wall-send", "screen": 1})

    assert answer["refused"] is True
    assert f"{ME} has no Vigil account" in answer["error"]
    assert refusals(desk.base)[-1]["subject"] == "vigil wall send"


def test_a_command_with_no_permission_never_touches_the_database(desk: Desk) -> None:
    """In: no database file; status (permission None). Out: answered, `run` given ME
    unlooked-up; still no database file."""
    assert desk.ask({"cmd": "status"}) == {"feeds": []}
    [(_, person)] = desk.status.calls
    assert person.user == ME
    assert not desk.base.database.exists()


def test_an_unknown_command_lists_the_known_ones(desk: Desk) -> None:
    """In: cmd "dance", then a request with no cmd. Out: errors naming each known command."""
    answer = desk.ask({"cmd": "dance"})
    assert answer == {"error": "unknown command 'dance'; known: status, wall-preset, wall-send"}
    assert "known: status" in desk.ask({"feed": "CAM-1"})["error"]
    assert desk.desk.names == ["status", "wall-preset", "wall-send"]


def test_a_bad_request_answers_an_error_and_the_server_lives_on(desk: Desk) -> None:
    """In: ME is a supervisor; wall-preset's run raises ValueError. Out: {"error": its
    message}, not refused; the next request is answered."""
    make_accounts(desk.base, Role.SUPERVISOR)

    assert desk.ask({"cmd": "wall-preset", "name": "Nope"}) == {"error": "no preset named 'Nope'"}
    assert desk.ask({"cmd": "status"}) == {"feeds": []}


def test_a_command_name_is_added_once(short_tmp: Path) -> None:
    control = ControlDesk(short_tmp / "vigil.db")
    control.add("status", Command(None, "vigil status", Recorder()))
    with pytest.raises(ValueError, match="already"):
        control.add("status", Command(None, "vigil status", Recorder()))

"""Issue 6's "Done means", run as the real `vigil`: a supervisor signs in, opens a body cam
with a reason, the custody log shows it, and an operator cannot open it; the wall spans two
screens with different layouts.

Each test starts one demo instance (`vigil run --demo`) whose config says only
`[wall] screens = "all"`, on the harness's two virtual screens WALL-1 and WALL-2, and drives
it with `vigil wall ...` from the command line, as a supervisor at a terminal does. The
command line (and the control socket) always acts as the operating-system user, so each
test's base dir gives that user the role under test, beside an admin named "chief" so the
instance is out of setup mode. The custody log is read straight from the base dir's
database after the instance has written it.
"""

from __future__ import annotations

import getpass
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.access.accounts import AccountBook
from app.access.bodycam import REASONS
from app.access.roles import Permission, Role
from app.database import open_database
from app.evidence.custody import CustodyAction, CustodyEntry, CustodyLog
from app.paths import BaseDir
from tests.e2e.harness import RunningVigil, vigil

ME = getpass.getuser()
NOT_PERMITTED = 4
FAILED = 1
BODYCAM = "BWV-4521"
"""A demo body cam: opened in the supervisor's test."""
NEVER_OPENED = "BWV-4533"
"""A demo body cam nobody opens: shuttered, so never viewed."""
REASON = REASONS[1]  # "Officer asked for support"
INCIDENT = "INC-0412"
WATCHED = 0.3
"""Seconds the test keeps the body cam open: its view_closed says at least this."""


def make_base(root: Path, role: Role) -> tuple[Path, Path]:
    """A base dir with an admin "chief" and the OS user holding `role`, and a config that
    says only that the wall spans every screen. Returns (base dir, config file)."""
    base = BaseDir(root / "base").ensure()
    db = open_database(base.database)
    try:
        book = AccountBook(db, CustodyLog(db))
        book.add("chief", Role.ADMIN, by="test", display="Chief Admin")
        book.add(ME, role, by="chief")
    finally:
        db.close()
    config = root / "vigil.toml"
    config.write_text('[wall]\nscreens = "all"\n')
    return base.root, config


def entries(base: Path, subject: str | None = None) -> list[CustodyEntry]:
    """The custody log as the instance has written it so far (WAL: read beside it)."""
    db = open_database(BaseDir(base).database)
    try:
        return CustodyLog(db).entries(subject)
    finally:
        db.close()


def wait_for_entry(
    base: Path, subject: str, check: Callable[[CustodyEntry], bool], timeout: float = 30
) -> CustodyEntry:
    """The first custody entry about `subject` for which `check` holds, waiting for the
    instance's viewing writer (a thread of its own) to put it there."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in entries(base, subject) if check(e)]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            seen = [(e.action, e.actor, e.details_dict) for e in entries(base, subject)]
            raise AssertionError(f"no such custody entry about {subject}; there are: {seen}")
        time.sleep(0.2)


def actions(base: Path, subject: str) -> list[str]:
    return [e.action for e in entries(base, subject)]


def wall(base: Path, *args: str) -> Any:
    """`vigil wall ARGS --base-dir BASE`, which must exit 0."""
    result = vigil("wall", *args, "--base-dir", base, timeout=30)
    assert result.returncode == 0, (args, result.returncode, result.stdout, result.stderr)
    return result


def shown(base: Path) -> dict[str, Any]:
    """`vigil wall show --json`, parsed."""
    answer: dict[str, Any] = json.loads(wall(base, "show", "--json").stdout)
    return answer


def layouts(answer: dict[str, Any]) -> list[str]:
    return [screen["layout"] for screen in answer["screens"]]


@pytest.fixture
def start(short_tmp: Path) -> Iterator[Callable[[Role], RunningVigil]]:
    """A factory: `start(role)` makes a base dir for `role` and starts the demo wall on it,
    waiting until all nine feeds are live. The test must stop it (and check the exit);
    one left running is stopped here."""
    running: list[RunningVigil] = []

    def starter(role: Role) -> RunningVigil:
        base, config = make_base(short_tmp / role.value, role)
        instance = RunningVigil(base, ["--demo", "--config", config])
        running.append(instance)
        instance.wait_for(
            lambda s: len(s["feeds"]) == 9 and all(f["state"] == "live" for f in s["feeds"]),
            timeout=40,
        )
        return instance

    yield starter
    for instance in running:
        if instance.process.poll() is None:
            instance.stop()


def assert_stopped_cleanly(instance: RunningVigil) -> None:
    code, _, err = instance.stop()
    assert code == 0, err
    log = (instance.base_dir / "logs" / "vigil.log").read_text()
    assert "Traceback" not in log, log


def test_a_supervisor_spans_two_screens_and_opens_a_body_cam_for_a_reason(
    start: Callable[[Role], RunningVigil],
) -> None:
    """In: the OS user is a supervisor; the demo wall spans every screen (two virtual ones).

    Out:
    - `wall show --json` names two screens, WALL-1 and WALL-2, no presets yet;
    - a drone sent to screen 2, screen 2 set to 1x1 and screen 1 to 3x3, saved as "Night":
      show says 3x3 / 1x1, screen 2 holds exactly the drone, presets ["Night"], current
      "Night"; after other layouts, `wall preset Night` brings 3x3 / 1x1 back;
    - `wall open BWV-4521 --reason <listed> --incident INC-0412 --detail "officer asked"`
      exits 0 and the custody log gets a view_opened of it by the OS user with that reason,
      incident and detail; `wall close`, WATCHED s after the opening was logged, gives a
      view_closed with the same reason and seconds from WATCHED up to the time from
      `wall open` being asked to `wall close` answering;
    - a body cam never opened has no view_opened at all; a drone and a caller have one;
    - SIGTERM stops the instance with exit 0 and no traceback in its log."""
    instance = start(Role.SUPERVISOR)
    base = instance.base_dir
    status = json.loads(instance.status().stdout)
    drone = next(f["name"] for f in status["feeds"] if f["kind"] == "drone")
    caller = next(f["name"] for f in status["feeds"] if f["kind"] == "caller")

    first = shown(base)
    assert [(s["index"], s["name"]) for s in first["screens"]] == [(1, "WALL-1"), (2, "WALL-2")]
    assert sorted(f for s in first["screens"] for f in s["feeds"]) == sorted(
        f["name"] for f in status["feeds"]
    ), "every feed is on exactly one screen"

    wall(base, "send", drone, "--screen", "2")
    wall(base, "layout", "1x1", "--screen", "2")
    wall(base, "layout", "3x3", "--screen", "1")
    saved = wall(base, "save", "Night")
    assert "Night" in saved.stdout

    night = shown(base)
    assert layouts(night) == ["3x3", "1x1"]
    assert night["screens"][1]["feeds"] == [drone]
    assert drone not in night["screens"][0]["feeds"]
    assert len(night["screens"][0]["feeds"]) == 8
    assert (night["presets"], night["current_preset"]) == (["Night"], "Night")

    wall(base, "layout", "2x2", "--screen", "1")
    wall(base, "layout", "auto", "--screen", "2")
    changed = shown(base)
    assert layouts(changed) == ["2x2", "auto"]
    assert changed["current_preset"] is None, "a changed layout is no longer the preset"
    wall(base, "preset", "Night")
    restored = shown(base)
    assert layouts(restored) == ["3x3", "1x1"]
    assert restored["screens"][1]["feeds"] == [drone]
    assert restored["current_preset"] == "Night"

    # The body cam: shuttered until opened, then opened for a stated reason.
    assert CustodyAction.VIEW_OPENED not in actions(base, BODYCAM), "opened before asked"
    open_asked = time.monotonic()
    opened = wall(
        base,
        "open",
        BODYCAM,
        "--reason",
        REASON,
        "--incident",
        INCIDENT,
        "--detail",
        "officer asked",
    )
    assert BODYCAM in opened.stdout
    entry = wait_for_entry(base, BODYCAM, lambda e: e.action == CustodyAction.VIEW_OPENED)
    assert entry.actor == ME
    details = entry.details_dict
    assert (details["reason"], details["incident"], details["detail"]) == (
        REASON,
        INCIDENT,
        "officer asked",
    )
    assert details["kind"] == "bodycam"

    # Watched for at least WATCHED s: the opening was logged before the sleep, the closing
    # asked for after it; and for no longer than from before `wall open` to after `close`.
    time.sleep(WATCHED)
    closed = wall(base, "close", BODYCAM)
    watched_at_most = time.monotonic() - open_asked
    assert BODYCAM in closed.stdout
    entry = wait_for_entry(base, BODYCAM, lambda e: e.action == CustodyAction.VIEW_CLOSED)
    assert entry.actor == ME
    details = entry.details_dict
    assert WATCHED <= details["seconds"] <= round(watched_at_most, 1) + 0.1
    assert (details["reason"], details["incident"]) == (REASON, INCIDENT)
    assert actions(base, BODYCAM).count(CustodyAction.VIEW_OPENED) == 1

    # Shuttered means never viewed; the other kinds are viewed as soon as they are shown.
    for feed in (drone, caller):
        wait_for_entry(base, feed, lambda e: e.action == CustodyAction.VIEW_OPENED)
    assert CustodyAction.VIEW_OPENED not in actions(base, NEVER_OPENED)

    assert_stopped_cleanly(instance)
    assert CustodyAction.VIEW_OPENED not in actions(base, NEVER_OPENED)
    assert actions(base, BODYCAM).count(CustodyAction.VIEW_OPENED) == 1


def test_an_operator_may_watch_the_wall_but_not_open_body_cams_or_change_it(
    start: Callable[[Role], RunningVigil],
) -> None:
    """In: the OS user is an operator; the same two-screen demo wall.

    Out:
    - `wall show` exits 0 (an operator may watch feeds) and names both screens;
    - `wall open BWV-4521 --reason <listed> --incident INC-0412` exits 4 naming the
      open_bodycams permission; `wall preset Night` and `wall layout 3x3` exit 4 naming
      manage_layouts; the wall is unchanged;
    - the custody log holds a REFUSED entry for each, by the OS user as operator, via
      "control socket", and no view_opened of the body cam, before or after the stop;
    - the instance stops cleanly."""
    instance = start(Role.OPERATOR)
    base = instance.base_dir

    table = wall(base, "show")
    assert "WALL-1" in table.stdout
    assert "WALL-2" in table.stdout
    before = shown(base)

    attempts = [
        (["open", BODYCAM, "--reason", REASON, "--incident", INCIDENT], Permission.OPEN_BODYCAMS),
        (["preset", "Night"], Permission.MANAGE_LAYOUTS),
        (["layout", "3x3", "--screen", "2"], Permission.MANAGE_LAYOUTS),
        (["send", BODYCAM, "--screen", "2"], Permission.MANAGE_LAYOUTS),
    ]
    for argv, permission in attempts:
        result = vigil("wall", *argv, "--base-dir", base, timeout=30)
        assert result.returncode == NOT_PERMITTED, (argv, result.stdout, result.stderr)
        assert f"the {permission.value} permission" in result.stderr, (argv, result.stderr)
        assert f"{ME} (operator) may not {permission.text}" in result.stderr, result.stderr

    refused = [e for e in entries(base) if e.action == CustodyAction.REFUSED]
    assert [e.details_dict["permission"] for e in refused] == [p.value for _, p in attempts]
    for entry in refused:
        assert entry.actor == ME
        assert entry.details_dict["via"] == "control socket"
        assert entry.details_dict["role"] == "operator"
    assert refused[0].subject == BODYCAM
    assert refused[0].details_dict["request"] == "vigil wall open"

    assert shown(base) == before, "a refused request changed the wall"
    assert CustodyAction.VIEW_OPENED not in actions(base, BODYCAM)

    assert_stopped_cleanly(instance)
    assert CustodyAction.VIEW_OPENED not in actions(base, BODYCAM)


def test_a_reason_not_on_the_list_opens_nothing(
    start: Callable[[Role], RunningVigil],
) -> None:
    """In: a supervisor runs `wall open BWV-4521 --reason because --incident INC-0412`.
    Out: exit 1 and a message on stderr naming the reason (the field at fault); a bad
    incident reference likewise names the incident; no view_opened of the body cam and no
    REFUSED entry (the person may open body cams: the statement is what is wrong); the
    instance stops cleanly."""
    instance = start(Role.SUPERVISOR)
    base = instance.base_dir

    bad = vigil(
        *["wall", "open", BODYCAM, "--reason", "because", "--incident", INCIDENT],
        *["--base-dir", base],
        timeout=30,
    )
    assert bad.returncode == FAILED, (bad.stdout, bad.stderr)
    assert "reason" in bad.stderr
    assert "Choose one of the reasons listed" in bad.stderr

    bad_incident = vigil(
        *["wall", "open", BODYCAM, "--reason", REASON, "--incident", "INC<0412>"],
        *["--base-dir", base],
        timeout=30,
    )
    assert bad_incident.returncode == FAILED, (bad_incident.stdout, bad_incident.stderr)
    assert "incident" in bad_incident.stderr

    # Stopped, the instance has written all it was going to: nothing was, from either.
    assert_stopped_cleanly(instance)
    assert CustodyAction.VIEW_OPENED not in actions(base, BODYCAM)
    assert not [e for e in entries(base) if e.action == CustodyAction.REFUSED]

"""Roles on the real wall window: what each person is offered, setup mode said plainly, and
the idle lock. Accounts are real rows in a real database, named after this computer's user
(the OS sign-in maps that name to an account); "chief" is an admin, so setup mode is over."""

from __future__ import annotations

import getpass
import subprocess
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.access.accounts import AccountBook
from app.access.roles import Role
from app.access.session import Session
from app.config.access import AccessSettings
from app.database import open_database
from app.evidence.custody import CustodyAction, CustodyLog
from app.evidence.review import open_review
from app.paths import BaseDir
from app.window import WallWindow
from media.live.feed import Feed, FeedKind, FeedSpec


def wall(
    qtbot: QtBot, tmp_path: Path, role: Role | None, minutes: float = 10, *, mine: bool = True
) -> WallWindow:
    """A window for this computer's user holding `role` (None: no accounts at all; with
    `mine` False, only the admin "chief" has an account)."""
    base = BaseDir(tmp_path / "base").ensure()
    db = open_database(base.database)
    book = AccountBook(db, CustodyLog(db))
    if role is not None:
        book.add("chief", Role.ADMIN, by="test")
        if mine:
            book.add(getpass.getuser(), role, by="chief")
    feeds = [Feed(FeedSpec("Cam 1", FeedKind.CAMERA, "udp://127.0.0.1:9"))]
    window = WallWindow(
        feeds,
        state_file=tmp_path / "wall.json",
        database=base.database,
        open_review=lambda parent, actor=None: open_review(base, parent, actor=actor),
        session=Session(book, AccessSettings(idle_lock_minutes=minutes)),
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def offered(window: WallWindow) -> dict[str, bool]:
    actions = {
        "tag": window.tag_action,
        "review": window.review_action,
        "layouts": window.layout_actions[0],
    }
    return {name: a.isVisible() and a.isEnabled() for name, a in actions.items()}


def test_setup_mode_offers_everything_and_says_so(qtbot: QtBot, tmp_path: Path) -> None:
    """In: no accounts at all. Out: a banner naming setup mode and how to end it; every
    control offered; the status line says who and "setup mode"; the wall is shown."""
    window = wall(qtbot, tmp_path, None)
    assert window.banner.isVisible()
    assert "Setup mode" in window.banner.text()
    assert "vigil users add" in window.banner.text()
    assert offered(window) == {"tag": True, "review": True, "layouts": True}
    assert window.access is not None
    assert "setup mode" in window.access.who.text()
    assert window.wall.isVisible()


@pytest.mark.parametrize(
    ("role", "expected", "watches"),
    [
        (Role.OPERATOR, {"tag": True, "review": False, "layouts": False}, True),
        (Role.SUPERVISOR, {"tag": True, "review": False, "layouts": True}, True),
        (Role.FORENSIC, {"tag": False, "review": True, "layouts": False}, False),
        (Role.ADMIN, {"tag": False, "review": False, "layouts": False}, False),
    ],
)
def test_each_role_is_offered_its_controls_and_no_others(
    qtbot: QtBot, tmp_path: Path, role: Role, expected: dict[str, bool], watches: bool
) -> None:
    """In: this computer's user holding ROLE. Out: exactly ROLE's controls are offered
    (hidden and disabled otherwise, so their shortcuts do nothing); live tiles only for a
    role that watches feeds, else a line saying why; no setup banner."""
    window = wall(qtbot, tmp_path, role)
    assert offered(window) == expected
    assert window.wall.isVisible() is watches
    assert window._no_watching.isVisible() is not watches
    assert not window.banner.isVisible()
    assert window.access is not None
    assert role.value in window.access.who.text()


def test_no_account_means_no_rights_and_says_why(qtbot: QtBot, tmp_path: Path) -> None:
    """In: accounts exist (an admin), but none for this computer's user. Out: nothing
    offered, no live pictures, and the banner says there is no account."""
    window = wall(qtbot, tmp_path, Role.ADMIN, mine=False)
    assert offered(window) == {"tag": False, "review": False, "layouts": False}
    assert not window.wall.isVisible()
    assert window.banner.isVisible()
    assert getpass.getuser() in window.banner.text()


def test_the_idle_lock_covers_the_wall_and_unlocks(qtbot: QtBot, tmp_path: Path) -> None:
    """In: an operator's window; the idle watcher fires; then Unlock (OS sign-in: the
    computer's user is checked). Out: the lock screen covers the window and nothing is
    offered while locked; after Unlock the controls are back; custody holds
    session_locked then session_unlocked."""
    window = wall(qtbot, tmp_path, Role.OPERATOR, minutes=0.5)
    access = window.access
    assert access is not None
    assert access.idle is not None
    assert access.idle.idle_after_s == 30
    access.idle.idle.emit()
    assert access.session.locked
    assert access.lock_screen.isVisible()
    assert offered(window)["tag"] is False
    access.lock_screen.unlock_requested.emit("")
    assert not access.session.locked
    assert not access.lock_screen.isVisible()
    assert offered(window)["tag"] is True
    db = open_database(BaseDir(tmp_path / "base").database)
    actions = [e.action for e in CustodyLog(db).entries(getpass.getuser())]
    assert actions[-2:] == [CustodyAction.SESSION_LOCKED, CustodyAction.SESSION_UNLOCKED]


def vigil_users(base: Path, *args: str) -> None:
    """The real `vigil users` command, in its own process, as from another terminal."""
    done = subprocess.run(
        [sys.executable, "-m", "app", "users", *args, "--base-dir", str(base)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_the_window_follows_accounts_changed_while_it_runs(qtbot: QtBot, tmp_path: Path) -> None:
    """In: a window in setup mode; from another process, `vigil users add ME --role
    supervisor` (still setup mode: no admin yet), then `vigil users add chief --role admin`.
    Out: the setup banner stays after the first, and within a few seconds of the second it
    is gone without a restart: the status line says ME · supervisor, exactly a supervisor's
    controls are offered, the wall still shows; custody says ME signed in as supervisor."""
    window = wall(qtbot, tmp_path, None)
    assert window.access is not None
    base = tmp_path / "base"
    me = getpass.getuser()
    vigil_users(base, "add", me, "--role", "supervisor")
    qtbot.wait(1500)  # more than a poll: nothing to follow yet
    assert window.banner.isVisible()
    assert "Setup mode" in window.banner.text()
    vigil_users(base, "add", "chief", "--role", "admin")
    qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=5000)
    assert window.access.who.text() == f"Signed in: {me} · supervisor"
    assert offered(window) == {"tag": True, "review": False, "layouts": True}
    assert window.wall.isVisible()
    assert window.access.idle is not None  # setup mode over: the idle lock now applies
    db = open_database(BaseDir(base).database)
    signed_in = [e for e in CustodyLog(db).entries(me) if e.action == CustodyAction.SIGNED_IN]
    assert signed_in[-1].details_dict == {
        "how": "os",
        "why": "accounts changed",
        "role": "supervisor",
    }


def test_made_an_admin_while_watching_the_window_says_so(qtbot: QtBot, tmp_path: Path) -> None:
    """In: a window in setup mode; `vigil users add ME --role admin` from another process,
    as the issue's lone user did. Out: within a few seconds the banner goes, the live wall
    gives way to the line saying an admin does not watch feeds, nothing is offered."""
    window = wall(qtbot, tmp_path, None)
    vigil_users(tmp_path / "base", "add", getpass.getuser(), "--role", "admin")
    qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=5000)
    assert not window.wall.isVisible()
    assert window._no_watching.isVisible()
    assert "admin" in window._no_watching.text()
    assert offered(window) == {"tag": False, "review": False, "layouts": False}

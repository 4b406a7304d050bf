"""Body cams on the real wall window: shuttered until opened for a stated reason by a role
that may, the reason on the tile and in the custody log, closed again by O, by a lock, or by
the feed going. Accounts are real rows in a real database named after this computer's user
(the OS sign-in); "chief" is an admin, so setup mode is over."""

from __future__ import annotations

import getpass
from functools import partial
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLineEdit, QRadioButton, QWidget
from pytestqt.qtbot import QtBot

import app.window
from app.access import ViewingLog
from app.access.accounts import AccountBook
from app.access.bodycam import REASONS
from app.access.roles import Role
from app.access.session import Session
from app.config.access import AccessSettings
from app.database import open_database
from app.evidence.custody import CustodyAction, CustodyLog
from app.paths import BaseDir
from app.window import WallWindow
from media.live.feed import Feed, FeedKind, FeedSpec
from tests.clock import Clock
from widgets.access.bodycam_reason import ReasonDialog
from widgets.wall.tile import Tile

BODYCAM = "BWV-4521"


def wall(qtbot: QtBot, tmp_path: Path, role: Role) -> WallWindow:
    base = BaseDir(tmp_path / "base").ensure()
    db = open_database(base.database)
    book = AccountBook(db, CustodyLog(db))
    book.add("chief", Role.ADMIN, by="test")
    book.add(getpass.getuser(), role, by="chief")
    feeds = [
        Feed(FeedSpec("Cam 1", FeedKind.CAMERA, "udp://127.0.0.1:9")),
        Feed(FeedSpec(BODYCAM, FeedKind.BODYCAM, "udp://127.0.0.1:9", incident="INC-0412")),
    ]
    window = WallWindow(
        feeds,
        state_file=tmp_path / "wall.json",
        database=base.database,
        session=Session(book, AccessSettings(idle_lock_minutes=5)),
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def tile(window: WallWindow, name: str = BODYCAM) -> Tile:
    found = window.wall.tile_of(name)
    assert found is not None
    return found


def custody(tmp_path: Path, subject: str) -> list[tuple[CustodyAction, dict[str, object], str]]:
    db = open_database(BaseDir(tmp_path / "base").database)
    try:
        return [(e.action, e.details_dict, e.actor) for e in CustodyLog(db).entries(subject)]
    finally:
        db.close()


def views(tmp_path: Path, subject: str) -> list[tuple[CustodyAction, dict[str, object], str]]:
    return [
        entry
        for entry in custody(tmp_path, subject)
        if entry[0] in (CustodyAction.VIEW_OPENED, CustodyAction.VIEW_CLOSED)
    ]


def settle(qtbot: QtBot, window: WallWindow) -> None:
    """Viewings follow the wall after the event in hand; the writer thread then logs them."""
    qtbot.wait(30)
    assert window.viewing is not None
    window.viewing.close()


def state_reason(qtbot: QtBot, dialog: ReasonDialog, reason: str, incident: str) -> None:
    box = dialog.findChild(QWidget, "reasons")
    assert box is not None
    button = next(b for b in box.findChildren(QRadioButton) if b.text() == reason)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(30, button.height() // 2))
    field = dialog.findChild(QLineEdit, "incident")
    assert field is not None
    field.setText(incident)
    dialog.open_button.click()


def test_a_supervisor_opens_a_body_cam_for_a_reason_and_it_is_logged(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In: a supervisor's wall with a camera and a body cam; the body cam's tile menu's Open,
    "Public order" chosen, incident INC-0412; then O on the selected tile. Out: before, the
    body cam's tile is shuttered (no picture, nothing converted for it) while the camera is
    on view; after opening, the picture may show and the tile says the reason; custody
    holds view_opened with reason and incident under the supervisor's account, then
    view_closed with the seconds watched (42.5, by the viewing log's clock) and the same
    reason; the tile is shuttered again."""
    clock = Clock(1_795_000_000.0)
    monkeypatch.setattr(app.window, "ViewingLog", partial(ViewingLog, clock=clock))
    window = wall(qtbot, tmp_path, Role.SUPERVISOR)
    body = tile(window)
    assert body.shutter is not None
    assert "CLOSED" in body.shutter[0]
    assert tile(window, "Cam 1").shutter is None
    menu = window.wall.tile_menu(body)
    opening = next(a for a in menu.actions() if a.objectName() == "open")
    opening.trigger()
    dialog = window.bodycams.dialog
    assert dialog is not None
    assert getpass.getuser() in dialog.findChild(QWidget, "who").text()  # type: ignore[union-attr]
    state_reason(qtbot, dialog, "Public order", "INC-0412")
    assert body.shutter is None
    assert body.reason is not None
    assert body.reason.startswith("Public order")
    assert "INC-0412" in body.reason
    assert window.viewing is not None
    qtbot.waitUntil(lambda: window.viewing is not None and BODYCAM in window.viewing.open_feeds)
    clock.advance(42.5)
    window.wall.select(body)
    window.bodycam_action.trigger()  # O: close it again
    assert body.shutter is not None
    assert body.reason is None
    settle(qtbot, window)
    entries = views(tmp_path, BODYCAM)
    assert [e[0] for e in entries] == [CustodyAction.VIEW_OPENED, CustodyAction.VIEW_CLOSED]
    opened, closed = entries[0][1], entries[1][1]
    assert opened["reason"] == "Public order"
    assert opened["incident"] == "INC-0412"
    assert opened["kind"] == "bodycam"
    assert closed["reason"] == "Public order"
    assert closed["seconds"] == 42.5
    assert {e[2] for e in entries} == {getpass.getuser()}
    assert [e[0] for e in views(tmp_path, "Cam 1")][:1] == [CustodyAction.VIEW_OPENED]


def test_an_operator_is_not_offered_opening_a_body_cam(qtbot: QtBot, tmp_path: Path) -> None:
    """In: an operator's wall with a camera and a body cam. Out: the body cam is shuttered
    with words saying a supervisor opens it; its menu has no Open, the O action is hidden and
    disabled, asking to open does nothing; no viewing of it is ever logged; the camera is
    watched as usual; the body cam cannot be listened to either."""
    window = wall(qtbot, tmp_path, Role.OPERATOR)
    body = tile(window)
    assert body.shutter is not None
    assert "supervisor" in " ".join(body.shutter)
    names = [a.objectName() for a in window.wall.tile_menu(body).actions()]
    assert "open" not in names
    assert "listen" not in names
    assert not window.bodycam_action.isVisible()
    assert not window.bodycam_action.isEnabled()
    assert window.bodycams.ask(body.feed) is None
    assert window.bodycams.dialog is None
    window.wall.set_listening(body)
    assert not body.feed.audio.listening
    settle(qtbot, window)
    assert views(tmp_path, BODYCAM) == []
    assert [e[0] for e in views(tmp_path, "Cam 1")] == [
        CustodyAction.VIEW_OPENED,
        CustodyAction.VIEW_CLOSED,
    ]


def test_a_bad_statement_opens_nothing(qtbot: QtBot, tmp_path: Path) -> None:
    """In: a supervisor chooses "Other (say why below)" and gives no words. Out: the dialog
    says words are needed and stays open; the tile stays shuttered; nothing is logged."""
    window = wall(qtbot, tmp_path, Role.SUPERVISOR)
    body = tile(window)
    dialog = window.bodycams.ask(body.feed)
    assert dialog is not None
    state_reason(qtbot, dialog, REASONS[-1], "INC-1")
    assert dialog.isVisible()
    assert dialog.findChild(QWidget, "error").text()  # type: ignore[union-attr]
    assert body.shutter is not None
    settle(qtbot, window)
    assert views(tmp_path, BODYCAM) == []


def test_the_idle_lock_shutters_an_open_body_cam_and_ends_its_viewing(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """In: a supervisor opens the body cam, then the window locks for idleness, then is
    unlocked. Out: locked, the tile is shuttered and its viewing closed; unlocked, it stays
    shuttered until opened again with a reason (a reason is the person's, at the time)."""
    window = wall(qtbot, tmp_path, Role.SUPERVISOR)
    body = tile(window)
    dialog = window.bodycams.ask(body.feed)
    assert dialog is not None
    state_reason(qtbot, dialog, "Officer asked for support", "INC-0412")
    assert body.shutter is None
    qtbot.wait(30)
    assert window.access is not None
    window.access.lock()
    assert body.shutter is not None
    window.access.lock_screen.unlock_requested.emit("")
    assert not window.access.session.locked
    assert body.shutter is not None
    assert window.bodycam_action.isEnabled()
    settle(qtbot, window)
    assert [e[0] for e in views(tmp_path, BODYCAM)] == [
        CustodyAction.VIEW_OPENED,
        CustodyAction.VIEW_CLOSED,
    ]


def test_a_body_cam_whose_feed_goes_closes_its_viewing(qtbot: QtBot, tmp_path: Path) -> None:
    """In: a supervisor opens the body cam, then its feed is taken off the wall (the
    officer's stream ended). Out: view_closed with the reason, and nothing left open."""
    window = wall(qtbot, tmp_path, Role.SUPERVISOR)
    body = tile(window)
    dialog = window.bodycams.ask(body.feed)
    assert dialog is not None
    state_reason(qtbot, dialog, "Pursuit or search", "INC-7")
    qtbot.wait(30)
    window.wall.remove_feed(body.feed)
    qtbot.wait(30)
    assert window.bodycams.open == {}
    assert window.viewing is not None
    assert BODYCAM not in window.viewing.open_feeds
    settle(qtbot, window)
    entries = views(tmp_path, BODYCAM)
    assert [e[0] for e in entries] == [CustodyAction.VIEW_OPENED, CustodyAction.VIEW_CLOSED]
    assert entries[1][1]["reason"] == "Pursuit or search"


def test_a_reason_dialog_does_not_outlive_its_person(qtbot: QtBot, tmp_path: Path) -> None:
    """In: a supervisor asks to open the body cam, and the window locks before they state
    a reason. Out: the dialog is gone with the lock; nothing opens; nothing is logged."""
    window = wall(qtbot, tmp_path, Role.SUPERVISOR)
    body = tile(window)
    dialog = window.bodycams.ask(body.feed)
    assert dialog is not None
    assert window.access is not None
    window.access.lock()
    assert window.bodycams.dialog is None
    assert not dialog.isVisible()
    assert body.shutter is not None
    settle(qtbot, window)
    assert views(tmp_path, BODYCAM) == []


def test_no_body_cam_opens_on_a_locked_window_or_for_someone_not_there(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """In: `vigil wall open` (as BodycamDesk.open_for with the asker) while the window is
    locked, and for a supervisor who is not the person at the window. Out: ValueError
    saying why each time; the tile stays shuttered."""
    from app.access.bodycam import stated_reason
    from app.access.person import How, Person

    window = wall(qtbot, tmp_path, Role.SUPERVISOR)
    body = tile(window)
    reason = stated_reason("Public order", "", "INC-1")
    elsewhere = Person("sgt.b", "Sgt B", Role.SUPERVISOR, How.OS)
    with pytest.raises(ValueError, match="signed in at the wall"):
        window.bodycams.open_for(body.feed, reason, elsewhere)
    assert window.access is not None
    window.access.lock()
    with pytest.raises(ValueError, match="locked"):
        window.bodycams.open_for(body.feed, reason, window.access.session.person)
    assert body.shutter is not None

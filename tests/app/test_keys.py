"""The wall's keys, pressed: every shortcut the README lists reaches its action through Qt's
shortcut map on the real window (T, Shift+T, O, Ctrl+1…9, Ctrl+Shift+S, Ctrl+Alt+N,
Ctrl+I, Ctrl+Shift+A), not by triggering the action from the test.

The offscreen platform activates a window only when asked (`requestActivate`), and a
shortcut of the window's fires only while it is the active window, so each press first
makes sure it is. The window is a supervisor's (OS sign-in), on both virtual screens, with
an evidence database and a caller gateway that is never started (Ctrl+I only opens the
invitation dialog)."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit
from pytestqt.qtbot import QtBot

from app.access.accounts import AccountBook
from app.access.roles import Role
from app.access.session import Session
from app.callers.gateway.service import GatewayService
from app.config import GatewaySettings
from app.config.access import AccessSettings
from app.config.sms import SmsSettings
from app.database import open_database
from app.evidence.clips import ClipBook
from app.evidence.custody import CustodyLog
from app.feeds.service import FeedService
from app.paths import BaseDir
from app.wall.screens import wall_screens
from app.window import WallWindow
from media.live.feed import Feed, FeedKind, FeedSpec
from tests.clock import Clock
from widgets.callers.invite import InviteDialog

NOW = 1_795_000_000.0
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
ALT = Qt.KeyboardModifier.AltModifier
NAMES = ["Cam 1", "BWV-4521", "Drone Alpha"]


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> Iterator[WallWindow]:
    base = BaseDir(tmp_path / "base").ensure()
    db = open_database(base.database)
    book = AccountBook(db, CustodyLog(db))
    book.add("chief", Role.ADMIN, by="test")
    book.add(getpass.getuser(), Role.SUPERVISOR, by="chief")
    kinds = [FeedKind.CAMERA, FeedKind.BODYCAM, FeedKind.DRONE]
    feeds = [
        Feed(FeedSpec(name, kind, "udp://127.0.0.1:9"))
        for name, kind in zip(NAMES, kinds, strict=True)
    ]
    service = FeedService()
    gateway = GatewayService(
        GatewaySettings(public_url="https://vigil.test:8443"), SmsSettings(), base, service
    )
    win = WallWindow(
        feeds,
        state_file=tmp_path / "wall.json",
        database=base.database,
        session=Session(book, AccessSettings()),
        screens=wall_screens(None),
        service=service,
        gateway=gateway,
    )
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    db.close()


def press(
    qtbot: QtBot,
    window: WallWindow,
    key: Qt.Key,
    modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
) -> None:
    """Press `key` on the wall of the (active) window, as a person at its keyboard does."""
    handle = window.windowHandle()
    assert handle is not None
    handle.requestActivate()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    window.wall.setFocus()
    qtbot.keyClick(window.wall, key, modifiers)


def select(qtbot: QtBot, window: WallWindow, name: str) -> None:
    """Select a tile by its number key (1…9), and check it was the one."""
    number = window.wall.order.index(name) + 1
    press(qtbot, window, Qt.Key(Qt.Key.Key_1 + number - 1))
    assert window.wall.selected is not None
    assert window.wall.selected.feed.name == name


def clips(tmp_path: Path) -> list[tuple[str, float, float]]:
    db = open_database(BaseDir(tmp_path / "base").database)
    try:
        return sorted(
            (c.feed_name, c.start_utc, c.end_utc) for c in ClipBook(db, CustodyLog(db)).search()
        )
    finally:
        db.close()


def close_tag_dialogs(qtbot: QtBot, window: WallWindow) -> None:
    assert window.tags is not None
    qtbot.waitUntil(lambda: bool(window.tags and window.tags.dialogs), timeout=5000)
    for dialog in list(window.tags.dialogs):
        dialog.close()
    qtbot.waitUntil(lambda: not (window.tags and window.tags.dialogs), timeout=5000)


def test_t_tags_the_last_seconds_and_shift_t_twice_marks_in_and_out(
    qtbot: QtBot, window: WallWindow, tmp_path: Path
) -> None:
    """In: 3 (Drone Alpha selected), T at NOW; then Shift+T at NOW+100 and again at
    NOW+112.5. Out: T makes one clip of Drone Alpha NOW-30..NOW (30 s, the default) and
    opens the tag dialog; the first Shift+T makes no clip and sets the in mark; the second
    makes the clip NOW+100..NOW+112.5."""
    assert window.tags is not None
    clock = Clock(NOW)
    window.tags.clock = clock
    select(qtbot, window, "Drone Alpha")
    press(qtbot, window, Qt.Key.Key_T)
    qtbot.waitUntil(lambda: len(clips(tmp_path)) == 1, timeout=5000)
    assert clips(tmp_path) == [("Drone Alpha", NOW - 30, NOW)]
    close_tag_dialogs(qtbot, window)

    clock.advance(100)
    press(qtbot, window, Qt.Key.Key_T, SHIFT)
    assert window.tags.in_marks == {"Drone Alpha": NOW + 100}
    assert len(clips(tmp_path)) == 1
    clock.advance(12.5)
    press(qtbot, window, Qt.Key.Key_T, SHIFT)
    qtbot.waitUntil(lambda: len(clips(tmp_path)) == 2, timeout=5000)
    assert ("Drone Alpha", NOW + 100, NOW + 112.5) in clips(tmp_path)
    assert window.tags.in_marks == {}
    close_tag_dialogs(qtbot, window)


def test_o_asks_why_for_a_body_cam_and_explains_for_a_camera(
    qtbot: QtBot, window: WallWindow
) -> None:
    """In: 1 (Cam 1) then O; then 2 (the body cam) then O. Out: for the camera no dialog
    and the status line says it needs no reason; for the body cam the reason dialog is
    open and the tile stays shuttered until a reason is given."""
    select(qtbot, window, "Cam 1")
    press(qtbot, window, Qt.Key.Key_O)
    assert window.bodycams.dialog is None
    assert "needs no reason" in window.statusBar().currentMessage()
    select(qtbot, window, "BWV-4521")
    press(qtbot, window, Qt.Key.Key_O)
    dialog = window.bodycams.dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    tile = window.wall.tile_of("BWV-4521")
    assert tile is not None
    assert tile.shutter is not None
    dialog.reject()


def test_ctrl_shift_s_saves_a_preset_ctrl_number_calls_it_up_ctrl_alt_number_sends(
    qtbot: QtBot, window: WallWindow
) -> None:
    """In: 3 (Drone Alpha), Ctrl+Alt+2; Ctrl+Shift+S, "Night" typed, Enter; then the drone
    sent home and screen 1 set to 1x1 by hand; Ctrl+1; then Ctrl+2. Out: Ctrl+Alt+2 puts the
    drone on screen 2 alone; Ctrl+Shift+S asks for a name and saves preset "Night"; Ctrl+1
    brings the drone back to screen 2 and screen 1's layout back, naming the preset;
    with the drone sent home by hand again, Ctrl+2 (no preset 2: its key is off) changes
    nothing."""
    screens = window.screens
    select(qtbot, window, "Drone Alpha")
    press(qtbot, window, Qt.Key.Key_2, CTRL | ALT)
    assert screens.walls[1].order == ["Drone Alpha"]
    assert "Drone Alpha" not in window.wall.order
    layout_before = window.wall.layout_name

    press(qtbot, window, Qt.Key.Key_S, CTRL | SHIFT)
    dialog = window.wall_menus.dialog
    assert isinstance(dialog, QInputDialog)
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    field = dialog.findChild(QLineEdit)
    assert field is not None
    qtbot.keyClicks(field, "Night")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: screens.presets.names == ["Night"], timeout=5000)

    screens.send("Drone Alpha", 1)
    window.wall.set_layout("1x1" if layout_before != "1x1" else "2x2")
    assert screens.walls[1].order == []
    press(qtbot, window, Qt.Key.Key_1, CTRL)
    assert screens.walls[1].order == ["Drone Alpha"]
    assert window.wall.layout_name == layout_before
    assert screens.current_preset == "Night"
    assert "Night" in window.statusBar().currentMessage()

    screens.send("Drone Alpha", 1)
    press(qtbot, window, Qt.Key.Key_2, CTRL)
    assert screens.walls[1].order == []
    assert screens.current_preset is None


def test_ctrl_i_opens_the_invitation(qtbot: QtBot, window: WallWindow) -> None:
    """In: Ctrl+I. Out: the Invite caller dialog is open, beside the running wall."""
    press(qtbot, window, Qt.Key.Key_I, CTRL)
    qtbot.waitUntil(
        lambda: any(d.isVisible() for d in window.findChildren(InviteDialog)), timeout=5000
    )


def test_ctrl_shift_a_hides_and_shows_the_alerts(qtbot: QtBot, window: WallWindow) -> None:
    """In: Ctrl+Shift+A twice. Out: the Alerts list, shown at first, hides, then shows."""
    assert window.alerts_dock.isVisible()
    press(qtbot, window, Qt.Key.Key_A, CTRL | SHIFT)
    qtbot.waitUntil(lambda: not window.alerts_dock.isVisible(), timeout=5000)
    press(qtbot, window, Qt.Key.Key_A, CTRL | SHIFT)
    qtbot.waitUntil(window.alerts_dock.isVisible, timeout=5000)

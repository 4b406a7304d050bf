"""The supervisor's wall over two screens, on the real window: tests run Qt's offscreen
platform with two virtual screens (tests/screens.json: WALL-1 primary, WALL-2 beside it).
Each screen has its own window, layout and feeds; presets switch the lot with Ctrl+number;
the arrangement and presets survive a restart; a role that may not manage layouts is not
offered any of it."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from app.access.accounts import AccountBook
from app.access.roles import Role
from app.access.session import Session
from app.config.access import AccessSettings
from app.database import open_database
from app.evidence.custody import CustodyAction, CustodyLog
from app.paths import BaseDir
from app.wall.screens import wall_screens
from app.window import WallWindow
from media.live.feed import Feed, FeedKind, FeedSpec

NAMES = ["Cam 1", "Cam 2", "Drone Alpha", "Cam 3"]


def feeds() -> list[Feed]:
    kinds = [FeedKind.CAMERA, FeedKind.CAMERA, FeedKind.DRONE, FeedKind.CAMERA]
    return [
        Feed(FeedSpec(name, kind, "udp://127.0.0.1:9"))
        for name, kind in zip(NAMES, kinds, strict=True)
    ]


def wall(qtbot: QtBot, tmp_path: Path, role: Role | None = Role.SUPERVISOR) -> WallWindow:
    base = BaseDir(tmp_path / "base").ensure()
    db = open_database(base.database)
    book = AccountBook(db, CustodyLog(db))
    if role is not None and not book.has_admin():
        book.add("chief", Role.ADMIN, by="test")
        book.add(getpass.getuser(), role, by="chief")
    window = WallWindow(
        feeds(),
        state_file=tmp_path / "wall.json",
        database=base.database,
        session=Session(book, AccessSettings()),
        screens=wall_screens(None),
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_the_test_platform_has_two_screens(qapp: object) -> None:
    assert [s.name() for s in wall_screens(None)] == ["WALL-1", "WALL-2"]
    assert [s.name() for s in wall_screens(1)] == ["WALL-1"]
    assert QGuiApplication.primaryScreen().name() == "WALL-1"


def test_each_screen_has_its_own_window_layout_and_feeds(qtbot: QtBot, tmp_path: Path) -> None:
    """In: a supervisor's wall over both screens; the drone selected and sent to screen 2
    (Ctrl+Alt+2); screen 2 set to 1x1, screen 1 to 3x3. Out: a full-screen window on WALL-2
    holding only the drone in 1x1, the supervisor's window on WALL-1 holding the rest in 3x3,
    its caption saying so; moving the drone wrote no viewing entries (it stayed on view)."""
    window = wall(qtbot, tmp_path)
    screens = window.screens
    assert screens.count == 2
    second = screens.windows[0]
    qtbot.waitUntil(second.isVisible)
    assert second.screen().name() == "WALL-2"
    assert second.geometry() == wall_screens(None)[1].geometry()
    assert window.screen().name() == "WALL-1"
    qtbot.wait(30)
    drone = window.wall.tile_of("Drone Alpha")
    assert drone is not None
    window.wall.select(drone)
    window.wall_menus.send_actions[1].trigger()
    screens.set_layout(2, "1x1")
    window.wall.set_layout("3x3")
    assert screens.walls[1].order == ["Drone Alpha"]
    assert window.wall.order == ["Cam 1", "Cam 2", "Cam 3"]
    assert screens.walls[1].layout_name == "1x1"
    assert window.wall.layout_name == "3x3"
    assert "WALL-2" in second.caption.text()
    assert "1x1" in second.caption.text()
    assert screens.describe()["screens"] == [
        {
            "index": 1,
            "name": "WALL-1",
            "layout": "3x3",
            "feeds": ["Cam 1", "Cam 2", "Cam 3"],
            "unplugged": False,
        },
        {
            "index": 2,
            "name": "WALL-2",
            "layout": "1x1",
            "feeds": ["Drone Alpha"],
            "unplugged": False,
        },
    ]
    qtbot.wait(30)
    window.close()
    db = open_database(BaseDir(tmp_path / "base").database)
    actions = [e.action for e in CustodyLog(db).entries("Drone Alpha")]
    assert actions == [CustodyAction.VIEW_OPENED, CustodyAction.VIEW_CLOSED]


def test_presets_switch_the_whole_wall_in_one_keystroke_and_survive_a_restart(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """In: the wall arranged (drone alone on screen 2 in 1x1) and saved as "Night"; then
    everything moved back to screen 1 in 2x2; then the Ctrl+1 action; then the window
    closed and opened again. Out: Ctrl+1 restores "Night" on both screens, the status line
    names the preset; after the restart the same arrangement and the preset are there."""
    window = wall(qtbot, tmp_path)
    screens = window.screens
    screens.send("Drone Alpha", 2)
    screens.set_layout(2, "1x1")
    window.wall_menus.save_as("Night")
    assert screens.presets.names == ["Night"]
    assert window.wall_menus.preset_actions[0].text().endswith("Night")
    screens.send("Drone Alpha", 1)
    screens.set_layout(2, "2x2")
    assert screens.walls[1].order == []
    window.wall_menus.preset_actions[0].trigger()  # Ctrl+1
    assert screens.walls[1].order == ["Drone Alpha"]
    assert screens.walls[1].layout_name == "1x1"
    assert screens.current_preset == "Night"
    window._update_status()
    assert "preset Night" in window._where.text()
    window.close()

    again = wall(qtbot, tmp_path)
    assert again.screens.walls[1].order == ["Drone Alpha"]
    assert again.screens.walls[1].layout_name == "1x1"
    assert again.screens.presets.names == ["Night"]
    assert again.screens.current_preset == "Night"


def test_an_unplugged_screen_sends_its_feeds_home(qtbot: QtBot, tmp_path: Path) -> None:
    """In: the drone on screen 2, then screen 2's window reports its screen gone. Out: the
    drone is on screen 1 (never off the wall) and screen 2's window is hidden."""
    window = wall(qtbot, tmp_path)
    window.screens.send("Drone Alpha", 2)
    window.screens.windows[0].screen_lost.emit()
    assert "Drone Alpha" in window.wall.order
    assert not window.screens.windows[0].isVisible()


def test_an_operator_is_offered_no_presets_or_screens(qtbot: QtBot, tmp_path: Path) -> None:
    """In: an operator's wall over two screens, with a preset saved earlier by a supervisor.
    Out: the Wall menu is hidden, its keys do nothing (Ctrl+1 leaves the wall as it is),
    yet both screens show live feeds (operators watch)."""
    window = wall(qtbot, tmp_path)
    window.screens.send("Drone Alpha", 2)
    window.wall_menus.save_as("Night")
    window.screens.send("Drone Alpha", 1)
    window.close()

    operator_base = tmp_path / "operator"
    operator_base.mkdir()
    (operator_base / "wall.json").write_text((tmp_path / "wall.json").read_text())
    op = wall(qtbot, operator_base, Role.OPERATOR)
    assert not op.wall_menus.menu.menuAction().isVisible()
    assert not op.wall_menus.save_action.isEnabled()
    assert not any(a.isEnabled() for a in op.wall_menus.preset_actions)
    op.wall_menus.apply_number(1)
    assert op.screens.walls[1].order == []
    qtbot.waitUntil(op.screens.windows[0].isVisible)


def test_forensic_staff_get_no_live_screens(qtbot: QtBot, tmp_path: Path) -> None:
    """In: forensic staff at a two-screen workstation. Out: neither screen shows live feeds:
    the second screen's window is not shown at all."""
    window = wall(qtbot, tmp_path, Role.FORENSIC)
    qtbot.wait(50)
    assert not window.wall.isVisible()
    assert not window.screens.windows[0].isVisible()


def test_an_unplugged_screen_takes_no_more_feeds(qtbot: QtBot, tmp_path: Path) -> None:
    """In: screen 2 unplugged, then a send to it, a preset placing a feed on it, a lock's
    worth of re-offering, and `vigil wall show`. Out: the send is refused naming the
    screen; the preset's feed lands on screen 1; the window stays hidden; show marks it."""
    window = wall(qtbot, tmp_path)
    screens = window.screens
    screens.send("Drone Alpha", 2)
    window.wall_menus.save_as("Night")
    screens.windows[0].screen_lost.emit()
    with pytest.raises(ValueError, match="unplugged"):
        screens.send("Cam 1", 2)
    screens.apply_preset("Night")
    assert "Drone Alpha" in window.wall.order
    screens.set_watching(True)
    assert not screens.windows[0].isVisible()
    described = screens.describe()["screens"]
    assert isinstance(described, list)
    assert described[1]["unplugged"] is True


def test_a_change_by_hand_forgets_the_preset_in_the_saved_file_too(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """In: the wall saved as "Night", then screen 2's layout changed, then screen 1's.
    Out: the current preset is gone in memory and in wall.json after each change."""
    from app.wall.state import WallState

    window = wall(qtbot, tmp_path)
    window.wall_menus.save_as("Night")
    assert WallState.load(tmp_path / "wall.json").current_preset == "Night"
    window.screens.set_layout(2, "2x2")
    assert window.screens.current_preset is None
    assert WallState.load(tmp_path / "wall.json").current_preset is None
    window.wall_menus.apply_number(1)
    assert WallState.load(tmp_path / "wall.json").current_preset == "Night"
    window.wall.set_layout("1x1")
    assert WallState.load(tmp_path / "wall.json").current_preset is None

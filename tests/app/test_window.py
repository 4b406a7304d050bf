"""The main window: layout and tile order persist between runs; F11 goes full screen and back."""

from pathlib import Path

from PySide6.QtGui import QKeySequence
from pytestqt.qtbot import QtBot

from app.window import WallWindow
from media.feed import Feed, FeedKind, FeedSpec


def feeds() -> list[Feed]:
    return [
        Feed(FeedSpec(f"F{i}", FeedKind.CAMERA, f"udp://127.0.0.1:{9100 + i}")) for i in range(1, 6)
    ]


def open_window(qtbot: QtBot, state: Path) -> WallWindow:
    window = WallWindow(feeds(), state_file=state)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_layout_and_order_survive_a_restart(qtbot: QtBot, tmp_path: Path) -> None:
    state = tmp_path / "wall.json"
    first = open_window(qtbot, state)
    first.wall.set_layout("2+8")
    first.wall.swap(first.wall.tiles[0], first.wall.tiles[3])
    first.close()

    second = open_window(qtbot, state)
    assert second.wall.layout_name == "2+8"
    assert second.wall.order == ["F4", "F2", "F3", "F1", "F5"]


def test_f11_toggles_full_screen(qtbot: QtBot, tmp_path: Path) -> None:
    """F11 is bound to full screen; triggering it twice goes full screen and back. (The
    offscreen platform never activates a window, so shortcuts cannot be typed here.)"""
    window = open_window(qtbot, tmp_path / "wall.json")
    (action,) = [a for a in window.actions() if a.shortcut() == QKeySequence("F11")]
    action.trigger()
    qtbot.waitUntil(window.isFullScreen, timeout=2000)
    action.trigger()
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=2000)


def test_status_line_counts_feeds_by_state(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, tmp_path / "wall.json")
    window._update_status()
    assert window._counts.text().startswith("5 feeds  ·  5 connecting")

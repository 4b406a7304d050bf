"""A keyboardless wall screen: its window covers the second screen, says which screen it is
and what it shows, closes only when the application says so, never takes the keyboard from
the supervisor's window, and reports its screen going away."""

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from media.live.feed import Connection, Feed, FeedKind, FeedSpec, FeedState
from tests.pictures import solid_picture
from widgets.wall.screen_wall import ScreenWindow, caption_text
from widgets.wall.wall import Wall

COLOURS = [(60, 40, 160), (150, 90, 30), (40, 120, 40)]  # BGR


def screen_named(name: str) -> QScreen:
    for screen in QGuiApplication.screens():
        if screen.name() == name:
            return screen
    raise AssertionError(f"no screen {name}: tests/screens.json sets two")


@pytest.fixture
def window(qtbot: QtBot) -> Iterator[ScreenWindow]:
    feeds = [
        Feed(FeedSpec(name, kind, f"udp://127.0.0.1:{9100 + i}"))
        for i, (name, kind) in enumerate(
            [
                ("BWV-4521", FeedKind.BODYCAM),
                ("999-0142", FeedKind.CALLER),
                ("UAV-2", FeedKind.DRONE),
            ]
        )
    ]
    wall = Wall(feeds, "2x2")
    widget = ScreenWindow(wall)
    qtbot.addWidget(widget)
    yield widget
    widget.allow_close()
    widget.close()


def test_it_covers_the_second_screen_and_says_what_it_shows(
    window: ScreenWindow, qtbot: QtBot
) -> None:
    """In: a wall of three feeds in 2x2, placed on WALL-2, captioned. Out: the window is on
    WALL-2 with WALL-2's geometry, full screen and frameless; the wall fills all but the
    caption strip; the caption reads as set; each tile's middle, in the window's own
    picture, is its feed's colour."""
    wall2 = screen_named("WALL-2")
    window.place_on(wall2)
    qtbot.waitExposed(window)
    assert window.screen().name() == "WALL-2"
    assert window.geometry() == wall2.geometry()
    assert window.isFullScreen()
    assert window.windowFlags() & Qt.WindowType.FramelessWindowHint
    assert window.placed_screen is wall2
    text = caption_text(2, wall2.name(), window.wall.layout_name, "Night shift")
    assert text == "Screen 2 · WALL-2 · layout 2x2 · preset Night shift"
    window.set_caption(text)
    assert window.caption.text() == text
    assert window.caption.isVisible()
    assert window.wall.width() == wall2.geometry().width()
    assert window.wall.height() + window.caption.height() == wall2.geometry().height()
    assert window.caption.geometry().bottom() == window.height() - 1

    for tile, colour in zip(window.wall.tiles, COLOURS, strict=True):
        tile.feed.set_connection(Connection(FeedState.LIVE))
        tile.feed.slot.put(solid_picture(tile.width(), tile.height(), colour))
        assert tile.feed.picture_listener is not None
        tile.feed.picture_listener(tile.feed)
    qtbot.waitUntil(lambda: all(t.painted_frames >= 1 for t in window.wall.tiles), timeout=2000)
    shot = window.grab().toImage()
    ratio = shot.devicePixelRatio()
    for tile, (b, g, r) in zip(window.wall.tiles, COLOURS, strict=True):
        middle = tile.mapTo(window, tile.rect().center())
        pixel = shot.pixelColor(round(middle.x() * ratio), round(middle.y() * ratio))
        assert (pixel.red(), pixel.green(), pixel.blue()) == (r, g, b), tile.feed.name


def test_the_caption_says_tiles_that_have_no_cell() -> None:
    assert (
        caption_text(3, "WALL-3", "1x1", hidden=2) == "Screen 3 · WALL-3 · layout 1x1 · 2 not shown"
    )


def test_a_stray_close_is_ignored_until_the_application_allows_it(
    window: ScreenWindow, qtbot: QtBot
) -> None:
    window.place_on(screen_named("WALL-2"))
    qtbot.waitExposed(window)
    assert not window.close()
    assert window.isVisible()
    window.allow_close()
    assert window.close()
    assert not window.isVisible()


def test_it_never_takes_the_keyboard_from_the_supervisors_window(
    window: ScreenWindow, qtbot: QtBot
) -> None:
    """In: the supervisor's window shown and active on WALL-1, then the wall screen placed on
    WALL-2. Out: the supervisor's window is still the active one; the wall screen and its wall
    refuse focus."""
    supervisor = QWidget()
    qtbot.addWidget(supervisor)
    supervisor.setGeometry(screen_named("WALL-1").geometry())
    supervisor.show()
    supervisor.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is supervisor, timeout=2000)
    window.place_on(screen_named("WALL-2"))
    qtbot.waitExposed(window)
    qtbot.wait(50)
    assert QApplication.activeWindow() is supervisor
    assert window.windowFlags() & Qt.WindowType.WindowDoesNotAcceptFocus
    assert window.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    assert window.wall.focusPolicy() == Qt.FocusPolicy.NoFocus


def test_its_screen_going_away_hides_it_and_says_so(window: ScreenWindow, qtbot: QtBot) -> None:
    """In: the window on WALL-2; Qt reports WALL-1 removed, then WALL-2 (the signal is
    emitted here: the offscreen platform cannot unplug a screen). Out: nothing for WALL-1;
    for WALL-2 `screen_lost` once and the window hidden, so it does not land full screen
    on the supervisor's own screen."""
    wall2 = screen_named("WALL-2")
    window.place_on(wall2)
    qtbot.waitExposed(window)
    app = QGuiApplication.instance()
    assert isinstance(app, QGuiApplication)
    lost: list[bool] = []
    window.screen_lost.connect(lambda: lost.append(True))
    app.screenRemoved.emit(screen_named("WALL-1"))
    assert lost == []
    assert window.isVisible()
    with qtbot.waitSignal(window.screen_lost, timeout=1000):
        app.screenRemoved.emit(wall2)
    assert lost == [True]
    assert not window.isVisible()
    assert window.placed_screen is None


def test_closing_twice_and_placing_again_are_harmless(window: ScreenWindow, qtbot: QtBot) -> None:
    """The application may close a window on its way out after closing it already, and put a
    hidden window back on its screen: neither raises nor warns."""
    window.place_on(screen_named("WALL-2"))
    qtbot.waitExposed(window)
    window.hide()
    window.place_on(screen_named("WALL-2"))
    assert window.isVisible()
    assert window.geometry() == screen_named("WALL-2").geometry()
    window.allow_close()
    assert window.close()
    assert window.close()

"""The wall: grid placement, drag to swap, spotlight, keys, and one tile heard at a time."""

import threading

import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from media.feed import Connection, Feed, FeedKind, FeedSpec, FeedState
from tests.pictures import solid_picture
from widgets.wall import PictureBell, Wall

KINDS = [FeedKind.CALLER] * 3 + [FeedKind.BODYCAM] * 4 + [FeedKind.DRONE] * 2


@pytest.fixture
def wall(qtbot: QtBot) -> Wall:
    feeds = [
        Feed(FeedSpec(f"F{i + 1}", kind, f"udp://127.0.0.1:{9000 + i}"))
        for i, kind in enumerate(KINDS)
    ]
    widget = Wall(feeds)
    widget.resize(1200, 675)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def centre(wall: Wall, index: int) -> QPoint:
    return wall.tiles[index].geometry().center()


def test_nine_feeds_fill_a_three_by_three_grid(wall: Wall) -> None:
    assert [t.number for t in wall.tiles] == list(range(1, 10))
    widths = {t.width() for t in wall.tiles}
    assert max(widths) - min(widths) <= 1
    assert all(t.isVisible() for t in wall.tiles)
    assert wall.tiles[0].feed.display_size == (wall.tiles[0].width(), wall.tiles[0].height())


def test_named_layout_hides_what_does_not_fit(wall: Wall, qtbot: QtBot) -> None:
    """1+5 has six cells: the first tile is large, three feeds are not shown and cost nothing."""
    with qtbot.waitSignal(wall.layout_changed):
        wall.set_layout("1+5")
    assert wall.tiles[0].width() > 1.9 * wall.tiles[1].width()
    assert wall.hidden_count == 3
    for tile in wall.tiles[6:]:
        assert not tile.isVisible()
        assert tile.feed.display_size == (0, 0)


def test_a_picture_from_a_decode_thread_is_painted(wall: Wall, qtbot: QtBot) -> None:
    """A worker thread puts a picture in the slot and tells the feed's listener, as a decode
    thread does: the tile paints it (the GUI is woken, it does not poll)."""
    tile = wall.tiles[4]
    tile.feed.set_connection(Connection(FeedState.LIVE))

    def decode_thread() -> None:
        tile.feed.slot.put(solid_picture(tile.width(), tile.height(), (255, 0, 0)))
        assert tile.feed.picture_listener is not None
        tile.feed.picture_listener(tile.feed)

    worker = threading.Thread(target=decode_thread)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: tile.painted_frames == 1, timeout=1000)


def test_the_bell_queues_one_wake_up_however_often_it_rings(qtbot: QtBot) -> None:
    """In: 1000 rings for 3 feeds from a thread while the GUI is busy. Out: one wake-up
    event, and it carries all 3 feeds."""
    bell = PictureBell()
    feeds = [Feed(FeedSpec(f"B{i}", FeedKind.CAMERA, "udp://127.0.0.1:1")) for i in range(3)]
    woken: list[set[Feed]] = []
    bell.rang.connect(lambda: woken.append(bell.take()), Qt.ConnectionType.QueuedConnection)
    worker = threading.Thread(target=lambda: [bell.ring(feeds[i % 3]) for i in range(1000)])
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(woken) == 1, timeout=1000)
    qtbot.wait(50)
    assert woken == [set(feeds)]


def test_drag_one_tile_onto_another_swaps_them(wall: Wall, qtbot: QtBot) -> None:
    first, fifth = wall.tiles[0].feed, wall.tiles[4].feed
    with qtbot.waitSignal(wall.order_changed) as changed:
        qtbot.mousePress(wall.tiles[0], Qt.MouseButton.LeftButton, pos=QPoint(20, 20))
        qtbot.mouseMove(wall, centre(wall, 0) + QPoint(30, 30))
        qtbot.mouseMove(wall, centre(wall, 4))
        assert wall.tiles[4].drop_target
        qtbot.mouseRelease(wall, Qt.MouseButton.LeftButton, pos=centre(wall, 4))
    assert wall.tiles[0].feed is fifth
    assert wall.tiles[4].feed is first
    assert changed.args[0][:5] == ["F5", "F2", "F3", "F4", "F1"]
    assert not any(t.drop_target for t in wall.tiles)


def test_a_click_without_moving_selects_and_swaps_nothing(wall: Wall, qtbot: QtBot) -> None:
    qtbot.mouseClick(wall.tiles[2], Qt.MouseButton.LeftButton)
    assert wall.selected is wall.tiles[2]
    assert wall.order[:3] == ["F1", "F2", "F3"]


def test_double_click_spotlights_and_back(wall: Wall, qtbot: QtBot) -> None:
    qtbot.mouseDClick(wall.tiles[3], Qt.MouseButton.LeftButton)
    assert wall.spotlight_tile is wall.tiles[3]
    assert wall.tiles[3].geometry() == wall.rect()
    assert sum(t.isVisible() for t in wall.tiles) == 1
    qtbot.mouseDClick(wall.tiles[3], Qt.MouseButton.LeftButton)
    assert wall.spotlight_tile is None
    assert all(t.isVisible() for t in wall.tiles)


def test_number_keys_select_enter_spotlights_escape_returns(wall: Wall, qtbot: QtBot) -> None:
    qtbot.keyClick(wall, Qt.Key.Key_3)
    assert wall.selected is wall.tiles[2]
    qtbot.keyClick(wall, Qt.Key.Key_Return)
    assert wall.spotlight_tile is wall.tiles[2]
    qtbot.keyClick(wall, Qt.Key.Key_7)
    assert wall.spotlight_tile is wall.tiles[6], "a number in spotlight switches the spotlight"
    qtbot.keyClick(wall, Qt.Key.Key_Escape)
    assert wall.spotlight_tile is None


def test_arrows_move_the_selection_across_the_grid(wall: Wall, qtbot: QtBot) -> None:
    qtbot.keyClick(wall, Qt.Key.Key_5)
    qtbot.keyClick(wall, Qt.Key.Key_Right)
    assert wall.selected is wall.tiles[5]
    qtbot.keyClick(wall, Qt.Key.Key_Up)
    assert wall.selected is wall.tiles[2]
    qtbot.keyClick(wall, Qt.Key.Key_Left)
    assert wall.selected is wall.tiles[1]


def test_only_one_tile_is_heard_at_a_time(wall: Wall, qtbot: QtBot) -> None:
    feeds = [t.feed for t in wall.tiles]
    assert not any(f.audio.listening for f in feeds), "every tile starts muted"
    qtbot.keyClick(wall, Qt.Key.Key_1)
    qtbot.keyClick(wall, Qt.Key.Key_M)
    assert [f.audio.listening for f in feeds][:3] == [True, False, False]
    qtbot.keyClick(wall, Qt.Key.Key_2)
    with qtbot.waitSignal(wall.listening_changed) as heard:
        qtbot.keyClick(wall, Qt.Key.Key_M)
    assert heard.args == [feeds[1]]
    assert [f.audio.listening for f in feeds][:3] == [False, True, False]
    qtbot.keyClick(wall, Qt.Key.Key_M)
    assert not any(f.audio.listening for f in feeds)

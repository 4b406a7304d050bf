"""The wall: grid placement, drag to swap, spotlight, keys, one tile heard at a time, feeds
added and removed while it runs, and the tile menu."""

import threading

import pytest
import shiboken6
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMenu, QWidget
from pytestqt.qtbot import QtBot

from media.live.feed import Connection, Feed, FeedKind, FeedSpec, FeedState
from tests.pictures import solid_picture
from widgets.wall.wall import PictureBell, Wall

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


# -- feeds coming and going ----------------------------------------------------------------


def caller(name: str, *, incident: str | None = None, can_end: bool = True) -> Feed:
    feed = Feed(FeedSpec(name, FeedKind.CALLER, "webrtc:", incident=incident))
    feed.can_end = can_end
    return feed


def ring(feed: Feed, bgr: tuple[int, int, int], sequence: int = 1) -> None:
    """What a decode thread does with a new picture: slot it, then tell the listener."""
    width, height = feed.display_size
    feed.slot.put(solid_picture(max(width, 16), max(height, 16), bgr, sequence))
    listener = feed.picture_listener  # read once: the wall may let go of it meanwhile
    if listener is not None:
        listener(feed)


def test_an_added_feed_gets_a_tile_and_its_pictures_are_painted(wall: Wall, qtbot: QtBot) -> None:
    """In: a tenth feed added to the 3x3 wall. Out: order_changed with it last, a 4x4 grid
    with ten visible tiles numbered 1-10, and a picture rung from a decode thread painted."""
    feed = caller("C10")
    feed.set_connection(Connection(FeedState.LIVE))
    with qtbot.waitSignal(wall.order_changed) as changed:
        tile = wall.add_feed(feed)
    assert changed.args[0] == [f"F{i}" for i in range(1, 10)] + ["C10"]
    assert wall.tiles[-1] is tile
    assert [t.number for t in wall.tiles] == list(range(1, 11))
    assert all(t.isVisible() for t in wall.tiles)
    assert tile.width() < wall.width() / 3.5, "the grid grew to four across"
    assert feed.display_size == (tile.width(), tile.height())
    worker = threading.Thread(target=ring, args=(feed, (0, 0, 255)))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: tile.painted_frames == 1, timeout=1000)


def test_adding_a_feed_twice_is_refused(wall: Wall) -> None:
    """In: a feed already on the wall added again. Out: ValueError, and still nine tiles."""
    with pytest.raises(ValueError, match="already on the wall"):
        wall.add_feed(wall.tiles[0].feed)
    assert len(wall.tiles) == 9


def test_feeds_come_and_go_while_pictures_arrive(wall: Wall, qtbot: QtBot) -> None:
    """In: callers added and removed one after another while a thread keeps putting pictures
    in every feed's slot (removed ones included) and ringing. Out: no error, the survivors
    paint, removed feeds are let go (no listener, shown nowhere) and their tiles deleted."""
    callers = [caller(f"C{i}") for i in range(6)]
    for feed in callers:
        feed.set_connection(Connection(FeedState.LIVE))
    stop = threading.Event()

    def decode_threads() -> None:
        sequence = 0
        while not stop.is_set():
            sequence += 1
            for feed in callers:
                ring(feed, (0, sequence % 255, 0), sequence)
            stop.wait(0.002)

    worker = threading.Thread(target=decode_threads)
    worker.start()
    try:
        removed_tiles = []
        for feed in callers:
            wall.add_feed(feed)
            qtbot.wait(10)
        for feed in callers[::2]:
            removed_tiles.append(wall.tiles[wall.order.index(feed.name)])
            wall.remove_feed(feed)
            qtbot.wait(10)
        kept = [wall.tiles[wall.order.index(f.name)] for f in callers[1::2]]
        qtbot.waitUntil(lambda: all(t.painted_frames > 0 for t in kept), timeout=2000)
    finally:
        stop.set()
        worker.join()
    qtbot.wait(20)
    assert wall.order == [f"F{i}" for i in range(1, 10)] + ["C1", "C3", "C5"]
    for feed in callers[::2]:
        assert feed.picture_listener is None
        assert feed.display_size == (0, 0), "a removed feed is not converted for anyone"
    qtbot.waitUntil(lambda: all(not _alive(t) for t in removed_tiles), timeout=1000)


def _alive(widget: QWidget) -> bool:
    return shiboken6.isValid(widget)


def test_removing_the_selected_spotlit_heard_tile_lets_go_of_it(wall: Wall, qtbot: QtBot) -> None:
    """In: tile 4 selected, in the spotlight and heard; its feed removed. Out: selection
    and listening signals say None, no spotlight, the other eight tiles back in a 3x3 grid."""
    tile = wall.tiles[3]
    feed = tile.feed
    wall.set_spotlight(tile)
    wall.set_listening(tile)
    with (
        qtbot.waitSignal(wall.selection_changed) as selected,
        qtbot.waitSignal(wall.listening_changed) as heard,
        qtbot.waitSignal(wall.order_changed) as order,
    ):
        wall.remove_feed(feed)
    assert selected.args == [None]
    assert heard.args == [None]
    assert not feed.audio.listening
    assert wall.selected is None
    assert wall.spotlight_tile is None
    assert "F4" not in order.args[0]
    assert len(wall.tiles) == 8
    assert all(t.isVisible() for t in wall.tiles), "the layout is back, not a blank spotlight"
    assert [t.number for t in wall.tiles] == list(range(1, 9))


def test_removing_another_tile_keeps_selection_and_listening(wall: Wall, qtbot: QtBot) -> None:
    """In: tile 2 selected and heard, tile 5 removed. Out: tile 2 still selected and heard."""
    keep = wall.tiles[1]
    wall.select(keep)
    wall.set_listening(keep)
    wall.remove_feed(wall.tiles[4].feed)
    assert wall.selected is keep
    assert keep.feed.audio.listening


def test_removing_a_feed_not_on_the_wall_does_nothing(wall: Wall, qtbot: QtBot) -> None:
    """In: remove_feed for a feed never added (or removed already). Out: no signal, nine tiles."""
    with qtbot.assertNotEmitted(wall.order_changed):
        wall.remove_feed(caller("stranger"))
    assert len(wall.tiles) == 9


# -- the tile's menu -----------------------------------------------------------------------


def actions(menu: QMenu) -> dict[str, QAction]:
    return {a.text(): a for a in menu.actions() if not a.isSeparator()}


def test_menu_spotlights_and_listens_then_offers_the_way_back(wall: Wall) -> None:
    """In: tile 2's menu, Spotlight then Listen triggered. Out: it is spotlit and heard, and
    its next menu says Leave spotlight and Mute, which undo both."""
    tile = wall.tiles[1]
    menu = wall.tile_menu(tile)
    assert list(actions(menu)) == ["Spotlight", "Listen"], "a bodycam cannot be ended here"
    actions(menu)["Spotlight"].trigger()
    actions(menu)["Listen"].trigger()
    assert wall.spotlight_tile is tile
    assert tile.feed.audio.listening
    menu = wall.tile_menu(tile)
    assert list(actions(menu)) == ["Leave spotlight", "Mute"]
    actions(menu)["Leave spotlight"].trigger()
    actions(menu)["Mute"].trigger()
    assert wall.spotlight_tile is None
    assert not tile.feed.audio.listening


@pytest.mark.parametrize(
    ("state", "offered", "signal"),
    [
        (FeedState.CONNECTING, "End caller's stream…", "end_requested"),
        (FeedState.LIVE, "End caller's stream…", "end_requested"),
        (FeedState.RECONNECTING, "End caller's stream…", "end_requested"),
        (FeedState.ENDED, "Remove tile", "remove_requested"),
        (FeedState.FAILED, "Remove tile", "remove_requested"),
    ],
)
def test_a_callers_menu_ends_a_running_stream_or_removes_a_finished_one(
    wall: Wall, qtbot: QtBot, state: FeedState, offered: str, signal: str
) -> None:
    """In: a can_end caller in `state`; its menu's last action triggered. Out: the one action
    that fits the state (end while running, remove once ended or failed), emitting its
    signal with the feed; the wall itself removes nothing (the app decides)."""
    feed = caller("C1")
    feed.set_connection(Connection(state))
    tile = wall.add_feed(feed)
    menu = wall.tile_menu(tile)
    assert list(actions(menu)) == ["Spotlight", "Listen", offered]
    with qtbot.waitSignal(getattr(wall, signal)) as asked:
        actions(menu)[offered].trigger()
    assert asked.args == [feed]
    assert wall.tiles[-1] is tile


def test_a_caller_the_room_cannot_end_has_no_end_action(wall: Wall) -> None:
    """In: a caller feed without can_end, live and then ended. Out: neither End nor Remove."""
    feed = caller("C1", can_end=False)
    tile = wall.add_feed(feed)
    assert list(actions(wall.tile_menu(tile))) == ["Spotlight", "Listen"]
    feed.set_connection(Connection(FeedState.ENDED))
    assert list(actions(wall.tile_menu(tile))) == ["Spotlight", "Listen"]


def test_a_menu_outliving_its_tile_does_nothing(wall: Wall) -> None:
    """In: tile 3's menu open, its feed removed, then Spotlight triggered. Out: no spotlight."""
    tile = wall.tiles[2]
    menu = wall.tile_menu(tile)
    wall.remove_feed(tile.feed)
    actions(menu)["Spotlight"].trigger()
    assert wall.spotlight_tile is None


def test_right_click_selects_the_tile_and_pops_its_menu_up(wall: Wall, qtbot: QtBot) -> None:
    """In: a context-menu event (mouse) over tile 6. Out: tile 6 selected and a visible menu
    whose first action is Spotlight; closing it deletes it."""
    tile = wall.tiles[5]
    event = QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse, QPoint(10, 10), tile.mapToGlobal(QPoint(10, 10))
    )
    QApplication.sendEvent(tile, event)
    assert wall.selected is tile
    menus = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu) and w.isVisible()]
    assert len(menus) == 1
    assert menus[0].actions()[0].text() == "Spotlight"
    menus[0].close()
    qtbot.waitUntil(lambda: not _alive(menus[0]), timeout=1000)


def menu_key(wall: Wall) -> QContextMenuEvent:
    return QContextMenuEvent(
        QContextMenuEvent.Reason.Keyboard, QPoint(5, 5), wall.mapToGlobal(QPoint(5, 5))
    )


def test_the_menu_key_opens_the_selected_tiles_menu(wall: Wall, qtbot: QtBot) -> None:
    """In: tile 8 selected, then a keyboard context-menu event on the wall. Out: a visible
    menu for tile 8, shown over it; with nothing selected, no menu."""
    QApplication.sendEvent(wall, menu_key(wall))
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu) and w.isVisible()]
    wall.select(wall.tiles[7])
    QApplication.sendEvent(wall, menu_key(wall))
    menus = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu) and w.isVisible()]
    assert len(menus) == 1
    tile_area = wall.tiles[7].geometry().translated(wall.mapToGlobal(QPoint(0, 0)))
    assert tile_area.contains(menus[0].pos())
    menus[0].close()

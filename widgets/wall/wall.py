"""The video wall: tiles laid out in a grid, each painting its feed's pictures as they come.

Decode threads ring the wall's bell when a picture lands; the GUI thread then repaints
just those tiles. A slower timer keeps states, figures and sound levels current.
Operators rearrange by dragging a tile onto another, spotlight a tile with a double-click
or Enter, pick tiles with the number keys and arrows, and listen to one tile at a time (M).
A right-click on a tile offers the same, and for a caller's stream, ending it.

Feeds come and go while the wall runs (999 callers): `add_feed` and `remove_feed` hook a
tile up and take it down through the same code the constructor uses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtGui import (
    QContextMenuEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
)
from PySide6.QtWidgets import QApplication, QMenu, QWidget

from media.live import Feed, FeedState
from widgets import theme
from widgets.layout import cell_rects, check, layout_for
from widgets.wall.tile import Tile

OVERLAY_INTERVAL_MS = 50
"""How often tiles look at their feed's state, figures and sound level. New pictures do
not wait for this: their decode threads ring the wall's bell."""


class PictureBell(QObject):
    """Wakes the GUI thread when decode threads put new pictures in their slots.

    `ring()` is called on decode threads. While a wake-up is on its way, further rings only
    add their feed to the set, so at most one event waits in Qt's queue however fast
    pictures come or however long the GUI thread is busy."""

    rang = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending: set[Feed] = set()

    def ring(self, feed: Feed) -> None:
        with self._lock:
            wake = not self._pending
            self._pending.add(feed)
        if wake:
            self.rang.emit()

    def take(self) -> set[Feed]:
        with self._lock:
            pending, self._pending = self._pending, set()
        return pending


class Wall(QWidget):
    layout_changed = Signal(str)
    order_changed = Signal(list)
    """Feed names in tile order, after a swap or a feed added or removed."""
    listening_changed = Signal(object)
    """The feed now heard, or None when all tiles are muted."""
    selection_changed = Signal(object)
    """The selected feed, or None."""
    end_requested = Signal(object)
    """The operator asked to end this feed (a caller's stream); the app confirms and ends it."""
    remove_requested = Signal(object)
    """The operator asked to take this ended feed's tile away; the app calls `remove_feed`."""
    feed_shown = Signal(object)
    """A feed's tile was added to the wall after it was made (the window logs the viewing)."""
    feed_taken_off = Signal(object)
    """A feed's tile was taken off the wall."""
    escape_pressed = Signal()
    """Esc with nothing of the wall's own to undo (no spotlight): the window's to use."""
    open_requested = Signal(object)
    """Open this shuttered feed's tile (a body cam): the app asks for the reason."""
    close_requested = Signal(object)
    """Close this opened body cam's tile again: the app ends its viewing."""

    def __init__(
        self, feeds: Sequence[Feed], layout: str = "auto", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.tiles: list[Tile] = []
        self._by_feed: dict[Feed, Tile] = {}
        self._layout = check(layout)
        self._selected: Tile | None = None
        self._spotlight: Tile | None = None
        self._press: tuple[Tile, QPoint] | None = None
        self._dragging = False
        self._hover: Tile | None = None
        self._empty_text = "No feeds"
        self.offers_opening = False
        """Whether the tile menu offers to open a shuttered tile (the role may)."""
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(320, 180)
        self._bell = PictureBell(self)
        self._bell.rang.connect(self._on_pictures, Qt.ConnectionType.QueuedConnection)
        for feed in feeds:
            self._attach(feed)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._on_overlay_tick)
        self._timer.start(OVERLAY_INTERVAL_MS)
        self._place_tiles()

    # -- feeds coming and going ---------------------------------------------------------

    def add_feed(self, feed: Feed) -> Tile:
        """Show a new feed in a tile after the others; its pictures ring the wall's bell."""
        if feed in self._by_feed:
            raise ValueError(f"{feed!r} is already on the wall")
        tile = self._attach(feed)
        self._place_tiles()
        self.order_changed.emit(self.order)
        self.feed_shown.emit(feed)
        return tile

    def remove_feed(self, feed: Feed) -> None:
        """Take a feed's tile off the wall. Selection, spotlight and listening let go of it
        first (each saying so through its signal); a feed not on the wall is ignored, so an
        end reported twice does no harm."""
        tile = self._by_feed.get(feed)
        if tile is None:
            return
        if tile is self._selected:
            self.select(None)
        if tile is self._spotlight:
            self._spotlight = None
        if feed.audio.listening:
            self.set_listening(None)
        if self._press is not None and self._press[0] is tile:
            self._press = None
            self._dragging = False
            self.unsetCursor()
        if tile is self._hover:
            self._hover = None
        # A decode thread may still ring for this feed; an unknown feed's ring is dropped.
        if feed.picture_listener == self._bell.ring:
            feed.picture_listener = None
        del self._by_feed[feed]
        self.tiles.remove(tile)
        tile.hide()  # now, not at deletion: the decode thread stops converting for it
        tile.deleteLater()
        self._place_tiles()
        self.update()  # the last tile gone: the empty wall's words show
        self.order_changed.emit(self.order)
        self.feed_taken_off.emit(feed)

    def _attach(self, feed: Feed) -> Tile:
        tile = Tile(feed, self)
        self.tiles.append(tile)
        self._by_feed[feed] = tile
        feed.picture_listener = self._bell.ring
        return tile

    # -- what the window asks -----------------------------------------------------------

    @property
    def layout_name(self) -> str:
        return self._layout

    def set_layout(self, name: str) -> None:
        name = check(name)
        if name != self._layout:
            self._layout = name
            self._place_tiles()
            self.layout_changed.emit(name)

    @property
    def order(self) -> list[str]:
        return [tile.feed.name for tile in self.tiles]

    @property
    def hidden_count(self) -> int:
        """Tiles the layout has no cell for (spotlight aside)."""
        cells = len(layout_for(self._layout, len(self.tiles)).cells)
        return max(0, len(self.tiles) - cells)

    @property
    def selected(self) -> Tile | None:
        return self._selected

    @property
    def spotlight_tile(self) -> Tile | None:
        return self._spotlight

    def select(self, tile: Tile | None) -> None:
        if tile is self._selected:
            return
        if self._selected is not None:
            self._selected.set_selected(False)
        self._selected = tile
        if tile is not None:
            tile.set_selected(True)
        self.selection_changed.emit(tile.feed if tile else None)

    def swap(self, first: Tile, second: Tile) -> None:
        i, j = self.tiles.index(first), self.tiles.index(second)
        if i == j:
            return
        self.tiles[i], self.tiles[j] = self.tiles[j], self.tiles[i]
        self._place_tiles()
        self.order_changed.emit(self.order)

    def arrange(self, names: list[str]) -> None:
        """Put the tiles in this order of feed names (a preset); tiles not named follow in
        their present order."""
        rank = {name: i for i, name in enumerate(names)}
        order = sorted(self.tiles, key=lambda t: rank.get(t.feed.name, len(rank)))
        if order != self.tiles:
            self.tiles = order
            self._place_tiles()
            self.order_changed.emit(self.order)

    def tile_of(self, feed_name: str) -> Tile | None:
        return next((tile for tile in self.tiles if tile.feed.name == feed_name), None)

    def set_spotlight(self, tile: Tile | None) -> None:
        """Show one tile across the whole wall, or (None) go back to the layout."""
        self._spotlight = tile
        if tile is not None:
            self.select(tile)
        self._place_tiles()

    def toggle_spotlight(self) -> None:
        if self._spotlight is not None:
            self.set_spotlight(None)
        elif self._selected is not None:
            self.set_spotlight(self._selected)

    def set_listening(self, tile: Tile | None) -> None:
        """Hear this tile's feed and mute every other (one at a time)."""
        for other in self.tiles:
            if other is not tile and other.feed.audio.listening:
                other.feed.audio.set_listening(False)
                other.update()
        if tile is not None and tile.shutter is not None:
            tile = None  # a closed body cam is not heard either
        if tile is not None:
            tile.feed.audio.set_listening(True)
            tile.update()
        self.listening_changed.emit(tile.feed if tile else None)

    def toggle_listening(self) -> None:
        tile = self._selected
        if tile is None:
            return
        self.set_listening(None if tile.feed.audio.listening else tile)

    # -- the tile's menu --------------------------------------------------------------

    def tile_menu(self, tile: Tile) -> QMenu:
        """The actions a right-click on `tile` offers, as they apply now. The caller shows it
        (`popup`) or, in tests, triggers its actions directly. Actions find the tile again by
        its feed when triggered, so one taken off the wall meanwhile is left alone."""
        feed = tile.feed
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def on_wall(act: Callable[[Tile], None]) -> Callable[[], None]:
            def run() -> None:
                current = self._by_feed.get(feed)
                if current is not None:
                    act(current)

            return run

        if self._spotlight is tile:
            spotlight = menu.addAction("Leave spotlight")
            spotlight.triggered.connect(on_wall(lambda _: self.set_spotlight(None)))
        else:
            spotlight = menu.addAction("Spotlight")
            spotlight.triggered.connect(on_wall(self.set_spotlight))
        spotlight.setObjectName("spotlight")
        if feed.audio.listening:
            listen = menu.addAction("Mute")
            listen.triggered.connect(on_wall(lambda _: self.set_listening(None)))
            listen.setObjectName("listen")
        elif tile.shutter is None:
            listen = menu.addAction("Listen")
            listen.triggered.connect(on_wall(self.set_listening))
            listen.setObjectName("listen")
        if tile.shutter is not None and self.offers_opening:
            menu.addSeparator()
            opening = menu.addAction("Open body cam…")
            opening.setObjectName("open")
            opening.triggered.connect(lambda: self.open_requested.emit(feed))
        elif tile.reason is not None:
            menu.addSeparator()
            closing = menu.addAction("Close body cam")
            closing.setObjectName("close")
            closing.triggered.connect(lambda: self.close_requested.emit(feed))
        if feed.can_end:
            menu.addSeparator()
            if feed.state() in (FeedState.ENDED, FeedState.FAILED):
                remove = menu.addAction("Remove tile")
                remove.setObjectName("remove")
                remove.triggered.connect(lambda: self.remove_requested.emit(feed))
            else:
                end = menu.addAction("End caller's stream…")
                end.setObjectName("end")
                end.triggered.connect(lambda: self.end_requested.emit(feed))
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        # Tiles ignore the event, so a right-click on one arrives here in wall coordinates.
        if event.reason() == QContextMenuEvent.Reason.Mouse:
            tile = self._tile_at(event.pos())
            where = event.globalPos()
        else:  # the menu key: the selected tile's menu, shown over it
            tile = self._selected if self._selected and self._selected.isVisible() else None
            where = self.mapToGlobal(tile.geometry().center()) if tile else event.globalPos()
        if tile is None:
            event.ignore()
            return
        self.select(tile)
        self.tile_menu(tile).popup(where)
        event.accept()

    # -- geometry -------------------------------------------------------------------------

    def _place_tiles(self) -> None:
        if self._spotlight is not None:
            for tile in self.tiles:
                if tile is self._spotlight:
                    tile.setGeometry(self.rect())
                    tile.show()
                else:
                    tile.hide()
            return
        layout = layout_for(self._layout, len(self.tiles))
        rects = cell_rects(layout, self.width(), self.height())
        for index, tile in enumerate(self.tiles):
            tile.number = index + 1
            if index < len(rects):
                tile.setGeometry(QRect(*rects[index]))
                tile.show()
            else:
                tile.hide()

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._place_tiles()
        super().resizeEvent(event)

    def set_empty_text(self, text: str) -> None:
        """What an empty wall says (how feeds arrive), so it never looks broken."""
        self._empty_text = text
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(event.rect(), theme.BACKGROUND)
        if not self.tiles:
            font = painter.font()
            font.setPointSizeF(max(11.0, self.height() / 45))
            painter.setFont(font)
            painter.setPen(theme.TEXT_DIM)
            painter.drawText(
                self.rect().adjusted(40, 40, -40, -40),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self._empty_text,
            )
        painter.end()

    def _on_pictures(self) -> None:
        for feed in self._bell.take():
            tile = self._by_feed.get(feed)
            if tile is not None and tile.isVisible():
                tile.show_new_picture()

    def _on_overlay_tick(self) -> None:
        now = time.monotonic()
        for tile in self.tiles:
            if tile.isVisible():
                tile.refresh(now)

    # -- keyboard -------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        visible = [tile for tile in self.tiles if not tile.isHidden()]
        if Qt.Key.Key_1 <= key <= Qt.Key.Key_9:
            index = key - Qt.Key.Key_1
            if index < len(self.tiles):
                self.select(self.tiles[index])
                if self._spotlight is not None:
                    self.set_spotlight(self.tiles[index])
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.toggle_spotlight()
        elif key == Qt.Key.Key_Escape and self._spotlight is not None:
            self.set_spotlight(None)
        elif key == Qt.Key.Key_Escape:
            self.escape_pressed.emit()
        elif key == Qt.Key.Key_M:
            self.toggle_listening()
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down) and visible:
            self._move_selection(key, visible)
        else:
            super().keyPressEvent(event)

    def _move_selection(self, key: int, visible: list[Tile]) -> None:
        current = self._selected if self._selected in visible else None
        if current is None:
            self.select(visible[0])
            return
        here = current.geometry().center()
        best: tuple[float, Tile] | None = None
        for tile in visible:
            if tile is current:
                continue
            d = tile.geometry().center() - here
            ahead = {
                Qt.Key.Key_Left: -d.x(),
                Qt.Key.Key_Right: d.x(),
                Qt.Key.Key_Up: -d.y(),
                Qt.Key.Key_Down: d.y(),
            }[Qt.Key(key)]
            if ahead <= 0:
                continue
            cost = ahead + 2 * (
                abs(d.y()) if key in (Qt.Key.Key_Left, Qt.Key.Key_Right) else abs(d.x())
            )
            if best is None or cost < best[0]:
                best = (cost, tile)
        if best is not None:
            self.select(best[1])

    # -- mouse: tiles pass their presses up, so dragging is the wall's business ----------

    def _tile_at(self, pos: QPoint) -> Tile | None:
        for tile in self.tiles:
            if not tile.isHidden() and tile.geometry().contains(pos):
                return tile
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        tile = self._tile_at(event.position().toPoint())
        if tile is not None and event.button() == Qt.MouseButton.LeftButton:
            self.select(tile)
            self.setFocus()
            self._press = (tile, event.position().toPoint())
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is None or self._spotlight is not None:
            return
        pos = event.position().toPoint()
        if not self._dragging:
            moved = (pos - self._press[1]).manhattanLength()
            if moved < QApplication.startDragDistance():
                return
            self._dragging = True
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        target = self._tile_at(pos)
        target = target if target is not self._press[0] else None
        if target is not self._hover:
            if self._hover is not None:
                self._hover.set_drop_target(False)
            if target is not None:
                target.set_drop_target(True)
            self._hover = target

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._press is not None and self._dragging:
            target = self._tile_at(event.position().toPoint())
            if target is not None and target is not self._press[0]:
                self.swap(self._press[0], target)
        if self._hover is not None:
            self._hover.set_drop_target(False)
        self._hover = None
        self._press = None
        self._dragging = False
        self.unsetCursor()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        tile = self._tile_at(event.position().toPoint())
        if self._spotlight is not None:
            self.set_spotlight(None)
        elif tile is not None:
            self.set_spotlight(tile)

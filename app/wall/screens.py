"""The supervisor's wall across several screens: one window per screen, each with its own
layout and feeds, and saved presets that rearrange the whole wall at once.

Screen 1 is the supervisor's own window (app/window.py), with the keyboard, the menus,
the map and the alerts; each further screen gets a keyboardless `ScreenWindow`
(widgets/wall/screen_wall.py) driven from it: a layout per screen, a feed sent to a screen,
a preset applied. A feed is on exactly one screen (its latest-frame slot feeds one tile),
so sending it moves its tile; a feed the plan does not place, or one planned for a screen
that is not plugged in, goes to screen 1, so no feed is ever off the wall.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication, QScreen

from app.wall.plan import Preset, PresetBook, ScreenPlan, WallPlan, place
from media.live import Feed
from widgets.wall import ScreenWindow, Tile, Wall

log = logging.getLogger(__name__)


def wall_screens(count: int | None) -> list[QScreen]:
    """The screens the wall spans, primary first, then left to right: `count` of them, or
    every one (None)."""
    primary = QGuiApplication.primaryScreen()
    others = sorted(
        (s for s in QGuiApplication.screens() if s is not primary),
        key=lambda s: (s.geometry().x(), s.geometry().y()),
    )
    screens = [primary, *others] if primary is not None else others
    return screens if count is None else screens[:count]


class WallScreens(QObject):
    changed = Signal()
    """The arrangement or the presets changed: the window saves them."""
    wall_added = Signal(object)
    """A screen's wall was made (the window hooks its signals up)."""

    def __init__(
        self,
        main: Wall,
        screens: Sequence[QScreen],
        *,
        plan: WallPlan,
        presets: Sequence[Preset] = (),
        current_preset: str | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.walls: list[Wall] = [main]
        self.windows: list[ScreenWindow] = []
        self.screens = list(screens)
        self.names = [screen.name() for screen in self.screens]
        """Each screen's name, kept: a QScreen object dies with its screen."""
        self.lost: set[int] = set()
        """Screens (1-based) unplugged while running: nothing goes to them any more."""
        self.presets = PresetBook(list(presets))
        self.current_preset = current_preset
        self._shown = False
        self._watching = True
        self._applying = False
        main.layout_changed.connect(self._changed)
        main.order_changed.connect(self._changed)
        for number, screen in enumerate(self.screens[1:], start=2):
            planned = plan.screens[number - 1] if len(plan.screens) >= number else ScreenPlan()
            wall = Wall([], planned.layout)  # a plan's layouts are ones the wall knows
            window = ScreenWindow(wall)
            window.screen_lost.connect(lambda n=number: self._screen_lost(n))
            window.setWindowTitle(f"Vigil — wall screen {number} ({screen.name()})")
            self.walls.append(wall)
            self.windows.append(window)
            wall.layout_changed.connect(self._changed)
            wall.order_changed.connect(self._changed)
        self.apply(plan, keep_preset=True)

    # -- what the supervisor's window asks --------------------------------------------------

    def show(self) -> None:
        """Put each further screen's window on its screen (with the supervisor's window)."""
        self._shown = True
        self.set_watching(self._watching)

    def set_watching(self, watching: bool) -> None:
        """Live pictures on the further screens only while the person may watch them."""
        self._watching = watching
        if not self._shown:
            return
        for number, (window, screen) in enumerate(
            zip(self.windows, self.screens[1:], strict=True), start=2
        ):
            if watching and not window.isVisible() and number not in self.lost:
                window.place_on(screen)
            elif not watching:
                window.hide()

    def close(self) -> None:
        for window in self.windows:
            window.allow_close()
            window.close()

    @property
    def count(self) -> int:
        return len(self.walls)

    def tiles(self) -> list[Tile]:
        return [tile for wall in self.walls for tile in wall.tiles]

    def wall_of(self, feed_name: str) -> Wall | None:
        return next((wall for wall in self.walls if wall.tile_of(feed_name) is not None), None)

    def tile_of(self, feed_name: str) -> Tile | None:
        """The feed's tile, on whichever screen holds it."""
        wall = self.wall_of(feed_name)
        return wall.tile_of(feed_name) if wall is not None else None

    def plan(self) -> WallPlan:
        return WallPlan(
            tuple(ScreenPlan(wall.layout_name, tuple(wall.order)) for wall in self.walls)
        )

    def apply(self, plan: WallPlan, *, keep_preset: bool = False) -> None:
        """Arrange the whole wall as `plan` says (a preset, or the saved arrangement)."""
        self._applying = True
        try:
            self._apply(plan)
        finally:
            self._applying = False
        if not keep_preset:
            self.current_preset = None
        self._update_captions()
        self.changed.emit()

    def _apply(self, plan: WallPlan) -> None:
        by_name = {tile.feed.name: tile.feed for tile in self.tiles()}
        targets = place(list(by_name), plan, self.count)
        for number in sorted(self.lost):  # planned for an unplugged screen: screen 1
            targets[0] += targets[number - 1]
            targets[number - 1] = []
        for index, wall in enumerate(self.walls):
            if index < len(plan.screens):
                wall.set_layout(plan.screens[index].layout)
        # Off every wall first, then on: a feed's tile is never on two walls at once.
        moves: list[tuple[Feed, Wall]] = []
        for index, names in enumerate(targets):
            for name in names:
                here = self.wall_of(name)
                if here is not self.walls[index]:
                    if here is not None:
                        here.remove_feed(by_name[name])
                    moves.append((by_name[name], self.walls[index]))
        for feed, wall in moves:
            wall.add_feed(feed)
        for wall, names in zip(self.walls, targets, strict=True):
            wall.arrange(names)

    def set_layout(self, number: int, layout: str) -> None:
        """Screen `number` (1-based) to `layout`; ValueError names what is wrong."""
        self._wall(number).set_layout(layout)  # the wall names a layout it does not know

    def send(self, feed_name: str, number: int) -> None:
        """Move a feed's tile to screen `number` (1-based), last on it."""
        target = self._wall(number)
        here = self.wall_of(feed_name)
        if here is None:
            raise ValueError(f"no feed named {feed_name!r} is on the wall")
        if here is target:
            return
        tile = here.tile_of(feed_name)
        assert tile is not None
        feed = tile.feed
        here.remove_feed(feed)
        target.add_feed(feed)

    def apply_preset(self, name: str) -> None:
        preset = self.presets.get(name)
        if preset is None:
            known = ", ".join(self.presets.names) or "none saved yet"
            raise ValueError(f"no wall preset named {name!r} (presets: {known})")
        self.apply(preset.plan)
        self.current_preset = preset.name  # after apply(), which forgets any preset
        self._update_captions()
        self.changed.emit()
        log.info("wall preset %r applied", preset.name)

    def apply_number(self, number: int) -> str | None:
        """The Ctrl+number keys: apply the `number`th preset; its name, or None if none."""
        preset = self.presets.by_number(number)
        if preset is None:
            return None
        self.apply_preset(preset.name)
        return preset.name

    def save_preset(self, name: str) -> Preset:
        preset = self.presets.save(name, self.plan())
        self.current_preset = preset.name
        self._update_captions()
        self.changed.emit()
        return preset

    def describe(self) -> dict[str, object]:
        """The wall as `vigil wall` shows it."""
        return {
            "screens": [
                {
                    "index": number,
                    "name": name,
                    "layout": wall.layout_name,
                    "feeds": wall.order,
                    "unplugged": number in self.lost,
                }
                for number, (wall, name) in enumerate(
                    zip(self.walls, self.names, strict=True), start=1
                )
            ],
            "presets": self.presets.names,
            "current_preset": self.current_preset,
        }

    # -- inside -------------------------------------------------------------------------------

    def _wall(self, number: int) -> Wall:
        if not 1 <= number <= self.count:
            raise ValueError(
                f"there is no screen {number}: the wall spans {self.count} "
                f"screen{'s' if self.count > 1 else ''}"
            )
        if number in self.lost:
            raise ValueError(f"screen {number} ({self.names[number - 1]}) is unplugged")
        return self.walls[number - 1]

    def _changed(self, *_: object) -> None:
        """A layout or an order changed by hand: the wall is no longer the preset."""
        if self._applying:
            return
        self.current_preset = None
        self._update_captions()
        self.changed.emit()

    def _update_captions(self) -> None:
        preset = f" · preset {self.current_preset}" if self.current_preset else ""
        for number, (window, wall, name) in enumerate(
            zip(self.windows, self.walls[1:], self.names[1:], strict=True), start=2
        ):
            window.set_caption(
                f"Screen {number} · {name} · layout {wall.layout_name} · "
                f"{len(wall.tiles)} feeds{preset}"
            )

    def _screen_lost(self, number: int) -> None:
        """A screen was unplugged: its feeds come home to screen 1, never off the wall."""
        self.lost.add(number)
        wall = self.walls[number - 1]
        for tile in list(wall.tiles):
            feed = tile.feed
            wall.remove_feed(feed)
            self.walls[0].add_feed(feed)
        self.windows[number - 2].hide()
        log.warning("wall screen %d was unplugged: its feeds moved to screen 1", number)
        self.changed.emit()

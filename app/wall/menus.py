"""The supervisor's Wall menu: presets on Ctrl+1…9, saving the wall as a preset, each
further screen's layout, and sending the selected tile to a screen (Ctrl+Alt+1…9).

Glue between the window's menu bar and the arrangement of the screens (app/wall/screens.py),
on the GUI thread. The whole menu, keys included, is offered only to a role that manages
layouts; `allow(False)` takes it away.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMainWindow, QMenu

from app.wall.plan import MAX_PRESETS
from app.wall.screens import WallScreens
from widgets.layout import CHOICES


class WallMenus(QObject):
    def __init__(
        self, window: QMainWindow, screens: WallScreens, say: Callable[[str], None]
    ) -> None:
        super().__init__(window)
        self._window = window
        self._screens = screens
        self._say = say
        self._allowed = True
        self.menu = window.menuBar().addMenu("&Wall")
        self.preset_actions: list[QAction] = []
        for number in range(1, MAX_PRESETS + 1):
            action = QAction(self)
            action.setShortcut(QKeySequence(f"Ctrl+{number}"))
            action.triggered.connect(lambda _=False, n=number: self.apply_number(n))
            self.menu.addAction(action)
            window.addAction(action)
            self.preset_actions.append(action)
        self.menu.addSeparator()
        self.save_action = self._add("&Save wall as preset…", "Ctrl+Shift+S", self.ask_name)
        self.send_actions: list[QAction] = []
        self.layout_menus: list[QMenu] = []
        if screens.count > 1:
            self.menu.addSeparator()
            for number in range(1, screens.count + 1):
                send = self._add(
                    f"Send selected tile to screen &{number}", f"Ctrl+Alt+{number}", None
                )
                send.triggered.connect(lambda _=False, n=number: self.send_selected(n))
                self.send_actions.append(send)
            self.menu.addSeparator()
            for number in range(2, screens.count + 1):
                self.layout_menus.append(self._layout_menu(number))
        screens.changed.connect(self.refresh)
        self.dialog: QInputDialog | None = None
        self.refresh()

    def allow(self, allowed: bool) -> None:
        """Offer the menu and its keys, or take them away (a role that may not)."""
        self._allowed = allowed
        self.menu.menuAction().setVisible(allowed)
        for action in [self.save_action, *self.send_actions]:
            action.setEnabled(allowed)
        self.refresh()

    def refresh(self) -> None:
        """Preset entries as the book has them now, the current one ticked."""
        names = self._screens.presets.names
        for number, action in enumerate(self.preset_actions, start=1):
            name = names[number - 1] if number <= len(names) else None
            action.setText(f"&{number}  {name}" if name else f"{number}  (no preset)")
            action.setCheckable(True)
            action.setChecked(name is not None and name == self._screens.current_preset)
            action.setVisible(name is not None or number == 1)
            action.setEnabled(self._allowed and name is not None)

    def apply_number(self, number: int) -> None:
        if not self._allowed:
            return
        name = self._screens.apply_number(number)
        self._say(f"Wall preset {number}: {name}" if name else f"No wall preset {number} yet")

    def save_as(self, name: str) -> None:
        try:
            preset = self._screens.save_preset(name)
        except ValueError as exc:
            self._say(f"Not saved: {exc}")
            return
        number = self._screens.presets.names.index(preset.name) + 1
        self._say(f"Saved wall preset {preset.name!r}: Ctrl+{number} brings it back")

    def ask_name(self) -> QInputDialog:
        dialog = QInputDialog(self._window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setWindowTitle("Save wall as preset")
        dialog.setLabelText(
            "Name for this arrangement of every screen (layouts and feeds).\n"
            "A preset of the same name is replaced."
        )
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        dialog.setTextValue(self._screens.current_preset or "")
        dialog.textValueSelected.connect(self.save_as)
        dialog.finished.connect(lambda _: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()  # never exec(): the wall keeps painting
        return dialog

    def send_selected(self, number: int) -> None:
        tile = self._screens.walls[0].selected
        if tile is None or not self._allowed:
            return
        try:
            self._screens.send(tile.feed.name, number)
        except ValueError as exc:
            self._say(str(exc))
            return
        self._say(f"{tile.feed.name} is on screen {number}")

    def _layout_menu(self, number: int) -> QMenu:
        menu = self.menu.addMenu(f"Screen {number} &layout")
        group = QActionGroup(menu)
        wall = self._screens.walls[number - 1]
        for name in CHOICES:
            action = QAction(name, menu, checkable=True)
            action.setChecked(name == wall.layout_name)
            action.triggered.connect(
                lambda _=False, n=name, s=number: self._screens.set_layout(s, n)
            )
            group.addAction(action)
            menu.addAction(action)

        def check_current(current: str) -> None:
            for action in group.actions():
                action.setChecked(action.text() == current)

        wall.layout_changed.connect(check_current)
        return menu

    def _add(self, text: str, keys: str, slot: Callable[[], object] | None) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(keys))
        if slot is not None:
            action.triggered.connect(slot)
        self.menu.addAction(action)
        self._window.addAction(action)
        return action

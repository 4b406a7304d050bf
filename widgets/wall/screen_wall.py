"""One keyboardless screen of the supervisor's wall: a frameless full-screen window holding a
`Wall` and a thin caption strip saying which screen it is and what it shows.

The supervisor drives every screen from the workstation (the main window on the primary
screen), so a wall screen never takes keyboard focus from it, and it is closed by the
application, not by a stray Alt+F4. If its screen is unplugged the window hides (Qt would
otherwise move a full-screen window onto the supervisor's own screen) and says so through
`screen_lost`, so the application can bring its feeds home.

The wall is made by the application and handed in, so the application keeps hold of the
tiles, their feeds and their signals, as it does for its own window's wall.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QRect, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QScreen, QWindow
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from widgets import theme
from widgets.wall.wall import Wall

CAPTION_HEIGHT = 28
"""Pixels: readable from the supervisor's desk, small beside a 1080-line wall."""
SEPARATOR = " · "


def caption_text(
    number: int, screen_name: str, layout: str, preset: str | None = None, hidden: int = 0
) -> str:
    """ "Screen 2 · WALL-2 · layout 2x2 · preset Night shift" (screens numbered from 1, as
    the supervisor counts them); tiles the layout has no cell for are said, never silent."""
    parts = [f"Screen {number}", screen_name, f"layout {layout}"]
    if preset:
        parts.append(f"preset {preset}")
    if hidden:
        parts.append(f"{hidden} not shown")
    return SEPARATOR.join(parts)


class ScreenWindow(QWidget):
    screen_lost = Signal()
    """The screen this window was placed on went away; the window has hidden itself."""

    def __init__(self, wall: Wall, parent: QWidget | None = None) -> None:
        super().__init__(
            parent,
            Qt.WindowType.Window
            | Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowDoesNotAcceptFocus,
        )
        # Keys belong to the supervisor's window: showing a wall screen must not take them.
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(self.backgroundRole(), theme.BACKGROUND)
        self.setPalette(palette)
        self.wall = wall
        # A click on a tile (drag to swap) must not move the keyboard here either.
        wall.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.caption = QLabel()
        self.caption.setObjectName("caption")
        self.caption.setFixedHeight(CAPTION_HEIGHT)
        self.caption.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.caption.setContentsMargins(10, 0, 10, 0)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.caption.setStyleSheet(
            f"QLabel#caption {{ background: {theme.TILE_BACKGROUND.name()};"
            f" color: {theme.TEXT_DIM.name()}; font-size: 15px;"
            f" border-top: 1px solid {theme.BACKGROUND.name()}; }}"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(wall, 1)
        layout.addWidget(self.caption)
        self._screen: QScreen | None = None
        self._may_close = False
        app = QGuiApplication.instance()
        if not isinstance(app, QGuiApplication):
            raise RuntimeError("ScreenWindow needs a QApplication")
        self._keys_owner: QWindow | None = app.focusWindow()
        """The window whose keys these are (the supervisor's), to hand focus back to."""
        app.screenRemoved.connect(self._on_screen_removed)
        app.focusWindowChanged.connect(self._on_focus_window_changed)
        self._following = True

    # -- placement ----------------------------------------------------------------------

    @property
    def placed_screen(self) -> QScreen | None:
        """The screen given to `place_on`, or None before that and after it went away."""
        return self._screen

    def place_on(self, screen: QScreen) -> None:
        """Cover `screen`, full screen, and stay with it if its resolution changes."""
        if self._screen is not None:
            self._screen.geometryChanged.disconnect(self._on_geometry_changed)
        self._screen = screen
        screen.geometryChanged.connect(self._on_geometry_changed)
        self.setScreen(screen)
        self.setGeometry(screen.geometry())
        # showFullScreen() would also ask for activation (refused, with a warning, for a
        # window that accepts no focus); this is the same without that.
        unwanted = Qt.WindowState.WindowMinimized | Qt.WindowState.WindowMaximized
        self.setWindowState((self.windowState() & ~unwanted) | Qt.WindowState.WindowFullScreen)
        self.show()

    def set_caption(self, text: str) -> None:
        self.caption.setText(text)

    def _on_geometry_changed(self, geometry: QRect) -> None:
        self.setGeometry(geometry)

    def _on_focus_window_changed(self, window: QWindow | None) -> None:
        if window is None:
            return
        if window is not self.windowHandle():
            if not window.flags() & Qt.WindowType.WindowDoesNotAcceptFocus:
                self._keys_owner = window
            return
        # Some platforms (Qt's offscreen one; window managers that ignore the hint) focus
        # any window shown. The supervisor's next keystroke must not land here: give the
        # keys back once Qt has finished this change.
        owner = self._keys_owner
        if owner is not None:
            QTimer.singleShot(0, self, lambda: _activate(owner))

    def _on_screen_removed(self, screen: QScreen) -> None:
        if self._screen is None or screen is not self._screen:
            return
        self._screen = None
        self.hide()
        self.screen_lost.emit()

    # -- closing ------------------------------------------------------------------------

    def allow_close(self) -> None:
        """Let the next close through: the application is taking this screen down."""
        self._may_close = True

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._may_close:
            event.ignore()
            return
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication) and self._following:
            # Once only: the application may close a window twice on its way out.
            self._following = False
            app.screenRemoved.disconnect(self._on_screen_removed)
            app.focusWindowChanged.disconnect(self._on_focus_window_changed)
        if self._screen is not None:
            self._screen.geometryChanged.disconnect(self._on_geometry_changed)
            self._screen = None
        super().closeEvent(event)


def _activate(window: QWindow) -> None:
    if shiboken6.isValid(window) and window.isVisible():
        window.requestActivate()

"""The Review window's player: the picture, a timeline over the clip, and the controls.

Decoding runs on the clip player's own thread (media/clips/player.py); its pictures come
here through a queued signal, already at the view's size. The time label gives the frame's
UTC time to the millisecond and its number in the clip, which is what a statement or a still
cites. The timeline marks in red where the clip has no picture.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from media.clips import SPEEDS, ClipIndex, ClipPlayer, PlayState, ShownFrame, format_utc
from widgets import theme
from widgets.evidence.review_timeline import Timeline, media_icon
from widgets.wall import fit_rect


class _PlayerBridge(QObject):
    """Carries the player thread's news to the GUI thread."""

    frame = Signal(object)
    state = Signal(object)


class PictureView(QWidget):
    """The current frame, as large as fits, letterboxed."""

    resized = Signal(int, int)
    """The size pictures should be made at, in device pixels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.shown: ShownFrame | None = None
        self._image: QImage | None = None
        self._empty_text = "Choose a clip to review it."

    def set_frame(self, frame: ShownFrame | None) -> None:
        self.shown = frame
        self._image = None
        if frame is not None:
            # The array must outlive the image that borrows it: `shown` holds it.
            pixels, stride = frame.pixels.data, frame.stride
            self._image = QImage(
                pixels, frame.width, frame.height, stride, QImage.Format.Format_RGB32
            )
        self.update()

    def set_empty_text(self, text: str) -> None:
        self._empty_text = text
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), theme.BACKGROUND)
        if self._image is not None and self.shown is not None:
            target = fit_rect(self.rect(), self.shown.source_width, self.shown.source_height)
            painter.drawImage(target, self._image)
        else:
            painter.setPen(theme.TEXT_DIM)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._empty_text)
        painter.end()

    def resizeEvent(self, event: QResizeEvent) -> None:
        ratio = self.devicePixelRatioF()
        self.resized.emit(round(self.width() * ratio), round(self.height() * ratio))
        super().resizeEvent(event)


class PlayerPanel(QWidget):
    """Plays one clip at a time: `load(index)`, then the controls or the methods."""

    frame_shown = Signal(object)
    """A ShownFrame, once it is on screen."""
    error = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player: ClipPlayer | None = None
        self._generation = 0
        """Counts players: news from one closed meanwhile is recognised and dropped."""
        self.state = PlayState(0, False, 1.0)
        self._bridge = _PlayerBridge(self)
        self._bridge.frame.connect(self._on_frame, Qt.ConnectionType.QueuedConnection)
        self._bridge.state.connect(self._on_state, Qt.ConnectionType.QueuedConnection)
        self._box = (640, 360)

        self.view = PictureView()
        self.view.resized.connect(self._on_resized)
        self.timeline = Timeline()
        self.timeline.valueChanged.connect(self._on_timeline)
        self.first_button = self._button("first", "First frame (Home)", self.seek_start)
        self.back_button = self._button("back", "One frame back (Left or ,)", lambda: self.step(-1))
        self.play_button = self._button("play", "Play or pause (Space)", self.toggle)
        self.forward_button = self._button("on", "One frame on (Right or .)", lambda: self.step(1))
        self.last_button = self._button("last", "Last frame (End)", self.seek_end)
        self.speed = QComboBox()
        for speed in SPEEDS:
            self.speed.addItem(f"{speed:g}×", speed)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setToolTip("Playing speed (J slower, L faster, K pause)")
        self.speed.currentIndexChanged.connect(self._on_speed)
        self.time_label = QLabel()
        self.time_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.time_label.setStyleSheet('font-family: "DejaVu Sans Mono", monospace;')
        self.info_label = QLabel()
        self.info_label.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")

        controls = QHBoxLayout()
        controls.setSpacing(4)
        for widget in self._buttons():
            controls.addWidget(widget)
        controls.addWidget(self.speed)
        controls.addSpacing(10)
        controls.addWidget(self.time_label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.timeline)
        layout.addLayout(controls)
        layout.addWidget(self.info_label)
        self._set_enabled(False)

    def _button(self, icon: str, tip: str, slot: Callable[[], object]) -> QToolButton:
        button = QToolButton()
        button.setIcon(media_icon(icon))
        button.setToolTip(tip)
        button.setMinimumWidth(34)
        button.clicked.connect(slot)
        return button

    def _set_play_icon(self, playing: bool) -> None:
        self.play_button.setIcon(media_icon("pause" if playing else "play"))

    # -- what the window asks --------------------------------------------------------------

    @property
    def index(self) -> ClipIndex | None:
        return self.player.index if self.player is not None else None

    @property
    def shown(self) -> ShownFrame | None:
        return self.view.shown

    def load(self, index: ClipIndex | None) -> None:
        """Show this clip from its first frame, paused (None: show nothing)."""
        self.unload()
        self.timeline.set_index(index)
        if index is None:
            return
        self.info_label.setText(_index_text(index))
        if not len(index):
            self.view.set_empty_text("No recording covers this clip.")
            return
        self._generation += 1
        generation, bridge = self._generation, self._bridge
        self.player = ClipPlayer(
            index,
            lambda frame: bridge.frame.emit((generation, frame)),
            lambda state: bridge.state.emit((generation, state)),
            box=self._box,
        )
        self.player.set_speed(self.speed.currentData())
        self._set_enabled(True)

    def unload(self) -> None:
        if self.player is not None:
            self.player.close()
            self.player = None
        self.state = PlayState(0, False, self.state.speed)
        self.view.set_frame(None)
        self.view.set_empty_text("Choose a clip to review it.")
        self.timeline.set_index(None)
        self.time_label.clear()
        self.info_label.clear()
        self._set_play_icon(False)
        self._set_enabled(False)

    def toggle(self) -> None:
        if self.state.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        if self.player is not None:
            self.player.play()

    def pause(self) -> None:
        if self.player is not None:
            self.player.pause()

    def step(self, frames: int) -> None:
        if self.player is not None:
            self.player.step(frames)

    def seek(self, number: int) -> None:
        if self.player is not None:
            self.player.show(number)

    def seek_start(self) -> None:
        self.seek(0)

    def seek_end(self) -> None:
        if self.player is not None:
            self.seek(len(self.player.index) - 1)

    def set_speed(self, speed: float) -> None:
        self.speed.setCurrentIndex(SPEEDS.index(speed))

    def change_speed(self, steps: int) -> None:
        """J and L: one speed slower or faster."""
        at = min(max(0, self.speed.currentIndex() + steps), len(SPEEDS) - 1)
        self.speed.setCurrentIndex(at)

    # -- inside ----------------------------------------------------------------------------

    def _buttons(self) -> list[QToolButton]:
        return [
            self.first_button,
            self.back_button,
            self.play_button,
            self.forward_button,
            self.last_button,
        ]

    def _set_enabled(self, on: bool) -> None:
        self.timeline.setEnabled(on)
        for widget in self._buttons():
            widget.setEnabled(on)

    def _on_resized(self, width: int, height: int) -> None:
        self._box = (width, height)
        if self.player is not None:
            self.player.set_box(width, height)

    def _on_timeline(self, value: int) -> None:
        if self.player is not None:
            # The frame on screen at that moment: the last one before it in a gap.
            self.player.show_utc(self.timeline.utc_at(value))

    def _on_speed(self, _: int) -> None:
        if self.player is not None:
            self.player.set_speed(self.speed.currentData())

    def _on_frame(self, news: tuple[int, ShownFrame]) -> None:
        generation, frame = news
        if self.player is None or generation != self._generation:
            return  # from a clip unloaded meanwhile
        self.view.set_frame(frame)
        if not self.timeline.isSliderDown():
            self.timeline.blockSignals(True)
            self.timeline.setValue(self.timeline.value_at(frame.ref.utc))
            self.timeline.blockSignals(False)
        self.time_label.setText(_time_text(self.player.index, frame))
        self.frame_shown.emit(frame)

    def _on_state(self, news: tuple[int, PlayState]) -> None:
        generation, state = news
        if self.player is None or generation != self._generation:
            return
        self.state = state
        self._set_play_icon(state.playing)
        if state.error:
            self.error.emit(state.error)


def _time_text(index: ClipIndex, frame: ShownFrame) -> str:
    ref = frame.ref
    offset = ref.utc - index.start_utc
    return (
        f"{format_utc(ref.utc)} UTC   frame {ref.number + 1} of {len(index)}   "
        f"{'+' if offset >= 0 else '−'}{abs(offset):.3f} s"
    )


def _index_text(index: ClipIndex) -> str:
    parts = [
        f"{len(index.segments)} segment{'s' if len(index.segments) != 1 else ''}",
        f"{len(index)} frames",
    ]
    if index.frame_s > 0 and len(index):
        parts.append(f"{1 / index.frame_s:.3g} fps")
    if index.width:
        parts.append(f"{index.width}×{index.height}")
    if index.gaps:
        total = sum(gap.seconds for gap in index.gaps)
        parts.append(f"{len(index.gaps)} gap{'s' if len(index.gaps) != 1 else ''} ({total:.1f} s)")
    else:
        parts.append("no gaps")
    return "  ·  ".join(parts)

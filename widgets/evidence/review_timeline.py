"""The player's timeline and button faces: a slider over the clip's time that marks where
it has no picture, and play, pause and step icons drawn for the dark theme."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPaintEvent, QPixmap, QPolygonF
from PySide6.QtWidgets import QSlider, QStyle, QStyleOptionSlider, QWidget

from media.clips import ClipIndex
from widgets import theme

GAP_COLOUR = QColor("#e03131")


class Timeline(QSlider):
    """A slider over the clip's time, in milliseconds from its start, that marks its gaps.

    Time, not frame numbers: with a gap, the frames after it lie further along than their
    numbers say, and the handle must sit where the red marks put the clip's time."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.index: ClipIndex | None = None
        self.setRange(0, 0)
        self.setPageStep(1000)
        self.setToolTip("Drag to move through the clip; red marks time with no picture")

    def set_index(self, index: ClipIndex | None) -> None:
        self.index = index
        self.setRange(0, self.value_at(index.end_utc) if index is not None else 0)
        if index is not None:
            self.setSingleStep(max(1, round(index.frame_s * 1000)))
        self.update()

    def value_at(self, utc: float) -> int:
        """The slider's value for a UTC time (clamped to the clip)."""
        if self.index is None:
            return 0
        span = self.index.end_utc - self.index.start_utc
        return round(min(max(0.0, utc - self.index.start_utc), span) * 1000)

    def utc_at(self, value: int) -> float:
        return (self.index.start_utc if self.index else 0.0) + value / 1000

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        index = self.index
        if index is None or not index.gaps or index.end_utc <= index.start_utc:
            return
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        style, control = self.style(), QStyle.ComplexControl.CC_Slider
        groove = style.subControlRect(control, option, QStyle.SubControl.SC_SliderGroove, self)
        handle = style.subControlRect(control, option, QStyle.SubControl.SC_SliderHandle, self)
        # Where the style puts the handle's centre for a value: the marks line up with it.
        room = groove.width() - handle.width()

        def x(utc: float) -> int:
            at = QStyle.sliderPositionFromValue(
                self.minimum(), self.maximum(), self.value_at(utc), room
            )
            return groove.left() + handle.width() // 2 + at

        painter = QPainter(self)
        for gap in index.gaps:
            left, right = x(gap.start_utc), x(gap.end_utc)
            painter.fillRect(
                QRect(left, groove.top(), max(2, right - left), groove.height()), GAP_COLOUR
            )
        painter.end()


def media_icon(name: str, size: int = 16) -> QIcon:
    """The player's button faces, drawn in the theme's text colour: the style's own media
    icons are dark grey, which the dark theme all but hides."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(theme.TEXT)
    s = size

    def triangle(x0: float, x1: float) -> None:
        # Its base at x0, its point at x1: right-pointing when x1 > x0.
        painter.drawPolygon(
            QPolygonF([QPointF(x0, s * 0.2), QPointF(x1, s * 0.5), QPointF(x0, s * 0.8)])
        )

    def bar(x: float) -> None:
        painter.drawRect(QRectF(x, s * 0.2, s * 0.14, s * 0.6))

    if name == "play":
        triangle(s * 0.25, s * 0.85)
    elif name == "pause":
        bar(s * 0.26)
        bar(s * 0.6)
    elif name == "back":
        bar(s * 0.15)
        triangle(s * 0.8, s * 0.32)
    elif name == "on":
        triangle(s * 0.2, s * 0.68)
        bar(s * 0.71)
    elif name == "first":
        bar(s * 0.08)
        triangle(s * 0.55, s * 0.22)
        triangle(s * 0.92, s * 0.55)
    elif name == "last":
        triangle(s * 0.08, s * 0.45)
        triangle(s * 0.45, s * 0.78)
        bar(s * 0.78)
    painter.end()
    return QIcon(pixmap)

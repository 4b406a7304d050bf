"""A tile shows one feed: its latest picture, and over it who and what it is and how it is.

The picture arrives already converted to BGRA at the tile's size (the feed's decode
thread does that), so painting is one blit, plus one more for the text over it, which is
drawn into a cached pixmap only when what it says changes. The tile never decodes: it
takes from the feed's latest-frame slot when the wall tells it a picture came.

A caller's tile also says which incident the caller belongs to and, once their phone has
sent a position, how good and how old that fix is: an operator sending help to a map pin
needs to know the pin may be a minute old.

A body cam's tile is shuttered until someone opens it for a stated reason: it shows what
the feed is and how it is, never its picture, and takes no pictures from the feed (the
decode thread stops converting for it). Opened, it shows the reason over the picture, so
everyone in the room can see why it is on the wall.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QHideEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from media.live import SILENCE_DB, Decoding, Feed, FeedState, Picture
from widgets import theme
from widgets.wall.gps_line import GpsLine, gps_line
from widgets.wall.tile_lines import stats_line, substream_line

PaintObserver = Callable[[Feed, Picture, float], None]
"""Called with the picture just painted and the monotonic time of the paint (benchmarks)."""

_METER_LOUD = QColor("#e03131")
_METER_MID = QColor("#fab005")
_METER_OK = QColor("#40c057")

HEADER_H = 32
"""The header bar's height at scale 1 (a 300 px tall tile), in pixels."""
TEXT_PT: dict[str, float] = {
    "name": 12.0,  # what tells the tiles apart
    "state": 11.0,  # LIVE, STALLED, LOST…; fps and REC beside it
    "badge": 10.0,  # the tile's number, its kind, its incident
    "footer": 9.5,  # size, codec, +N ms; the GPS line
    "meter": 8.0,
}
"""Point sizes at scale 1. A 3×3 wall on a 1080p screen (360 px tiles, scale 1.2) gives a
14 px capital in the name and 12 px in the state: legible from a wall's viewing distance."""


def _outside(outer: QRect, inner: QRect) -> list[QRect]:
    """The parts of `outer` that `inner` (centred inside it) leaves uncovered."""
    bars = []
    if inner.top() > outer.top():
        bars.append(QRect(outer.left(), outer.top(), outer.width(), inner.top() - outer.top()))
    if inner.bottom() < outer.bottom():
        bars.append(
            QRect(outer.left(), inner.bottom() + 1, outer.width(), outer.bottom() - inner.bottom())
        )
    if inner.left() > outer.left():
        bars.append(QRect(outer.left(), inner.top(), inner.left() - outer.left(), inner.height()))
    if inner.right() < outer.right():
        bars.append(
            QRect(inner.right() + 1, inner.top(), outer.right() - inner.right(), inner.height())
        )
    return bars


def fit_rect(bounds: QRect, width: int, height: int) -> QRect:
    """The largest rect of the given aspect ratio centred in bounds."""
    if width <= 0 or height <= 0:
        return QRect(bounds)
    size = QSize(width, height).scaled(bounds.size(), Qt.AspectRatioMode.KeepAspectRatio)
    x = bounds.x() + (bounds.width() - size.width()) // 2
    y = bounds.y() + (bounds.height() - size.height()) // 2
    return QRect(x, y, size.width(), size.height())


class Tile(QWidget):
    def __init__(self, feed: Feed, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.feed = feed
        self.number = 0
        self.selected = False
        self.drop_target = False
        self.paint_observer: PaintObserver | None = None
        self.painted_frames = 0
        self._picture: Picture | None = None
        self._image: QImage | None = None
        self._unpainted = False
        self._delay_ms: float | None = None
        self._overlay_key: tuple[object, ...] = ()
        self._overlay: QPixmap | None = None
        self.shutter: tuple[str, ...] | None = None
        """While set, the lines shown instead of the picture (a body cam not opened)."""
        self.reason: str | None = None
        """Why this body cam is open, shown over its picture."""
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        incident = f", {feed.spec.incident}" if feed.spec.incident else ""
        self.setAccessibleName(f"{feed.kind.value} {feed.name}{incident}")
        self.setToolTip(f"{feed.name} ({feed.kind.value}{incident})")

    # -- called by the wall ------------------------------------------------------------

    def show_new_picture(self) -> None:
        """Take the feed's new picture, if one came, and schedule its paint."""
        picture = self.feed.slot.take()
        if picture is not None and self.shutter is None:
            self._set_picture(picture)
            self.update()

    def set_shutter(self, lines: tuple[str, ...] | None) -> None:
        """Show these lines instead of the picture (None: show the picture again). The
        last picture is dropped at once, so nothing of it can be painted afterwards."""
        if lines == self.shutter:
            return
        self.shutter = lines
        if lines is not None:
            self._picture = None
            self._image = None
        self._announce_size()
        self._overlay = None
        self.update()

    def set_reason(self, reason: str | None) -> None:
        if reason != self.reason:
            self.reason = reason
            self._overlay = None
            self.update()

    def refresh(self, now: float) -> None:
        """Show a new picture, and repaint if what the overlay says has changed."""
        self.show_new_picture()
        key = self._overlay_state(now)
        if key != self._overlay_key:
            self._overlay_key = key
            self._overlay = None
            self.update()
        elif self.feed.audio.present:
            self.update(self._meter_rect())  # the level meter moves on its own

    def gps_line(self, unix_now: float | None = None) -> GpsLine | None:
        """What the tile says about the feed's position fix now (None: it says nothing)."""
        return gps_line(self.feed.location, time.time() if unix_now is None else unix_now)

    def stats_line(self, state: FeedState | None = None) -> str:
        """The footer's line about the picture (SUB, size, codec, delay)."""
        state = self.feed.state() if state is None else state
        return stats_line(self.feed, state, self._delay_ms)

    def substream_line(self) -> str | None:
        """Why the feed's sub-stream is not used, or None (a closed body cam says nothing)."""
        return None if self.shutter is not None else substream_line(self.feed)

    def set_selected(self, selected: bool) -> None:
        if selected != self.selected:
            self.selected = selected
            self._overlay = None
            self.update()

    def set_drop_target(self, target: bool) -> None:
        if target != self.drop_target:
            self.drop_target = target
            self._overlay = None
            self.update()

    # -- Qt ----------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._announce_size()
        self._overlay = None
        super().resizeEvent(event)

    def showEvent(self, event: QShowEvent) -> None:
        self._announce_size()

    def hideEvent(self, event: QHideEvent) -> None:
        # Hidden (behind a spotlight, past the layout's cells, its screen off, taken off the
        # wall): no conversion, and key frames only, so it comes back at full rate within
        # one key-frame interval while its recording and telemetry go on from its packets.
        self.feed.set_display_size(0, 0)
        self.feed.decoding = Decoding.KEY_FRAMES

    def mousePressEvent(self, event: QMouseEvent) -> None:
        event.ignore()  # the wall handles selection and dragging

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        event.ignore()

    def _announce_size(self) -> None:
        """Tell the feed what its picture is wanted at: the size, and how much to decode
        (key frames only for a closed body cam: no one may see it, and a key frame now and
        then keeps its health honest)."""
        if self.shutter is not None or not self.isVisible():
            self.feed.set_display_size(0, 0)  # nothing to show: no conversion either
            self.feed.decoding = Decoding.KEY_FRAMES
            return
        self.feed.decoding = Decoding.ALL
        ratio = self.devicePixelRatioF()
        self.feed.set_display_size(round(self.width() * ratio), round(self.height() * ratio))

    def _set_picture(self, picture: Picture) -> None:
        self._picture = picture
        image = QImage(
            picture.pixels.data,
            picture.width,
            picture.height,
            picture.stride,
            QImage.Format.Format_RGB32,
        )
        image.setDevicePixelRatio(self.devicePixelRatioF())
        self._image = image
        self._unpainted = True

    def _overlay_state(self, now: float) -> tuple[object, ...]:
        feed = self.feed
        connection = feed.connection
        age = feed.quiet_s(now)
        countdown = None
        if connection.next_attempt_at is not None:
            countdown = round(max(0.0, connection.next_attempt_at - now), 1)
        stats = feed.stats
        return (
            feed.state(now),
            connection.error,
            countdown,
            round(stats.current_fps(now)),
            int(age) if age is not None and age >= 2 else None,
            feed.audio.present,
            feed.audio.listening,
            feed.recording,
            feed.recording_stopped is not None,
            self.number,
            (stats.width, stats.height, stats.codec),
            feed.stream,
            feed.substream_problem,
            None if self._delay_ms is None else round(self._delay_ms / 5) * 5,
            # Location.at is Unix time, so the fix's age is on the wall clock, not `now`.
            self.gps_line(),
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        now = time.monotonic()
        painter = QPainter(self)
        rect = self.rect()
        state = self.feed.state(now)
        picture, image = self._picture, self._image
        if picture is None or image is None:
            painter.fillRect(rect, theme.TILE_BACKGROUND)
        else:
            target = fit_rect(rect, picture.width, picture.height)
            if target != rect:  # letterbox bars only; the picture covers the rest
                for bar in _outside(rect, target):
                    painter.fillRect(bar, theme.TILE_BACKGROUND)
            painter.drawImage(target, image)
            if self._unpainted:
                self._unpainted = False
                self.painted_frames += 1
                delay = (now - picture.arrived_at) * 1000
                self._delay_ms = (
                    delay if self._delay_ms is None else self._delay_ms * 0.8 + delay * 0.2
                )
                if self.paint_observer is not None:
                    self.paint_observer(self.feed, picture, now)
            if state is not FeedState.LIVE:
                painter.fillRect(target, QColor(0, 0, 0, 150))
        painter.drawPixmap(0, 0, self._overlay_pixmap(state, now))
        if self.feed.audio.present and self.shutter is None:
            self._paint_meter_bar(painter)
        painter.end()

    # -- overlays ----------------------------------------------------------------------

    def _overlay_pixmap(self, state: FeedState, now: float) -> QPixmap:
        """Everything drawn over the picture except the level meter's bar, rendered only
        when what it says changes: a new frame then costs two blits, not a page of text."""
        if self._overlay is None or self._overlay.size() != self.size() * self.devicePixelRatioF():
            ratio = self.devicePixelRatioF()
            pixmap = QPixmap(self.size() * ratio)
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            rect = self.rect()
            if self.shutter is not None and state in (FeedState.LIVE, FeedState.CONNECTING):
                self._paint_shutter(painter, rect, self.shutter)
            elif self.shutter is not None:  # trouble shows through the shutter
                self._paint_status(
                    painter, rect, state, now, has_picture=False, closed=self.shutter[0]
                )
            else:
                self._paint_status(painter, rect, state, now, has_picture=self._image is not None)
            self._paint_header(painter, rect, state, now)
            self._paint_footer(painter, rect, state)
            self._paint_frame(painter, rect)
            painter.end()
            self._overlay = pixmap
        return self._overlay

    def text_points(self, role: str) -> float:
        """The point size of one of the tile's texts (TEXT_PT) at the tile's size now."""
        return TEXT_PT[role] * self._scale()

    def _font(self, points: float, bold: bool = False) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(points)
        font.setBold(bold)
        return font

    def _scale(self) -> float:
        return max(0.75, min(1.6, self.height() / 300))

    def _paint_header(self, painter: QPainter, rect: QRect, state: FeedState, now: float) -> None:
        s = self._scale()
        bar_h = round(HEADER_H * s)
        painter.fillRect(QRect(rect.x(), rect.y(), rect.width(), bar_h), QColor(0, 0, 0, 165))
        x = rect.x() + round(6 * s)
        painter.setFont(self._font(self.text_points("badge"), bold=True))
        metrics = painter.fontMetrics()
        if self.number:
            painter.setPen(theme.TEXT_DIM)
            label = str(self.number)
            painter.drawText(
                QRect(x, 0, metrics.horizontalAdvance(label) + 2, bar_h),
                Qt.AlignmentFlag.AlignVCenter,
                label,
            )
            x += metrics.horizontalAdvance(label) + round(6 * s)
        badge = self.feed.kind.value.upper()
        badge_w = metrics.horizontalAdvance(badge) + round(10 * s)
        badge_rect = QRect(x, round(4 * s), badge_w, bar_h - round(8 * s))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.KIND_COLOURS[self.feed.kind])
        painter.drawRoundedRect(badge_rect, 3 * s, 3 * s)
        painter.setPen(QColor("white"))
        painter.drawText(badge_rect, Qt.AlignmentFlag.AlignCenter, badge)
        x = badge_rect.right() + round(8 * s)

        pill_text = state.value.upper()
        fps = self.feed.stats.current_fps(now)
        # Frames per second of what is decoded: a feed on key frames only (a closed body
        # cam) would say 1 fps of a stream that is fine, so it says nothing of its rate.
        decoded_all = self.feed.decoding is Decoding.ALL
        fps_text = f"{fps:.0f} fps" if state is FeedState.LIVE and decoded_all else ""
        painter.setFont(self._font(self.text_points("state"), bold=True))
        pill_metrics = painter.fontMetrics()
        pill_w = pill_metrics.horizontalAdvance(pill_text) + round(10 * s)
        pill_rect = QRect(
            rect.right() - pill_w - round(6 * s), round(4 * s), pill_w, bar_h - round(8 * s)
        )
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.STATE_COLOURS[state])
        painter.drawRoundedRect(pill_rect, 3 * s, 3 * s)
        painter.setPen(QColor("white"))
        painter.drawText(pill_rect, Qt.AlignmentFlag.AlignCenter, pill_text)
        right = pill_rect.left() - round(6 * s)
        # The name tells tiles apart: it keeps room for its first letters (or all of it)
        # before the frame rate is said, and before REC is more than its dot.
        name_metrics = QFontMetrics(self._font(self.text_points("name"), bold=True))
        name_need = min(
            name_metrics.horizontalAdvance(self.feed.name),
            name_metrics.horizontalAdvance("MMMMMMM…"),
        )
        rec_text = "● REC"
        rec_w = pill_metrics.horizontalAdvance(rec_text) + round(8 * s)
        fps_w = pill_metrics.horizontalAdvance(fps_text) + round(8 * s) if fps_text else 0
        room = right - x - name_need
        if fps_text and room < fps_w + (rec_w if self.feed.recording else 0):
            fps_text = ""
        if self.feed.recording and room < rec_w:
            rec_text = "●"
        if fps_text:
            painter.setPen(theme.TEXT_DIM)
            fps_w = pill_metrics.horizontalAdvance(fps_text)
            painter.drawText(
                QRect(right - fps_w, 0, fps_w, bar_h), Qt.AlignmentFlag.AlignVCenter, fps_text
            )
            right -= fps_w + round(8 * s)
        if self.feed.recording:
            painter.setPen(QColor("#ff4d4d"))
            rec_w = pill_metrics.horizontalAdvance(rec_text)
            painter.drawText(
                QRect(right - rec_w, 0, rec_w, bar_h), Qt.AlignmentFlag.AlignVCenter, rec_text
            )
            right -= rec_w + round(8 * s)
        elif self.feed.recording_stopped is not None:
            # Not a quiet absence of REC: evidence is being lost, and it must be seen.
            text = "REC STOPPED"
            chip_w = pill_metrics.horizontalAdvance(text) + round(10 * s)
            chip = QRect(right - chip_w, round(4 * s), chip_w, bar_h - round(8 * s))
            painter.setPen(QPen(QColor("#ff4d4d"), max(1.0, 1.5 * s)))
            painter.setBrush(QColor(120, 0, 0, 200))
            painter.drawRoundedRect(chip, 3 * s, 3 * s)
            painter.setPen(QColor("white"))
            painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, text)
            right -= chip_w + round(8 * s)
        self._paint_name(painter, QRect(x, 0, max(0, right - x), bar_h), s)

    def _paint_name(self, painter: QPainter, space: QRect, s: float) -> None:
        """The feed's name and, after it, its incident reference in an outlined chip. Where
        both do not fit, the name keeps its room: it is what tells tiles apart."""
        name_font = self._font(self.text_points("name"), bold=True)
        painter.setFont(name_font)
        name_metrics = painter.fontMetrics()
        incident = self.feed.spec.incident
        chip_font = self._font(self.text_points("badge"), bold=True)
        painter.setFont(chip_font)
        chip_w = (
            painter.fontMetrics().horizontalAdvance(incident) + round(10 * s) if incident else 0
        )
        gap = round(7 * s)
        name_w = name_metrics.horizontalAdvance(self.feed.name)
        room_for_name = min(name_w, name_metrics.horizontalAdvance("MMMMMM…"))
        if chip_w and space.width() < room_for_name + gap + chip_w:
            chip_w = 0
        name_space = space.width() - (gap + chip_w if chip_w else 0)
        # A whole name a little smaller reads better than a big one cut short: down to the
        # footer's size before it is elided.
        points = self.text_points("name")
        while name_w > name_space and points > self.text_points("footer"):
            points = max(self.text_points("footer"), points - 0.5 * s)
            name_font = self._font(points, bold=True)
            name_metrics = QFontMetrics(name_font)
            name_w = name_metrics.horizontalAdvance(self.feed.name)
        painter.setFont(name_font)
        painter.setPen(theme.TEXT)
        name = name_metrics.elidedText(
            self.feed.name, Qt.TextElideMode.ElideRight, max(0, name_space)
        )
        painter.drawText(
            QRect(space.x(), space.y(), max(0, name_space), space.height()),
            Qt.AlignmentFlag.AlignVCenter,
            name,
        )
        if not (incident and chip_w):
            return
        chip = QRectF(
            space.x() + name_metrics.horizontalAdvance(name) + gap,
            space.y() + round(5 * s) + 0.5,
            chip_w,
            space.height() - round(10 * s) - 1,
        )
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(theme.INCIDENT, 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(chip, 3 * s, 3 * s)
        painter.setFont(chip_font)
        painter.setPen(theme.INCIDENT)
        painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, incident)

    def _paint_footer(self, painter: QPainter, rect: QRect, state: FeedState) -> None:
        """Bottom left: the GPS line (callers, officers) on the bottom row, and above it
        the picture's size, codec and delay. Bottom right: the sound meter's label."""
        s = self._scale()
        bottom = rect.bottom() - round(4 * s)
        gps = self.gps_line()
        if gps is not None:
            bottom = self._paint_footer_box(
                painter,
                rect.x() + round(4 * s),
                bottom,
                gps.text,
                theme.WARNING if gps.stale else theme.TEXT,
                bold=True,
            )
        line = self.stats_line(state)
        if line:
            bottom = self._paint_footer_box(
                painter, rect.x() + round(4 * s), bottom, line, theme.TEXT_DIM
            )
        problem = self.substream_line()
        if problem is not None:
            bottom = self._paint_footer_box(
                painter, rect.x() + round(4 * s), bottom, problem, theme.WARNING
            )
        if self.reason is not None:
            self._paint_footer_box(
                painter,
                rect.x() + round(4 * s),
                bottom,
                f"Reason: {self.reason}",
                theme.WARNING,
                bold=True,
            )
        if self.feed.audio.present and self.shutter is None:  # a closed body cam says nothing
            self._paint_meter_label(painter, s)

    def _paint_footer_box(
        self,
        painter: QPainter,
        x: int,
        bottom: int,
        text: str,
        colour: QColor,
        *,
        bold: bool = False,
    ) -> int:
        """One line of footer text on a dark box whose last row is `bottom`; returns the
        bottom for the next line up. The text never runs under the sound meter."""
        s = self._scale()
        painter.setFont(self._font(self.text_points("footer"), bold=bold))
        metrics = painter.fontMetrics()
        height = max(round(16 * s), metrics.height() + 2)
        if self.feed.audio.present:
            limit = self._meter_rect().left() - round(60 * s) - x  # the meter and its label
        else:
            limit = self.width() - 2 * x
        text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, max(0, limit))
        box = QRect(x, bottom - height + 1, metrics.horizontalAdvance(text) + round(10 * s), height)
        painter.fillRect(box, QColor(0, 0, 0, 185))  # readable over a busy street scene
        painter.setPen(colour)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        return box.top() - round(2 * s)

    def _meter_rect(self) -> QRect:
        s = self._scale()
        height, width = round(44 * s), round(7 * s)
        rect = self.rect()
        return QRect(
            rect.right() - width - round(8 * s),
            rect.bottom() - height - round(8 * s),
            width,
            height,
        )

    def _paint_meter_bar(self, painter: QPainter) -> None:
        level = self.feed.audio.level()
        bar = self._meter_rect()
        painter.fillRect(bar, QColor(0, 0, 0, 200))
        filled = round(bar.height() * max(0.0, (level - SILENCE_DB) / -SILENCE_DB))
        colour = _METER_LOUD if level > -6 else _METER_MID if level > -18 else _METER_OK
        painter.fillRect(QRect(bar.x(), bar.bottom() + 1 - filled, bar.width(), filled), colour)

    def _paint_meter_label(self, painter: QPainter, s: float) -> None:
        meter = self._meter_rect()
        x, y, height = meter.x(), meter.y(), meter.height()
        painter.fillRect(meter.adjusted(-2, -2, 2, 2), QColor(0, 0, 0, 170))
        painter.setFont(self._font(self.text_points("meter"), bold=True))
        painter.setPen(theme.ACCENT if self.feed.audio.listening else theme.TEXT_DIM)
        label = "LISTEN" if self.feed.audio.listening else "MUTED"
        label_w = painter.fontMetrics().horizontalAdvance(label)
        painter.drawText(QPointF(x - label_w - round(6 * s), y + height), label)

    def _paint_status(
        self,
        painter: QPainter,
        rect: QRect,
        state: FeedState,
        now: float,
        *,
        has_picture: bool,
        closed: str | None = None,
    ) -> None:
        """The feed's trouble in words over its picture; on a closed body cam's tile, over
        the shutter, with the shutter's own words (`closed`) beneath: a failed body cam must
        never look like a healthy closed one."""
        connection = self.feed.connection
        lines: list[str] = []
        if state is FeedState.STALLED:
            age = self.feed.quiet_s(now) or 0.0
            lines = [f"STALLED  {age:.0f} s", "no picture from this feed"]
        elif state is FeedState.RECONNECTING:
            when = connection.next_attempt_at
            lines = [
                "RECONNECTING",
                f"next attempt in {max(0.0, when - now):.1f} s" if when else "trying now…",
            ]
            if connection.error:
                lines.append(connection.error)
        elif state is FeedState.CONNECTING and not has_picture:
            lines = ["Connecting…"]
        elif state in (FeedState.FAILED, FeedState.ENDED):
            lines = [state.value.upper()] + ([connection.error] if connection.error else [])
        if not lines:
            return
        if closed is not None:
            lines.append(closed)
        head = theme.STATE_COLOURS[state] if state is not FeedState.CONNECTING else theme.TEXT_DIM
        self._paint_centred(painter, rect, lines, head, theme.TEXT)

    def _paint_shutter(self, painter: QPainter, rect: QRect, lines: tuple[str, ...]) -> None:
        """A closed body cam: its first line large, the rest (how to open it, or who may)
        beneath, on the tile's plain background."""
        self._paint_centred(painter, rect, lines, theme.TEXT, theme.TEXT_DIM)

    def _paint_centred(
        self,
        painter: QPainter,
        rect: QRect,
        lines: Sequence[str],
        head_colour: QColor,
        body_colour: QColor,
    ) -> None:
        """The first line large in the middle of the tile, the rest wrapped beneath it."""
        s = self._scale()
        painter.setPen(head_colour)
        painter.setFont(self._font(15 * s, bold=True))
        centre = rect.center()
        head = QRectF(rect.x(), centre.y() - 30 * s, rect.width(), 30 * s)
        painter.drawText(head, Qt.AlignmentFlag.AlignCenter, lines[0])
        if len(lines) > 1:
            painter.setFont(self._font(9 * s))
            painter.setPen(body_colour)
            body = QRectF(
                rect.x() + 8, centre.y() + 2, rect.width() - 16, rect.height() / 2 - 30 * s
            )
            painter.drawText(
                body,
                Qt.AlignmentFlag.AlignHCenter
                | Qt.AlignmentFlag.AlignTop
                | Qt.TextFlag.TextWordWrap,
                "\n".join(lines[1:]),
            )

    def _paint_frame(self, painter: QPainter, rect: QRect) -> None:
        if not (self.selected or self.drop_target):
            return
        pen = QPen(theme.ACCENT, 3)
        if self.drop_target:
            pen.setStyle(Qt.PenStyle.DashLine)
            pen.setColor(QColor("#ffd43b"))
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect.adjusted(1, 1, -2, -2))

"""The alert list: what went wrong on the wall, newest first, each entry a click from its tile.

A view of an `AlertWatcher` (widgets/wall/alerts.py). It never opens a dialog and never takes
keyboard focus from the wall on a click (a control-room operator's hands stay on the wall's
keys); Tab reaches it, and Enter on an entry does what a click does. Sound is off until the
operator turns it on, then one beep per batch of new warnings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeyEvent, QPainter
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from widgets import theme
from widgets.wall.alerts import Alert, AlertWatcher, Severity, ago_text, clock_text

SEVERITY_COLOURS: dict[Severity, QColor] = {
    Severity.CRITICAL: theme.ERROR_TEXT,
    Severity.WARNING: theme.WARNING,
    Severity.NOTICE: theme.ACCENT,
}
REFRESH_MS = 5000
"""How often "2 min ago" is brought up to date."""
_ALERT_ID = Qt.ItemDataRole.UserRole
_PAD = 6
_BAR = 4


class AlertList(QWidget):
    feed_activated = Signal(str)
    """An entry was clicked (or Enter pressed on it): the window spotlights this feed."""
    unacknowledged_changed = Signal(int)

    def __init__(
        self,
        watcher: AlertWatcher,
        parent: QWidget | None = None,
        *,
        beep: Callable[[], None] = QApplication.beep,
    ) -> None:
        super().__init__(parent)
        self._watcher = watcher
        self._beep = beep
        self._items: dict[int, QListWidgetItem] = {}
        self._count = -1
        self.setObjectName("alert-list")

        self.summary = QLabel()
        self.sound = QCheckBox("Sound")
        self.sound.setToolTip("Beep when a feed stalls, loses its link or stops recording")
        self.sound.setChecked(False)
        theme.show_indicator_outlines(self.sound)
        self.list = QListWidget()
        self.list.setItemDelegate(_AlertDelegate(watcher, self.list))
        self.list.setUniformItemSizes(True)
        self.list.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.list.itemClicked.connect(self._activate)
        self.list.installEventFilter(self)
        self.acknowledge_button = QPushButton("Acknowledge all")
        self.acknowledge_button.clicked.connect(watcher.acknowledge_all)
        self.clear_button = QPushButton("Clear resolved")
        self.clear_button.clicked.connect(watcher.clear_resolved)
        for widget in (self.sound, self.list, self.acknowledge_button, self.clear_button):
            widget.setFocusPolicy(Qt.FocusPolicy.TabFocus)

        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.sound)
        buttons = QHBoxLayout()
        buttons.addWidget(self.acknowledge_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(_PAD, _PAD, _PAD, _PAD)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

        watcher.changed.append(self._on_changed)
        self._refresh = QTimer(self)
        self._refresh.timeout.connect(self.list.viewport().update)
        self._refresh.start(REFRESH_MS)
        self._sync()

    @property
    def sound_on(self) -> bool:
        return self.sound.isChecked()

    def set_sound(self, on: bool) -> None:
        self.sound.setChecked(on)

    # -- from the model ----------------------------------------------------------------

    def _on_changed(self, raised: Sequence[Alert]) -> None:
        self._sync()
        if self.sound_on and any(alert.severity >= Severity.WARNING for alert in raised):
            self._beep()

    def _sync(self) -> None:
        alerts = self._watcher.alerts
        ids = {alert.id for alert in alerts}
        for alert_id in [a for a in self._items if a not in ids]:
            item = self._items.pop(alert_id)
            self.list.takeItem(self.list.row(item))
        for alert in alerts:  # oldest first, each put on top: the newest ends up first
            if alert.id not in self._items:
                item = QListWidgetItem()
                item.setData(_ALERT_ID, alert.id)
                self.list.insertItem(0, item)
                self._items[alert.id] = item
            self._items[alert.id].setToolTip(_tooltip(alert))
        self.list.viewport().update()
        count = self._watcher.unacknowledged
        open_count = sum(not alert.resolved for alert in alerts)
        self.summary.setText(
            f"{count} unacknowledged · {open_count} open" if alerts else "No alerts"
        )
        self.acknowledge_button.setEnabled(count > 0)
        self.clear_button.setEnabled(any(alert.resolved for alert in alerts))
        if count != self._count:
            self._count = count
            self.unacknowledged_changed.emit(count)

    # -- from the operator -------------------------------------------------------------

    def _activate(self, item: QListWidgetItem) -> None:
        alert = self._watcher.find(int(item.data(_ALERT_ID)))
        if alert is not None:
            self._watcher.acknowledge(alert.id)
            self.feed_activated.emit(alert.feed)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.list
            and event.type() is QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and self.list.currentItem() is not None
        ):
            self._activate(self.list.currentItem())
            return True
        return super().eventFilter(watched, event)


def _tooltip(alert: Alert) -> str:
    lines = [f"{alert.feed}: {alert.kind.label}", alert.text, f"raised {clock_text(alert.at)}"]
    if alert.resolution:
        lines.append(alert.resolution)
    lines.append("Click to show this feed on the wall")
    return "\n".join(lines)


class _AlertDelegate(QStyledItemDelegate):
    """Two lines per alert: feed, what happened and when; then the detail and how it ended.
    A bar in the severity's colour on the left; resolved alerts greyed."""

    def __init__(self, watcher: AlertWatcher, parent: QObject) -> None:
        super().__init__(parent)
        self._watcher = watcher

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        line = QFontMetrics(option.font).height()
        return QSize(240, 2 * line + 3 * _PAD)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        alert = self._watcher.find(int(index.data(_ALERT_ID)))
        if alert is None:
            return
        rect: QRect = option.rect
        state = option.state
        painter.save()
        if state & QStyle.StateFlag.State_Selected:
            painter.fillRect(rect, QColor("#1f2a36"))
        colour = theme.TEXT_DIM if alert.resolved else SEVERITY_COLOURS[alert.severity]
        painter.fillRect(QRect(rect.left(), rect.top() + 2, _BAR, rect.height() - 4), colour)
        painter.setPen(QColor("#1d2229"))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())

        font = QFont(option.font)
        metrics = QFontMetrics(font)
        line = metrics.height()
        left = rect.left() + _BAR + _PAD + 2
        width = rect.right() - _PAD - left
        top = rect.top() + _PAD
        ago = ago_text(self._watcher.now() - alert.at)
        when = f"{clock_text(alert.at)} · {ago}"
        when_width = metrics.horizontalAdvance(when)
        if when_width * 5 > width * 2:  # a narrow dock: the name and what happened first
            when = ago
            when_width = metrics.horizontalAdvance(when)
        painter.setFont(font)
        painter.setPen(theme.TEXT_DIM)
        painter.drawText(QRect(left, top, width, line), Qt.AlignmentFlag.AlignRight, when)

        bold = QFont(font)
        bold.setBold(not alert.acknowledged)
        painter.setFont(bold)
        painter.setPen(theme.TEXT_DIM if alert.resolved else theme.TEXT)
        bold_metrics = QFontMetrics(bold)
        room = max(0, width - when_width - _PAD)
        gap = bold_metrics.horizontalAdvance("  ")
        label_width = bold_metrics.horizontalAdvance(alert.kind.label)
        # The feed's name comes first; what happened keeps at least half the room.
        name_room = max(room // 2, room - label_width - gap)
        name = bold_metrics.elidedText(alert.feed, Qt.TextElideMode.ElideRight, name_room)
        painter.drawText(QRect(left, top, name_room, line), Qt.AlignmentFlag.AlignLeft, name)
        label_left = left + bold_metrics.horizontalAdvance(name) + gap
        label_room = max(0, left + room - label_left)
        label = bold_metrics.elidedText(alert.kind.label, Qt.TextElideMode.ElideRight, label_room)
        painter.setPen(colour)
        painter.drawText(
            QRect(label_left, top, label_room, line), Qt.AlignmentFlag.AlignLeft, label
        )

        detail = alert.text + (f" — {alert.resolution}" if alert.resolution else "")
        painter.setFont(font)
        painter.setPen(theme.TEXT_DIM if alert.resolved else theme.TEXT)
        detail = metrics.elidedText(detail, Qt.TextElideMode.ElideRight, width)
        painter.drawText(
            QRect(left, top + line + _PAD, width, line), Qt.AlignmentFlag.AlignLeft, detail
        )
        painter.restore()

"""The Review window's search bar: free text, tag, incident, feed, kind and a UTC time range.

Every change asks again after a short pause (`query_changed`), so typing a word costs one
search, not one per letter. Times are entered and shown in UTC, as the evidence keeps them:
a control room's staff may sit in another zone than the recording's court.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QDateTime, QTimer, QTimeZone, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from media.live import FeedKind
from widgets.evidence.review_model import ClipQuery
from widgets.theme import show_indicator_outlines

DEBOUNCE_MS = 250
ANY_FEED = ""


class SearchBar(QWidget):
    query_changed = Signal(object)
    """A ClipQuery, a moment after the last change."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLineEdit(placeholderText="Search notes, incidents, feeds and tags…")
        self.text.setClearButtonEnabled(True)
        self.tag = QLineEdit(placeholderText="tag")
        self.incident = QLineEdit(placeholderText="incident")
        self.feed = QComboBox(editable=True)
        self.feed.addItem(ANY_FEED)
        feed_edit = self.feed.lineEdit()
        if feed_edit is not None:
            feed_edit.setPlaceholderText("any feed")
        self.feed.setMinimumContentsLength(14)
        self.kind = QComboBox()
        self.kind.addItem("any kind", None)
        for kind in FeedKind:
            self.kind.addItem(kind.value, kind.value)  # Qt keeps the text, not the enum
        now = QDateTime.fromSecsSinceEpoch(int(time.time()), QTimeZone.utc())
        self.use_from, self.from_time = self._time_field("From", now.addDays(-1))
        self.use_to, self.to_time = self._time_field("To", now)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Show every clip")
        self.clear_button.clicked.connect(self.clear)

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.addWidget(self.text, 0, 0, 1, 3)
        grid.addWidget(self.tag, 0, 3)
        grid.addWidget(self.incident, 0, 4)
        times = QHBoxLayout()
        times.setSpacing(6)
        for widget in (self.use_from, self.from_time, self.use_to, self.to_time):
            times.addWidget(widget)
        times.addWidget(QLabel("UTC"))
        times.addStretch(1)
        grid.addWidget(self.feed, 1, 0)
        grid.addWidget(self.kind, 1, 1)
        grid.addLayout(times, 1, 2, 1, 2)
        grid.addWidget(self.clear_button, 1, 4)
        grid.setColumnStretch(0, 2)
        grid.setColumnStretch(2, 3)
        grid.setColumnStretch(3, 1)
        grid.setColumnStretch(4, 1)

        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(lambda: self.query_changed.emit(self.query()))
        for edit in (self.text, self.tag, self.incident):
            edit.textChanged.connect(self._changed)
            edit.returnPressed.connect(self.search_now)
        self.feed.currentTextChanged.connect(self._changed)
        self.kind.currentIndexChanged.connect(self._changed)
        for box, when in ((self.use_from, self.from_time), (self.use_to, self.to_time)):
            box.toggled.connect(when.setEnabled)
            box.toggled.connect(self._changed)
            when.dateTimeChanged.connect(self._changed)

    def _time_field(self, label: str, start: QDateTime) -> tuple[QCheckBox, QDateTimeEdit]:
        box = QCheckBox(label)
        box.setToolTip(f"{label}: only clips overlapping the time range")
        show_indicator_outlines(box)
        edit = QDateTimeEdit(start)
        edit.setTimeZone(QTimeZone.utc())
        edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
        edit.setCalendarPopup(True)
        edit.setEnabled(False)
        return box, edit

    def set_feeds(self, names: list[str]) -> None:
        """Offer these feed names (what is typed stays)."""
        typed = self.feed.currentText()
        self.feed.blockSignals(True)
        self.feed.clear()
        self.feed.addItem(ANY_FEED)
        self.feed.addItems(names)
        self.feed.setEditText(typed)
        self.feed.blockSignals(False)

    def set_range(self, start: float | None, end: float | None) -> None:
        """Search clips overlapping `start..end` (None leaves that end open)."""
        for box, edit, value in (
            (self.use_from, self.from_time, start),
            (self.use_to, self.to_time, end),
        ):
            if value is not None:
                edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(value), QTimeZone.utc()))
            box.setChecked(value is not None)

    def query(self) -> ClipQuery:
        def text(edit: QLineEdit) -> str | None:
            return edit.text().strip() or None

        kind = self.kind.currentData()
        start = self.from_time.dateTime().toSecsSinceEpoch()
        end = self.to_time.dateTime().toSecsSinceEpoch()
        return ClipQuery(
            text=text(self.text),
            tag=text(self.tag),
            incident=text(self.incident),
            feed=self.feed.currentText().strip() or None,
            kind=FeedKind(kind) if kind else None,
            start=start if self.use_from.isChecked() else None,
            end=end if self.use_to.isChecked() else None,
        )

    def search_now(self) -> None:
        self._timer.stop()
        self.query_changed.emit(self.query())

    def clear(self) -> None:
        for edit in (self.text, self.tag, self.incident):
            edit.clear()
        self.feed.setEditText(ANY_FEED)
        self.kind.setCurrentIndex(0)
        self.use_from.setChecked(False)
        self.use_to.setChecked(False)
        self.search_now()

    def _changed(self, *_: object) -> None:
        self._timer.start()

"""Where the clip's feed was while it ran: its track on the wall's own map, the position at
the frame on screen marked.

The map is the wall's (resources/map/VigilMap.qml: the same tiles, or the same labelled
coordinate grid without them), so a reviewer reads positions on the map the operator saw.
Its marker model is replaced by `TrackModel`: one marker, at the last fix at or before the
frame's UTC time (a fix is where the feed was then; a point between two fixes would be a
guess, so none is drawn), with the whole track of the clip as its trail. Under the map the
position is written out with the fix's age at that moment.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QUrl,
)
from PySide6.QtPositioning import QGeoCoordinate
from PySide6.QtQuickWidgets import QQuickWidget
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from media.live import FeedKind, Location
from widgets import theme
from widgets.map import MAP_QML, ROLES, MapBridge, MapSetup, fix_age_text, fix_opacity

_ROLE_IDS = {name: Qt.ItemDataRole.UserRole + 1 + n for n, name in enumerate(ROLES)}


class TrackModel(QAbstractListModel):
    """The map's one marker: the feed at the frame's time, with the clip's track behind it."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._values: dict[str, Any] | None = None

    def roleNames(self) -> dict[int, QByteArray]:
        return {role: QByteArray(name.encode()) for name, role in _ROLE_IDS.items()}

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if (parent is not None and parent.isValid()) or self._values is None else 1

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if self._values is None or not index.isValid() or index.row() != 0:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._values["name"]
        name = next((n for n, r in _ROLE_IDS.items() if r == role), None)
        return self._values.get(name) if name else None

    def set_marker(self, values: dict[str, Any] | None) -> None:
        if values is None or self._values is None:
            if (values is None) != (self._values is None):
                self.beginResetModel()
                self._values = values
                self.endResetModel()
            return
        changed = [name for name, value in values.items() if self._values.get(name) != value]
        self._values = values
        if changed:
            at = self.index(0, 0)
            self.dataChanged.emit(at, at, [_ROLE_IDS[name] for name in changed])


class TrackView(QWidget):
    """The map with the clip's track, and the position at the frame written out beneath."""

    def __init__(self, setup: MapSetup, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.feed_name = ""
        self.kind: FeedKind | None = None
        self.track: tuple[Location, ...] = ()
        self.fix: Location | None = None
        """The fix shown: the last at or before the frame's time."""
        self._trail: list[QGeoCoordinate] = []
        # The view first: children go in the order made, and the scene before what it reads.
        self.view = QQuickWidget(self)
        self.view.setResizeMode(QQuickWidget.ResizeMode.SizeRootObjectToView)
        self.view.setClearColor(Qt.GlobalColor.black)
        self.model = TrackModel(self)
        self.bridge = MapBridge(setup, self)
        self.bridge.show_labels_of(self.model)
        context = self.view.rootContext()
        context.setContextProperty("markers", self.model)
        context.setContextProperty("bridge", self.bridge)
        self.view.setSource(QUrl.fromLocalFile(str(MAP_QML)))
        self.view.setMinimumSize(240, 200)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.label)
        self.set_track("", None, ())

    def set_track(self, feed_name: str, kind: FeedKind | None, track: Sequence[Location]) -> None:
        """A new clip: draw its feed's track and bring all of it into view."""
        self.feed_name, self.kind = feed_name, kind
        self.track = tuple(sorted(track, key=lambda fix: fix.at))
        self._trail = [QGeoCoordinate(fix.lat, fix.lon) for fix in self.track]
        self.fix = None
        self.model.set_marker(None)
        if not feed_name:
            self.label.clear()
        elif not self.track:
            self._say(f"No position was recorded for {feed_name} during this clip.", dim=True)
        else:
            lats = [fix.lat for fix in self.track]
            lons = [fix.lon for fix in self.track]
            pad = 0.0006  # a standing caller still gets a street's worth of map around them
            self.bridge.fitRequested.emit(
                max(lats) + pad, min(lons) - pad, min(lats) - pad, max(lons) + pad
            )
            self._say(f"{len(self.track)} positions of {feed_name} during this clip.", dim=True)

    def show_time(self, utc: float) -> None:
        """Mark where the feed was at `utc` (the frame on screen)."""
        if not self.track:
            return
        at = bisect.bisect_right(self.track, utc, key=lambda fix: fix.at)
        if at == 0:
            self.fix = None
            self.model.set_marker(None)
            self._say(
                f"No fix yet at this time: {self.feed_name}'s first comes "
                f"{self.track[0].at - utc:.1f} s later.",
                dim=True,
            )
            return
        fix = self.fix = self.track[at - 1]
        age = utc - fix.at
        self.model.set_marker(self._marker(fix, age))
        accuracy = f" ±{fix.accuracy_m:.0f} m" if fix.accuracy_m is not None else ""
        self._say(
            f"{self.feed_name} at {fix.lat:.6f}, {fix.lon:.6f}{accuracy}\n"
            f"fix taken {age:.1f} s before this frame ({at} of {len(self.track)})"
        )

    def _marker(self, fix: Location, age: float) -> dict[str, Any]:
        return {
            "name": self.feed_name,
            "kind": (self.kind or FeedKind.CAMERA).value,
            "position": QGeoCoordinate(fix.lat, fix.lon),
            "accuracy": fix.accuracy_m if fix.accuracy_m is not None else -1.0,
            "fixAge": fix_age_text(age),
            "fade": fix_opacity(age),
            "heading": fix.heading_deg if fix.heading_deg is not None else -1.0,
            "frameCentre": QGeoCoordinate(),
            "footprint": [],
            "trail": self._trail,
            "selected": True,
            "state": "live",
            "live": True,
        }

    def _say(self, text: str, *, dim: bool = False) -> None:
        colour = theme.TEXT_DIM if dim else theme.TEXT
        self.label.setStyleSheet(f"color: {colour.name()};")
        self.label.setText(text)

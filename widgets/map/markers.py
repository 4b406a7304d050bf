"""What the map draws for each feed with a position: a list model QML's MapItemView reads.

One row per feed that has ever reported a position: where it is, how good and how old the
fix is, where a drone looks and what its camera covers, and the trail of the last ten
minutes. `refresh()` samples the feeds (once a second, from the panel's timer) and sends
only what changed, so the map's items are updated in place, never rebuilt.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtPositioning import QGeoCoordinate

from media.live import Feed, FeedKind, FeedState, Location
from media.telemetry import distance_m

TRAIL_S = 600.0
"""How much of each feed's path the map draws behind it."""
TRAIL_STEP_M = 2.0
"""Fixes closer than this to the last trail point add nothing a person could see."""
FIX_FRESH_S = 30.0
"""A fix older than this fades: the feed may well have moved since."""
FIX_FADED_S = 300.0
FADED_OPACITY = 0.35

ROLES = (
    "name",
    "kind",
    "position",
    "accuracy",
    "fixAge",
    "fade",
    "heading",
    "frameCentre",
    "footprint",
    "trail",
    "selected",
    "state",
    "live",
)
_ROLE_IDS = {name: Qt.ItemDataRole.UserRole + 1 + n for n, name in enumerate(ROLES)}


def fix_age_text(age_s: float) -> str:
    if age_s < 60:
        return f"{max(0, round(age_s))} s"
    if age_s < 3600:
        return f"{round(age_s / 60)} min"
    return f"{age_s / 3600:.1f} h"


def fix_opacity(age_s: float) -> float:
    """Full while fresh, fading linearly to `FADED_OPACITY` by `FIX_FADED_S`."""
    if age_s <= FIX_FRESH_S:
        return 1.0
    span = (min(age_s, FIX_FADED_S) - FIX_FRESH_S) / (FIX_FADED_S - FIX_FRESH_S)
    return round(1.0 - span * (1.0 - FADED_OPACITY), 3)


@dataclass
class _Row:
    feed: Feed
    values: dict[str, Any] = field(default_factory=dict)
    trail: deque[tuple[float, float, float]] = field(default_factory=deque)
    """(unix time, lat, lon), oldest first."""
    last: Location | None = None


class MarkerModel(QAbstractListModel):
    """The feeds the map shows, one row each, in the order they first reported a position."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[_Row] = []
        self._selected: str | None = None

    # -- Qt's side -----------------------------------------------------------------------

    def roleNames(self) -> dict[int, QByteArray]:
        return {role: QByteArray(name.encode()) for name, role in _ROLE_IDS.items()}

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._rows)

    def data(
        self,
        index: QModelIndex | QPersistentModelIndex,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.feed.name
        for name, role_id in _ROLE_IDS.items():
            if role_id == role:
                return row.values.get(name)
        return None

    # -- what the panel asks -------------------------------------------------------------

    def feed_names(self) -> list[str]:
        return [row.feed.name for row in self._rows]

    def location_of(self, name: str) -> Location | None:
        row = self._row(name)
        return row.last if row else None

    def trail_of(self, name: str) -> list[tuple[float, float, float]]:
        row = self._row(name)
        return list(row.trail) if row else []

    def set_selected(self, name: str | None) -> None:
        if name == self._selected:
            return
        self._selected = name
        for n, row in enumerate(self._rows):
            selected = row.feed.name == name
            if row.values.get("selected") != selected:
                row.values["selected"] = selected
                self._changed(n, ["selected"])

    def refresh(self, feeds: Sequence[Feed], now: float | None = None) -> None:
        """Sample every feed's position; add, update and drop rows to match."""
        now = time.time() if now is None else now
        present = set(feeds)
        for n in reversed(range(len(self._rows))):
            if self._rows[n].feed not in present:
                self.beginRemoveRows(QModelIndex(), n, n)
                del self._rows[n]
                self.endRemoveRows()
        known = {row.feed for row in self._rows}
        for feed in feeds:
            if feed not in known and feed.location is not None:
                self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows))
                self._rows.append(_Row(feed))
                self._update(self._rows[-1], now)
                self.endInsertRows()
        for n, row in enumerate(self._rows):
            changed = self._update(row, now)
            if changed:
                self._changed(n, changed)

    # -- inside --------------------------------------------------------------------------

    def _row(self, name: str) -> _Row | None:
        return next((row for row in self._rows if row.feed.name == name), None)

    def _changed(self, n: int, names: list[str]) -> None:
        index = self.index(n, 0)
        self.dataChanged.emit(index, index, [_ROLE_IDS[name] for name in names])

    def _update(self, row: _Row, now: float) -> list[str]:
        feed = row.feed
        location = feed.location
        if location is not None and location is not row.last:
            row.last = location
            _extend_trail(row.trail, location)
        while row.trail and row.trail[0][0] < now - TRAIL_S:
            row.trail.popleft()
        fix = row.last
        if fix is None:
            return []
        age = max(0.0, now - fix.at)
        state = feed.state()
        values = {
            "name": feed.name,
            "kind": feed.kind.value,
            "position": QGeoCoordinate(fix.lat, fix.lon),
            "accuracy": fix.accuracy_m if fix.accuracy_m is not None else -1.0,
            "fixAge": fix_age_text(age),
            "fade": fix_opacity(age),
            "heading": _heading(feed, fix),
            "frameCentre": _frame_centre(feed),
            "footprint": _footprint(feed),
            "trail": [QGeoCoordinate(lat, lon) for _, lat, lon in row.trail],
            "selected": feed.name == self._selected,
            "state": state.value,
            "live": state in (FeedState.LIVE, FeedState.CONNECTING),
        }
        changed = [name for name, value in values.items() if row.values.get(name) != value]
        row.values.update(values)
        return changed


def _extend_trail(trail: deque[tuple[float, float, float]], fix: Location) -> None:
    if trail:
        _, lat, lon = trail[-1]
        if distance_m(lat, lon, fix.lat, fix.lon) < TRAIL_STEP_M:
            return
    trail.append((fix.at, fix.lat, fix.lon))


def _heading(feed: Feed, fix: Location) -> float:
    """Degrees from north, or -1 when not known (a standing caller has no direction)."""
    telemetry = feed.telemetry
    heading = telemetry.heading_deg if telemetry is not None else None
    if heading is None:
        heading = fix.heading_deg
    return -1.0 if heading is None or math.isnan(heading) else float(heading)


def _frame_centre(feed: Feed) -> QGeoCoordinate:
    telemetry = feed.telemetry
    if telemetry is None or telemetry.frame_centre_lat is None:
        return QGeoCoordinate()  # invalid: QML hides what needs it
    return QGeoCoordinate(telemetry.frame_centre_lat, telemetry.frame_centre_lon or 0.0)


def _footprint(feed: Feed) -> list[QGeoCoordinate]:
    telemetry = feed.telemetry
    if feed.kind is not FeedKind.DRONE or telemetry is None or not telemetry.corners:
        return []
    return [QGeoCoordinate(lat, lon) for lat, lon in telemetry.corners]

"""The map panel: where every caller, officer and drone is, beside the wall.

Qt's own map (QtLocation in a QQuickWidget, `resources/map/VigilMap.qml`) draws the tiles
and the markers; this widget feeds it. It samples the feeds' positions once a second into
a `MarkerModel`, keeps the selected feed centred when asked to follow it, and measures
distance and bearing from a tapped point to the selected feed. A tap on a marker asks the
wall to spotlight that feed's tile (`feed_clicked`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Property, QObject, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtPositioning import QGeoCoordinate
from PySide6.QtQuickWidgets import QQuickWidget
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from media.live import Feed
from media.telemetry import bearing_deg, distance_m, format_distance
from resources import ROOT as RESOURCES
from widgets.map.markers import MarkerModel
from widgets.theme import show_indicator_outlines

log = logging.getLogger(__name__)

MAP_QML = RESOURCES / "map" / "VigilMap.qml"
REFRESH_MS = 1000


@dataclass(frozen=True)
class MapSetup:
    """What the map shows under the markers, decided by the app from the config."""

    tile_url: str = ""
    """Vigil's loopback tile endpoint; empty for no tiles (a coordinate grid instead)."""
    note: str = ""
    """Said across the top of the map: why there are no tiles, or what they are."""
    attribution: str = ""
    cache_dir: Path | None = None
    centre: tuple[float, float] = (53.9590, -1.0815)
    zoom: float = 15.0
    fit_first: bool = False
    """No centre was configured: show all the feeds once the first positions arrive."""


class MapBridge(QObject):
    """What QML reads from Python (tile setup, measurement) and tells it (taps)."""

    centreRequested = Signal(QGeoCoordinate)
    fitRequested = Signal(float, float, float, float)
    markerTapped = Signal(str)
    mapTapped = Signal(QGeoCoordinate)
    measureChanged = Signal()

    def __init__(self, setup: MapSetup, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._setup = setup
        self._from = QGeoCoordinate()
        self._to = QGeoCoordinate()
        self._text = ""

    def _tile_url(self) -> str:
        return self._setup.tile_url

    def _note(self) -> str:
        return self._setup.note

    def _attribution(self) -> str:
        return self._setup.attribution

    def _cache_dir(self) -> str:
        return str(self._setup.cache_dir or "")

    def _start_lat(self) -> float:
        return self._setup.centre[0]

    def _start_lon(self) -> float:
        return self._setup.centre[1]

    def _start_zoom(self) -> float:
        return self._setup.zoom

    tileUrl = Property(str, _tile_url, constant=True)
    tileNote = Property(str, _note, constant=True)
    attribution = Property(str, _attribution, constant=True)
    cacheDir = Property(str, _cache_dir, constant=True)
    startLat = Property(float, _start_lat, constant=True)
    startLon = Property(float, _start_lon, constant=True)
    startZoom = Property(float, _start_zoom, constant=True)

    def _measure_from(self) -> QGeoCoordinate:
        return self._from

    def _measure_to(self) -> QGeoCoordinate:
        return self._to

    def _measure_text(self) -> str:
        return self._text

    measureFrom = Property(QGeoCoordinate, _measure_from, notify=measureChanged)
    measureTo = Property(QGeoCoordinate, _measure_to, notify=measureChanged)
    measureText = Property(str, _measure_text, notify=measureChanged)

    def set_measure(self, start: QGeoCoordinate, end: QGeoCoordinate, text: str) -> None:
        if (start, end, text) != (self._from, self._to, self._text):
            self._from, self._to, self._text = start, end, text
            self.measureChanged.emit()

    @Slot(str)
    def markerClicked(self, name: str) -> None:
        self.markerTapped.emit(name)

    @Slot(QGeoCoordinate)
    def mapClicked(self, coordinate: QGeoCoordinate) -> None:
        self.mapTapped.emit(coordinate)


class MapPanel(QWidget):
    """The map of every feed with a position, with follow, fit-all and measuring."""

    feed_clicked = Signal(str)
    """A marker was tapped: the wall spotlights that feed's tile."""

    def __init__(
        self,
        feeds: Callable[[], Sequence[Feed]],
        setup: MapSetup,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._feeds = feeds
        self._selected: str | None = None
        self._measure_from: tuple[float, float] | None = None
        self._fit_pending = setup.fit_first
        self._fitted_rows = 0
        # The view first: children are destroyed in the order they were made, and the QML
        # scene must go before the model and bridge its bindings read.
        self.view = QQuickWidget(self)
        self.view.setResizeMode(QQuickWidget.ResizeMode.SizeRootObjectToView)
        self.view.setClearColor(Qt.GlobalColor.black)
        self.markers = MarkerModel(self)
        self.bridge = MapBridge(setup, self)
        self.bridge.markerTapped.connect(self._on_marker)
        self.bridge.mapTapped.connect(self._on_map_tap)

        self.follow_box = QCheckBox("Follow selected")
        self.follow_box.setToolTip("Keep the selected feed in the middle of the map")
        show_indicator_outlines(self.follow_box)
        self.follow_box.toggled.connect(self._on_follow)
        self.fit_button = QPushButton("Show all")
        self.fit_button.setToolTip("Zoom to show every feed with a position")
        self.fit_button.clicked.connect(self.show_all)
        self.clear_button = QPushButton("Clear measure")
        self.clear_button.clicked.connect(self.clear_measure)
        self.clear_button.setEnabled(False)
        controls = QHBoxLayout()
        controls.setContentsMargins(6, 4, 6, 0)
        controls.addWidget(self.follow_box)
        controls.addStretch(1)
        controls.addWidget(self.clear_button)
        controls.addWidget(self.fit_button)

        context = self.view.rootContext()
        context.setContextProperty("markers", self.markers)
        context.setContextProperty("bridge", self.bridge)
        self.view.statusChanged.connect(self._on_status)
        self.view.setSource(QUrl.fromLocalFile(str(MAP_QML)))
        self.view.setMinimumSize(240, 200)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(controls)
        layout.addWidget(self.view, 1)

        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(REFRESH_MS)
        self.refresh()

    # -- what the window asks ------------------------------------------------------------

    @property
    def following(self) -> bool:
        return self.follow_box.isChecked()

    def set_following(self, on: bool) -> None:
        self.follow_box.setChecked(on)

    def select(self, name: str | None) -> None:
        """The wall's selection changed: ring its marker and bring it into view."""
        self._selected = name
        self._fit_pending = self._fit_pending and name is None
        self.markers.set_selected(name)
        self._centre_on_selected()
        self._update_measure()

    def centre_on(self, lat: float, lon: float) -> None:
        self.bridge.centreRequested.emit(QGeoCoordinate(lat, lon))

    def show_all(self) -> None:
        points = [
            (fix.lat, fix.lon)
            for name in self.markers.feed_names()
            if (fix := self.markers.location_of(name)) is not None
        ]
        if not points:
            return
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        pad = 0.002  # a lone feed still gets a street's worth of map around it
        # Labels run east of their markers: leave them room on that side.
        east = pad + 0.3 * (max(lons) - min(lons))
        self.bridge.fitRequested.emit(
            max(lats) + pad, min(lons) - pad, min(lats) - pad, max(lons) + east
        )

    def refresh(self) -> None:
        self.markers.refresh(self._feeds())
        rows = self.markers.rowCount()
        if self._fit_pending and rows > self._fitted_rows:
            # Until someone chooses where to look, every newly placed feed is brought in.
            self._fitted_rows = rows
            self.show_all()
        if self.following:
            self._centre_on_selected()
        self._update_measure()

    def clear_measure(self) -> None:
        self._measure_from = None
        self._update_measure()

    def measure_from(self, lat: float, lon: float) -> None:
        self._measure_from = (lat, lon)
        self._update_measure()

    @property
    def measure_text(self) -> str:
        return str(self.bridge.measureText)

    def root_object(self) -> QObject | None:
        return self.view.rootObject()

    # -- inside --------------------------------------------------------------------------

    def _centre_on_selected(self) -> None:
        fix = self.markers.location_of(self._selected) if self._selected else None
        if fix is not None:
            self.centre_on(fix.lat, fix.lon)

    def _on_follow(self, on: bool) -> None:
        if on:
            self._centre_on_selected()

    def _on_marker(self, name: str) -> None:
        self.feed_clicked.emit(name)

    def _on_map_tap(self, coordinate: QGeoCoordinate) -> None:
        if coordinate.isValid():
            self.measure_from(coordinate.latitude(), coordinate.longitude())

    def _update_measure(self) -> None:
        start = self._measure_from
        self.clear_button.setEnabled(start is not None)
        if start is None:
            self.bridge.set_measure(QGeoCoordinate(), QGeoCoordinate(), "")
            return
        fix = self.markers.location_of(self._selected) if self._selected else None
        if fix is None:
            self.bridge.set_measure(
                QGeoCoordinate(*start),
                QGeoCoordinate(),
                f"Marked {start[0]:.5f}, {start[1]:.5f}: select a feed to measure to it",
            )
            return
        metres = distance_m(start[0], start[1], fix.lat, fix.lon)
        bearing = bearing_deg(start[0], start[1], fix.lat, fix.lon)
        self.bridge.set_measure(
            QGeoCoordinate(*start),
            QGeoCoordinate(fix.lat, fix.lon),
            f"To {self._selected}: {format_distance(metres)}, bearing {bearing:03.0f}°",
        )

    def _on_status(self, status: QQuickWidget.Status) -> None:
        if status == QQuickWidget.Status.Error:
            for error in self.view.errors():
                log.error("map: %s", error.toString())

"""The map panel: where every caller, officer and drone is, beside the wall.

Qt's own map (QtLocation in a QQuickWidget, `resources/map/VigilMap.qml`) draws the tiles
and the markers; this widget feeds it. It samples the feeds' positions once a second into
a `MarkerModel`, keeps the selected feed centred when asked to follow it, and measures
distance and bearing from a tapped point to the selected feed. A tap on a marker asks the
wall to spotlight that feed's tile (`feed_clicked`). Where each marker's label goes, so
that none hides another (widgets/map/labels.py), and the scale bar's round length are
worked out on the map's every move, from the centre, zoom and size the map reports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import (
    Property,
    QAbstractItemModel,
    QObject,
    Qt,
    QTimer,
    QUrl,
    Signal,
    Slot,
)
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtPositioning import QGeoCoordinate
from PySide6.QtQuickWidgets import QQuickWidget
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from media.live import Feed
from media.telemetry import bearing_deg, distance_m, format_distance, world_pixel
from resources import ROOT as RESOURCES
from widgets.map.labels import Box, Label, Mark, ScaleBar, metres_per_pixel, place_labels, scale_bar
from widgets.map.markers import MarkerModel
from widgets.theme import show_indicator_outlines

log = logging.getLogger(__name__)

MAP_QML = RESOURCES / "map" / "VigilMap.qml"
REFRESH_MS = 1000
LABEL_PX = 13
"""The labels' text size; the QML draws them at the same."""


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


@dataclass(frozen=True)
class MapFrame:
    """What the map shows, as QML reports it: centre, zoom, size in pixels, and the
    strips that labels leave clear (the note across the top, the scale bar's corner)."""

    lat: float
    lon: float
    zoom: float
    width: float
    height: float
    clear_top: float = 0.0
    corner_w: float = 0.0
    corner_h: float = 0.0

    def pixel(self, lat: float, lon: float) -> tuple[float, float]:
        cx, cy = world_pixel(self.lat, self.lon, self.zoom)
        px, py = world_pixel(lat, lon, self.zoom)
        return self.width / 2 + px - cx, self.height / 2 + py - cy


class MapBridge(QObject):
    """What QML reads from Python (tile setup, measurement, labels, scale) and tells it
    (taps, where the map looks)."""

    centreRequested = Signal(QGeoCoordinate)
    fitRequested = Signal(float, float, float, float)
    markerTapped = Signal(str)
    mapTapped = Signal(QGeoCoordinate)
    measureChanged = Signal()
    labelsChanged = Signal()
    scaleChanged = Signal()

    def __init__(self, setup: MapSetup, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._setup = setup
        self._from = QGeoCoordinate()
        self._to = QGeoCoordinate()
        self._text = ""
        self._markers: QAbstractItemModel | None = None
        self._frame: MapFrame | None = None
        self._labels: list[Label] = []
        self._label_data: list[dict[str, object]] = []
        self._where: dict[str, tuple[float, float]] = {}
        self._scale = ScaleBar(0.0, 0.0, "")
        font = QFont()
        font.setPixelSize(LABEL_PX)
        self._metrics = QFontMetricsF(font)
        self._relabel_soon = QTimer(self)
        self._relabel_soon.setSingleShot(True)
        self._relabel_soon.timeout.connect(self.relabel)

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

    # -- labels and the scale bar ------------------------------------------------------------

    def show_labels_of(self, markers: QAbstractItemModel) -> None:
        """Label the rows of `markers` (a model with the roles of widgets/map/markers.py)."""
        self._markers = markers
        for signal in (
            markers.dataChanged,
            markers.rowsInserted,
            markers.rowsRemoved,
            markers.modelReset,
        ):
            signal.connect(self._relabel_later)

    @Slot("QVariantMap")
    def viewChanged(self, view: dict[str, float]) -> None:
        """The map moved, zoomed or was resized (`view` holds MapFrame's fields): labels and
        scale follow at once, so they never trail the markers by a frame."""
        frame = MapFrame(**{name: float(view[name]) for name in MapFrame.__dataclass_fields__})
        if frame == self._frame:
            return
        self._frame = frame
        scale = scale_bar(metres_per_pixel(frame.lat, frame.zoom))
        if scale != self._scale:
            self._scale = scale
            self.scaleChanged.emit()
        self.relabel()

    @Slot(int)
    def labelClicked(self, index: int) -> None:
        """A label was tapped: its feed, as a tap on its marker; a count zooms to its group."""
        if not 0 <= index < len(self._labels):
            return
        members = self._labels[index].members
        if len(members) == 1:
            self.markerTapped.emit(members[0])
            return
        points = [self._where[name] for name in members if name in self._where]
        if points:
            lats, lons = [p[0] for p in points], [p[1] for p in points]
            self.fitRequested.emit(max(lats), min(lons), min(lats), max(lons))

    @property
    def placed_labels(self) -> list[Label]:
        """The labels as last placed, in view pixels."""
        return list(self._labels)

    @property
    def frame(self) -> MapFrame | None:
        return self._frame

    @property
    def scale(self) -> ScaleBar:
        return self._scale

    def relabel(self) -> None:
        frame, model = self._frame, self._markers
        if frame is None or model is None:
            return
        marks = self._marks(frame, model)
        area = Box(0.0, frame.clear_top, frame.width, frame.height - frame.clear_top)
        corner = Box(0.0, frame.height - frame.corner_h, frame.corner_w, frame.corner_h)
        labels = place_labels(marks, area, self._metrics.horizontalAdvance, [corner])
        by_name = {m.name: m for m in marks}
        fades = self._fades(model)
        data = [
            {
                "x": label.box.x,
                "y": label.box.y,
                "w": label.box.w,
                "h": label.box.h,
                "text": label.text,
                "kind": label.kind,
                "count": len(label.members),
                "selected": any(by_name[name].selected for name in label.members),
                "fade": max(fades.get(name, 1.0) for name in label.members),
                "key": label.members[0] if len(label.members) == 1 else "",
                "leader": list(label.leader) if label.leader else [],
            }
            for label in labels
        ]
        self._labels = labels
        if data != self._label_data:
            self._label_data = data
            self.labelsChanged.emit()

    def _relabel_later(self, *_: object) -> None:
        self._relabel_soon.start(0)

    def _roles(self, model: QAbstractItemModel) -> dict[str, int]:
        return {bytes(name.data()).decode(): role for role, name in model.roleNames().items()}

    def _marks(self, frame: MapFrame, model: QAbstractItemModel) -> list[Mark]:
        roles = self._roles(model)
        marks: list[Mark] = []
        self._where = {}
        for row in range(model.rowCount()):
            index = model.index(row, 0)
            position = model.data(index, roles["position"])
            if not isinstance(position, QGeoCoordinate) or not position.isValid():
                continue
            name = str(model.data(index, roles["name"]))
            kind = str(model.data(index, roles["kind"]))
            lat, lon = position.latitude(), position.longitude()
            self._where[name] = (lat, lon)
            x, y = frame.pixel(lat, lon)
            text = name
            if kind == "caller":
                accuracy = model.data(index, roles["accuracy"]) or -1.0
                parts = [name]
                if accuracy > 0:
                    parts.append(f"±{round(accuracy)} m")
                parts.append(str(model.data(index, roles["fixAge"])))
                text = "  ·  ".join(parts)
            selected = bool(model.data(index, roles["selected"]))
            marks.append(Mark(name, kind, x, y, text, selected))
        return marks

    def _fades(self, model: QAbstractItemModel) -> dict[str, float]:
        roles = self._roles(model)
        fades: dict[str, float] = {}
        for row in range(model.rowCount()):
            index = model.index(row, 0)
            fade = model.data(index, roles["fade"])
            fades[str(model.data(index, roles["name"]))] = float(fade if fade is not None else 1)
        return fades

    def _label_list(self) -> list[dict[str, object]]:
        return self._label_data

    def _scale_text(self) -> str:
        return self._scale.text

    def _scale_width(self) -> float:
        return self._scale.pixels

    labels = Property(list, _label_list, notify=labelsChanged)
    scaleText = Property(str, _scale_text, notify=scaleChanged)
    scaleWidth = Property(float, _scale_width, notify=scaleChanged)

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
        self.bridge.show_labels_of(self.markers)
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

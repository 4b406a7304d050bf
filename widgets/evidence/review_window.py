"""The Review window, for forensic staff: find tagged clips, play one frame by frame beside
the map of where its feed was, and take a still or an export of it.

It is a window of its own (a second screen, beside the wall), made by the app with
`ReviewServices` (widgets/evidence/review_model.py): everything those do may be slow, so each runs
off the GUI thread (widgets/background.py) and the window is told the outcome. Opening a
clip is custody (the app records "view opened"); the window closes that viewing when
another clip is opened or the window closes, always after the opening was recorded, since
it asks only once it has heard the clip is open.

Keys: Space plays and pauses; Left/Right or ,/. step one frame; Home/End go to the first
and last frame; J and L play slower and faster, K pauses.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QProgressDialog,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from media.clips import ShownFrame, Still
from widgets import theme
from widgets.background import run_in_background
from widgets.evidence.review_model import (
    ClipQuery,
    ClipRecord,
    ClipTableModel,
    OpenedClipRecord,
    ReviewServices,
)
from widgets.evidence.review_player import PlayerPanel
from widgets.evidence.review_search import SearchBar
from widgets.evidence.review_track import TrackView
from widgets.map import MapSetup

log = logging.getLogger(__name__)


class _Progress(QObject):
    """An export's progress, from its worker thread to the dialog."""

    changed = Signal(float, str)


class ReviewWindow(QMainWindow):
    export_progressed = Signal(float, str)
    """An export's progress as its dialog shows it: fraction done, what is being done."""
    export_finished = Signal(str, bool)
    """What the window said when an export ended, and whether it succeeded."""

    def __init__(
        self,
        services: ReviewServices,
        map_setup: MapSetup | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setWindowTitle("Vigil — Review clips")
        self.services = services
        self.opened: OpenedClipRecord | None = None
        """The clip in the player, its viewing recorded as opened."""
        self._opening: str | None = None
        self._closing = False
        self.searches = 0
        """Searches answered and shown: the tests wait on it."""
        self._asked = 0
        """Searches asked for. Jobs run on a pool and may finish out of order: an answer
        to any but the latest is dropped, or an old one could replace a newer."""
        self.exporting = False
        self.progress_dialog: QProgressDialog | None = None

        self.search_bar = SearchBar()
        self.search_bar.query_changed.connect(self.search)
        self.clips = ClipTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.clips)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.selectionModel().currentRowChanged.connect(
            lambda current, _: self._on_row(current.row())
        )
        self.found_label = QLabel()

        self.player = PlayerPanel()
        self.player.frame_shown.connect(self._on_frame)
        self.player.error.connect(lambda text: self.say(text, error=True))
        self.track = TrackView(map_setup or MapSetup())
        self.still_button = QPushButton("Export still…")
        self.still_button.setToolTip("The frame on screen as a PNG, with its time and feed")
        self.still_button.clicked.connect(self.ask_still)
        self.export_button = QPushButton("Export clip…")
        self.export_button.setToolTip("The clip's recording as a bundle a court can verify")
        self.export_button.clicked.connect(self.ask_export)
        self.clip_label = QLabel()
        self.clip_label.setWordWrap(True)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.setCentralWidget(self._layout())
        # A child window is not closed, only destroyed, when the application quits.
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.finish)
        self._add_keys()
        self._update_buttons()
        self.resize(1500, 900)
        self.search(self.search_bar.query())
        run_in_background(
            services.feed_names,
            lambda names: self.search_bar.set_feeds(list(names)),
            lambda exc: log.warning("feed names not read: %s", exc),
            context=self,
        )

    def _layout(self) -> QWidget:
        results = QWidget()
        column = QVBoxLayout(results)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.table, 1)
        column.addWidget(self.found_label)

        buttons = QHBoxLayout()
        buttons.addWidget(self.clip_label, 1)
        buttons.addWidget(self.still_button)
        buttons.addWidget(self.export_button)
        left = QWidget()
        player_column = QVBoxLayout(left)
        player_column.setContentsMargins(0, 0, 0, 0)
        player_column.addWidget(self.player, 1)
        player_column.addLayout(buttons)

        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(left)
        lower.addWidget(self.track)
        lower.setStretchFactor(0, 3)
        lower.setStretchFactor(1, 2)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(results)
        split.addWidget(lower)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)

        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(10, 10, 10, 6)
        layout.addWidget(self.search_bar)
        layout.addWidget(split, 1)
        layout.addWidget(self.message)
        return page

    def _add_keys(self) -> None:
        player = self.player
        keys: list[tuple[str, Callable[[], object]]] = [
            ("Space", player.toggle),
            ("Left", lambda: player.step(-1)),
            (",", lambda: player.step(-1)),
            ("Right", lambda: player.step(1)),
            (".", lambda: player.step(1)),
            ("Home", player.seek_start),
            ("End", player.seek_end),
            ("J", lambda: player.change_speed(-1)),
            ("K", player.pause),
            ("L", self._faster),
        ]
        for key, slot in keys:
            action = QAction(self)
            action.setShortcut(QKeySequence(key))
            # Window-wide, but a text field that wants the key (Space, arrows) keeps it.
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            self.addAction(action)

    def _faster(self) -> None:
        """L: play, and each further press one speed faster."""
        if self.player.state.playing:
            self.player.change_speed(1)
        else:
            self.player.play()

    # -- searching -------------------------------------------------------------------------

    def search(self, query: ClipQuery) -> None:
        self._asked += 1
        asked = self._asked
        run_in_background(
            lambda: self.services.search(query),
            lambda clips: self._on_found(asked, clips),
            lambda exc: self.say(f"Search failed: {exc}", error=True),
            context=self,
        )

    def _on_found(self, asked: int, clips: Sequence[ClipRecord]) -> None:
        if asked != self._asked:
            return
        self.searches += 1
        keep = self.opened.clip.id if self.opened is not None else self._opening
        self.table.selectionModel().blockSignals(True)
        self.clips.set_clips(clips)
        row = self.clips.row_of(keep) if keep else None
        if row is not None:
            self.table.selectRow(row)
        self.table.selectionModel().blockSignals(False)
        count = len(clips)
        self.found_label.setText(f"{count} clip{'s' if count != 1 else ''} found")

    # -- viewing ---------------------------------------------------------------------------

    def select_clip(self, clip_id: str) -> None:
        """Select the clip's row (if the search shows it) and open it."""
        row = self.clips.row_of(clip_id)
        if row is not None:
            self.table.selectRow(row)
        else:
            self.open_clip(clip_id)

    def _on_row(self, row: int) -> None:
        clip = self.clips.clip(row)
        if clip is not None:
            self.open_clip(clip.id)

    def open_clip(self, clip_id: str) -> None:
        if self.opened is not None and self.opened.clip.id == clip_id:
            return
        self.close_clip()
        self._opening = clip_id
        self.player.view.set_empty_text(f"Opening {clip_id}…")
        run_in_background(
            lambda: self.services.open_clip(clip_id),
            self._on_opened,
            lambda exc: self._on_not_opened(clip_id, exc),
            context=self,
        )

    def _on_opened(self, opened: OpenedClipRecord) -> None:
        if self._closing or opened.clip.id != self._opening:
            self._record_closed(opened)  # chosen away meanwhile: its viewing ends unseen
            return
        self._opening = None
        self.opened = opened
        clip = opened.clip
        self.player.load(opened.index)
        self.track.set_track(clip.feed_name, clip.feed_kind, opened.track)
        self.clip_label.setText(_clip_text(clip))
        self.say("")
        self._update_buttons()

    def _on_not_opened(self, clip_id: str, exc: Exception) -> None:
        if clip_id == self._opening:
            self._opening = None
            self.player.view.set_empty_text(f"{clip_id} could not be opened.")
        self.say(f"{clip_id} could not be opened: {exc}", error=True)

    def close_clip(self) -> None:
        """Stop showing the open clip and record that its viewing closed."""
        opened, self.opened = self.opened, None
        self._opening = None
        self.player.unload()
        self.track.set_track("", None, ())
        self.clip_label.clear()
        self._update_buttons()
        if opened is not None:
            self._record_closed(opened)

    def _record_closed(self, opened: OpenedClipRecord) -> None:
        # The job runs even if the window is gone by then; only the reply is tied to it.
        def record() -> str:
            self.services.close_clip(opened)
            return opened.clip.id

        run_in_background(
            record,
            lambda _: None,
            lambda exc: log.error("view_closed of %s not recorded: %s", opened.clip.id, exc),
            context=self,
        )

    def _on_frame(self, frame: ShownFrame) -> None:
        self.track.show_time(frame.ref.utc)

    # -- writing out -----------------------------------------------------------------------

    def ask_still(self) -> None:
        """Ask where to write the frame on screen now (playing pauses)."""
        shown, opened = self.player.shown, self.opened
        if shown is None or opened is None:
            return
        self.player.pause()
        number = shown.ref.number
        name = f"{opened.clip.id}-frame{number + 1:06d}.png"
        dialog = self._file_dialog("Export still", self.services.export_folder / name)
        dialog.setNameFilter("PNG image (*.png)")
        dialog.setDefaultSuffix("png")
        dialog.fileSelected.connect(lambda path: self.export_still(Path(path), number))
        dialog.open()

    def export_still(self, out: Path, number: int | None = None) -> None:
        """Write frame `number` (the one on screen if None) of the open clip to `out`."""
        opened = self.opened
        shown = self.player.shown
        if opened is None or (number is None and shown is None):
            return
        frame = number if number is not None else shown.ref.number if shown else 0
        self.say(f"Writing the still of frame {frame + 1}…")
        run_in_background(
            lambda: self.services.export_still(opened, frame, out),
            self._on_still,
            lambda exc: self.say(f"The still was not written: {exc}", error=True),
            context=self,
        )

    def _on_still(self, still: Still) -> None:
        self.say(f"Still written to {still.path} (SHA-256 {still.sha256}, beside it).", ok=True)

    def ask_export(self) -> None:
        opened = self.opened
        if opened is None or self.services.export_clip is None or self.exporting:
            return
        dialog = self._file_dialog("Export clip into folder", self.services.export_folder)
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly)
        clip_id = opened.clip.id
        dialog.fileSelected.connect(lambda path: self.export_clip(Path(path) / clip_id, clip_id))
        dialog.open()

    def export_clip(self, out: Path, clip_id: str | None = None) -> None:
        """Export the clip (the open one if None) as a bundle in folder `out`, showing
        progress; the window stays usable meanwhile."""
        export = self.services.export_clip
        clip = clip_id or (self.opened.clip.id if self.opened else None)
        if export is None or clip is None or self.exporting:
            return
        self.exporting = True
        self._update_buttons()
        dialog = self.progress_dialog = QProgressDialog(f"Exporting {clip}…", "", 0, 1000, self)
        dialog.setWindowTitle(f"Exporting {clip}")  # the label changes to each step's
        dialog.setCancelButton(None)  # an export is finished or failed, never half-left
        dialog.setMinimumWidth(460)
        dialog.setMinimumDuration(0)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setValue(0)
        dialog.show()
        progress = _Progress(dialog)
        progress.changed.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        run_in_background(
            lambda: export(clip, out, progress.changed.emit),
            lambda where: self._export_done(clip, where, None),
            lambda exc: self._export_done(clip, None, exc),
            context=self,
        )

    def _on_progress(self, fraction: float, text: str) -> None:
        dialog = self.progress_dialog
        if dialog is not None:
            dialog.setValue(round(max(0.0, min(1.0, fraction)) * 1000))
            if text:
                dialog.setLabelText(text)
        self.export_progressed.emit(fraction, text)

    def _export_done(self, clip_id: str, where: str | None, exc: Exception | None) -> None:
        self.exporting = False
        if self.progress_dialog is not None:
            self.progress_dialog.close()
            self.progress_dialog.deleteLater()
            self.progress_dialog = None
        self._update_buttons()
        if exc is not None:
            self.say(f"{clip_id} was not exported: {exc}", error=True)
        else:
            self.say(f"{clip_id} exported to {where}", ok=True)
        self.export_finished.emit(self.message.text(), exc is None)

    def _file_dialog(self, title: str, start: Path) -> QFileDialog:
        # Qt's own dialog, opened without blocking: the player and the wall go on.
        dialog = QFileDialog(self, title, str(start))
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        return dialog

    # -- telling ---------------------------------------------------------------------------

    def say(self, text: str, *, error: bool = False, ok: bool = False) -> None:
        colour = theme.ERROR_TEXT if error else theme.SUCCESS_TEXT if ok else theme.TEXT_DIM
        self.message.setStyleSheet(f"color: {colour.name()};")
        self.message.setText(text)

    def _update_buttons(self) -> None:
        opened = self.opened
        self.still_button.setEnabled(opened is not None and len(opened.index) > 0)
        can_export = self.services.export_clip is not None and not self.exporting
        self.export_button.setEnabled(opened is not None and can_export)
        if self.services.export_clip is None:
            self.export_button.setToolTip("Export is not available in this build")

    def showEvent(self, event: QShowEvent) -> None:
        if self._closing:  # shown again after a close: clips open as before, and the
            self._closing = False  # list has what was tagged meanwhile
            self.search(self.search_bar.query())
        super().showEvent(event)

    def finish(self) -> None:
        """The application is quitting: record the open clip's viewing as closed now, on
        this thread. A worker might not run again, and a viewing left open in the custody
        log would say someone is watching still; a short wait at exit is the lesser cost."""
        opened, self.opened = self.opened, None
        self.player.unload()
        if opened is not None:
            try:
                self.services.close_clip(opened)
            except Exception:  # quitting regardless; the log says what was lost
                log.exception("view_closed of %s not recorded at exit", opened.clip.id)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.exporting:
            # Closing would leave the bundle's folder half-written and nobody told.
            self.say("An export is still being written; close when it has finished.", error=True)
            event.ignore()
            return
        self._closing = True
        self.close_clip()
        super().closeEvent(event)


def _clip_text(clip: ClipRecord) -> str:
    """Rich text: the names are escaped (a feed's name may hold "<")."""
    parts = [f"<b>{html.escape(clip.id)}</b>", html.escape(clip.feed_name)]
    if clip.incident:
        parts.append(f"incident {html.escape(clip.incident)}")
    if clip.tags:
        parts.append(html.escape(", ".join(clip.tags)))
    if clip.locked:
        parts.append("locked")
    return "  ·  ".join(parts)

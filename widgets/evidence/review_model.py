"""What the Review window shows and asks for, as plain data: a search, the clips found (a
table model), and the services the app gives it.

The window knows no database: the app hands it `ReviewServices`, callables the window runs
off the GUI thread. A clip is anything shaped like `ClipRecord` (app/evidence/clips.py's `Clip` is).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor

from media.clips import ClipIndex, Still, format_utc
from media.live import FeedKind, Location
from widgets import theme


@dataclass(frozen=True)
class ClipQuery:
    """The search bar's fields; None (or blank) is "any"."""

    text: str | None = None
    """Part of the note, incident, feed name or a tag, any case."""
    tag: str | None = None
    incident: str | None = None
    feed: str | None = None
    kind: FeedKind | None = None
    start: float | None = None
    """Clips overlapping start..end (Unix times, UTC)."""
    end: float | None = None


class ClipRecord(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def feed_name(self) -> str: ...
    @property
    def feed_kind(self) -> FeedKind | None: ...
    @property
    def start_utc(self) -> float: ...
    @property
    def end_utc(self) -> float: ...
    @property
    def tags(self) -> tuple[str, ...]: ...
    @property
    def note(self) -> str | None: ...
    @property
    def incident(self) -> str | None: ...
    @property
    def locked(self) -> bool: ...


class OpenedClipRecord(Protocol):
    """A clip opened for viewing: its frames and the feed's positions meanwhile."""

    @property
    def clip(self) -> ClipRecord: ...
    @property
    def index(self) -> ClipIndex: ...
    @property
    def track(self) -> Sequence[Location]: ...


Progress = Callable[[float, str], None]
"""(fraction done 0..1, what is being done)."""


@dataclass(frozen=True)
class ReviewServices:
    """What the app lets the Review window do; every call may be slow and is made off the
    GUI thread."""

    search: Callable[[ClipQuery], Sequence[ClipRecord]]
    feed_names: Callable[[], Sequence[str]]
    open_clip: Callable[[str], OpenedClipRecord]
    """Also records that the clip's viewing opened."""
    close_clip: Callable[[OpenedClipRecord], None]
    """Records that its viewing closed."""
    export_still: Callable[[OpenedClipRecord, int, Path], Still]
    export_clip: Callable[[str, Path, Progress], str] | None = None
    """Writes the bundle; returns where it is, in words. None: export is not available."""
    export_folder: Path = field(default_factory=Path.home)
    """Where the file dialogs start."""


COLUMNS = ("Clip", "Start (UTC)", "Length", "Feed", "Kind", "Incident", "Tags", "Lock", "Note")


def duration_text(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ClipTableModel(QAbstractTableModel):
    """The clips a search found, one row each, by start time."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._clips: list[ClipRecord] = []

    def set_clips(self, clips: Sequence[ClipRecord]) -> None:
        self.beginResetModel()
        self._clips = list(clips)
        self.endResetModel()

    def clip(self, row: int) -> ClipRecord | None:
        return self._clips[row] if 0 <= row < len(self._clips) else None

    def row_of(self, clip_id: str) -> int | None:
        return next((n for n, c in enumerate(self._clips) if c.id == clip_id), None)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._clips)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        clip = self.clip(index.row()) if index.isValid() else None
        if clip is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _cell(clip, column)
        if role == Qt.ItemDataRole.ToolTipRole and column == 8 and clip.note:
            return clip.note
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == 4 and clip.feed_kind is not None:
                return theme.KIND_COLOURS[clip.feed_kind].lighter(130)
            if column == 5:
                return theme.INCIDENT
            if column == 7:
                return QColor(theme.WARNING)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def _cell(clip: ClipRecord, column: int) -> str:
    if column == 0:
        return clip.id
    if column == 1:
        return format_utc(clip.start_utc)[:-4]  # to the second: the row, not the frame
    if column == 2:
        return duration_text(clip.end_utc - clip.start_utc)
    if column == 3:
        return clip.feed_name
    if column == 4:
        return clip.feed_kind.value if clip.feed_kind else ""
    if column == 5:
        return clip.incident or ""
    if column == 6:
        return ", ".join(clip.tags)
    if column == 7:
        return "locked" if clip.locked else ""
    note = (clip.note or "").strip()
    return note.splitlines()[0] if note else ""

"""Tagging on the wall: T tags the selected tile's last seconds, Shift+T marks in and out.

Glue between the wall (widgets/wall/wall.py), the tag dialog (widgets/evidence/tag_dialog.py) and
the clip book (app/evidence/clips.py), on the GUI thread. The time range is taken the instant the
key is pressed (not when the dialog is saved), and the clip is made at once, so a moment is never
lost to a call that takes the operator's attention; the dialog then adds tags, a note and the
incident, as an edit (a `tag_edited` custody entry). Every database step runs on the thread pool
(widgets/background.py) on a connection of its own: SQLite may wait on another writer (a `vigil
evidence` command, the recorders), and the wall must not.

Shift+T's in mark is per feed and held here: the first press marks in (the status line
says so), the second on the same feed marks out and tags; Esc on the wall, or Shift+T on a
feed left as long as a clip may last, drops it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, closing, contextmanager
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from app.database import open_database
from app.evidence.clips import MAX_CLIP_S, Clip, ClipBook, ClipKeptError
from app.evidence.custody import CustodyLog
from app.evidence.hashchain import utc_text
from media.live import Feed
from widgets.background import run_in_background
from widgets.evidence import TagDetails, TagDialog, TaggedMoment
from widgets.wall import Wall

log = logging.getLogger(__name__)

DEFAULT_TAG_SECONDS = 30.0


def moment_of(clip: Clip) -> TaggedMoment:
    return TaggedMoment(
        clip_id=clip.id,
        feed_name=clip.feed_name,
        start_utc=clip.start_utc,
        end_utc=clip.end_utc,
        tags=clip.tags,
        note=clip.note,
        incident=clip.incident,
    )


class Clips(Protocol):
    """Where tags are made: a `ClipBook` on this machine's database, or a room's server."""

    def tag(self, feed_name: str, start: float, end: float, **more: Any) -> Clip: ...

    def edit(self, clip_id: str, **more: Any) -> Clip: ...

    def delete(self, clip_id: str, actor: str | None = None, reason: str | None = None) -> Clip: ...


OpenClips = Callable[[], AbstractContextManager[Clips]]


def local_clips(database: Path) -> OpenClips:
    """The clip book on this machine's database, a connection of its own each time."""

    @contextmanager
    def opened() -> Any:
        with closing(open_database(database)) as db:
            yield ClipBook(db, CustodyLog(db))

    return opened


class TagDesk(QObject):
    def __init__(
        self,
        wall: Wall,
        clips: Path | OpenClips,
        say: Callable[[str], None],
        parent: QWidget,
        *,
        tag_seconds: float = DEFAULT_TAG_SECONDS,
        clock: Callable[[], float] = time.time,
        actor: Callable[[], str | None] = lambda: None,
    ) -> None:
        super().__init__(parent)
        self.actor = actor
        """Who tags, asked at each keypress: the signed-in account (None: the OS user)."""
        self._wall = wall
        self._clips = local_clips(clips) if isinstance(clips, Path) else clips
        """Where tags go: this machine's database, or (a room's desk) the room server."""
        self._say = say
        self._window = parent
        self.tag_seconds = tag_seconds
        self.clock = clock
        self.in_marks: dict[str, float] = {}
        """Feed name → Unix time of its Shift+T in mark, until the out mark."""
        self.dialogs: list[TagDialog] = []

    # -- the keys --------------------------------------------------------------------------

    def tag_last(self) -> None:
        """T: the selected tile's last `tag_seconds`, ending now."""
        feed = self._selected()
        if feed is None:
            return
        end = self.clock()
        self._make(feed, end - self.tag_seconds, end)

    def mark(self) -> None:
        """Shift+T: the in mark, or with one set on this feed, the out mark and the tag."""
        feed = self._selected()
        if feed is None:
            return
        now = self.clock()
        started = self.in_marks.pop(feed.name, None)
        if started is not None and now - started > MAX_CLIP_S:
            self._say(f"The in mark on {feed.name} was over {MAX_CLIP_S / 3600:g} h ago; dropped")
            started = None
        if started is None:
            self.in_marks[feed.name] = now
            self._say(
                f"In mark on {feed.name} at {utc_text(now)[11:19]} UTC: "
                "Shift+T again marks out and tags, Esc drops it"
            )
            return
        self._make(feed, started, now)

    def drop_marks(self) -> None:
        if self.in_marks:
            self._say(f"In mark dropped on {', '.join(sorted(self.in_marks))}")
            self.in_marks.clear()

    # -- the work --------------------------------------------------------------------------

    def _selected(self) -> Feed | None:
        tile = self._wall.selected
        if tile is None:
            self._say("Select a tile first: tagging tags the selected feed")
            return None
        return tile.feed

    def _make(self, feed: Feed, start: float, end: float) -> None:
        name, kind, incident, actor = feed.name, feed.kind, feed.spec.incident, self.actor()

        def make() -> Clip:
            return self._with_book(
                lambda book: book.tag(name, start, end, kind=kind, incident=incident, actor=actor)
            )

        self._say(f"Tagging {end - start:.0f} s of {name}…")
        run_in_background(make, self._made, self._not_made, context=self)

    def _made(self, clip: Clip) -> None:
        log.info("tagged %s: %s %s..%s", clip.id, clip.feed_name, clip.start_utc, clip.end_utc)
        self._say(
            f"Tagged {clip.id}: {clip.duration_s:.0f} s of {clip.feed_name} "
            f"to {utc_text(clip.end_utc)[11:19]} UTC"
        )
        dialog = TagDialog(moment_of(clip), self._window)
        dialog.save_requested.connect(lambda details: self._save(dialog, details))
        dialog.withdraw_requested.connect(lambda: self._withdraw(dialog))
        dialog.destroyed.connect(lambda: self.dialogs.remove(dialog))
        self.dialogs.append(dialog)
        dialog.show()

    def _not_made(self, exc: Exception) -> None:
        if isinstance(exc, ClipKeptError):
            log.warning("tag kept for later: %s", exc)
            self._say(f"Tag kept: {exc}")
            return
        log.error("tagging failed: %s", exc)
        self._say(f"Not tagged: {exc}")

    def _save(self, dialog: TagDialog, details: TagDetails) -> None:
        clip_id, actor = dialog.moment.clip_id, self.actor()

        def edit() -> Clip:
            return self._with_book(
                lambda book: book.edit(
                    clip_id,
                    tags=details.tags,
                    note=details.note,
                    incident=details.incident,
                    actor=actor,
                )
            )

        def saved(clip: Clip) -> None:
            self._say(f"Saved {clip.id}" + (f" [{', '.join(clip.tags)}]" if clip.tags else ""))
            dialog.show_saved(moment_of(clip))

        run_in_background(edit, saved, lambda exc: dialog.show_error(str(exc)), context=dialog)

    def _withdraw(self, dialog: TagDialog) -> None:
        clip_id, actor = dialog.moment.clip_id, self.actor()

        def withdraw() -> Clip:
            return self._with_book(
                lambda book: book.delete(
                    clip_id, actor=actor, reason="tagged by mistake (withdrawn at once)"
                )
            )

        def withdrawn(clip: Clip) -> None:
            self._say(f"Withdrawn {clip.id}")
            dialog.show_withdrawn()

        run_in_background(
            withdraw, withdrawn, lambda exc: dialog.show_error(str(exc)), context=dialog
        )

    def _with_book(self, work: Callable[[Clips], Clip]) -> Clip:
        """Runs on a pool thread: the clips opened for this piece of work, closed after."""
        with self._clips() as clips:
            return work(clips)

"""Body cams on the wall: shuttered until opened for a stated reason, by someone who may.

Glue between the wall's tiles (widgets/wall/tile.py's shutter), the reason dialog
(widgets/access/bodycam_reason.py) and the rule (app/access/bodycam.py), on the GUI thread. A body
cam opens only with a reason and an incident reference, and only for a person whose role holds
OPEN_BODYCAMS; it stays open for that person alone: any change of who is at the window (a sign-out,
another person, the idle lock) shutters every body cam again. The window turns what is open into
viewing records (app/access/viewing.py), so the custody log holds who opened which body cam, why,
when and for how long."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QWidget

from app.access.bodycam import REASONS, ViewingReason, stated_reason
from app.access.person import Person
from app.access.roles import Permission
from media.live import Feed, FeedKind
from widgets.access import ReasonDialog
from widgets.wall import Tile


@dataclass(frozen=True)
class OpenBodycam:
    reason: ViewingReason
    person: str
    """The account that stated the reason: the viewing is theirs."""


def is_bodycam(feed: Feed) -> bool:
    return feed.kind is FeedKind.BODYCAM


class BodycamDesk(QObject):
    changed = Signal()
    """A body cam was opened or closed: the window re-shutters tiles and logs viewings."""

    def __init__(
        self,
        person: Callable[[], Person | None],
        parent: QWidget,
        *,
        locked: Callable[[], bool] = lambda: False,
    ) -> None:
        super().__init__(parent)
        self._person = person
        self._locked = locked
        self._parent = parent
        self.open: dict[str, OpenBodycam] = {}
        """Feed name → why it is open, and for whom."""
        self.dialog: ReasonDialog | None = None

    def may_open(self) -> bool:
        person = self._person()
        return not self._locked() and (person is None or person.may(Permission.OPEN_BODYCAMS))

    def ask(self, feed: Feed) -> ReasonDialog | None:
        """Ask for the reason to open `feed` (never modal to the wall: `open()`); None when
        the person may not open body cams or the feed is not a closed body cam."""
        if not is_bodycam(feed) or feed.name in self.open or not self.may_open():
            return None
        self.drop_dialog()
        person = self._person()
        dialog = ReasonDialog(
            feed.name,
            REASONS,
            who=person.label if person is not None else "this workstation",
            incident=feed.spec.incident or "",
            check=stated_reason,
            parent=self._parent,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        # The statement is the asker's: if someone else is at the window by the time it
        # comes (the dialog outlived a sign-out), it opens nothing.
        dialog.stated.connect(
            lambda reason, detail, incident: self._stated(
                feed, person, stated_reason(reason, detail, incident)
            )
        )
        dialog.finished.connect(lambda _: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()
        return dialog

    def drop_dialog(self) -> None:
        """Close a reason dialog still asking (the person at the window changed)."""
        if self.dialog is not None:
            self.dialog.reject()
            self.dialog = None

    def _stated(self, feed: Feed, asker: Person | None, reason: ViewingReason) -> None:
        if self._person() == asker:
            self.open_for(feed, reason)

    def open_for(self, feed: Feed, reason: ViewingReason, person: Person | None = None) -> None:
        """Open `feed` for `reason`, under `person` (default: who is at the window).
        ValueError when it may not be: not a body cam, the window locked, or `person` not
        the one at the window (a body cam is opened by the person who will answer for
        its viewing, and that person is at the wall)."""
        if not is_bodycam(feed):
            raise ValueError(f"{feed.name} is a {feed.kind.value}, not a body cam")
        here = self._person()
        if self._locked():
            raise ValueError("the wall's window is locked: unlock it, then open the body cam")
        if person is not None and here is not None and person.user != here.user:
            raise ValueError(
                f"{here.user} is signed in at the wall; only the person at the wall opens "
                "a body cam on it"
            )
        who = person or here
        if who is not None and not who.may(Permission.OPEN_BODYCAMS):
            raise ValueError(f"{who.user} may not open body cams")
        self.open[feed.name] = OpenBodycam(reason, who.user if who is not None else "")
        self.changed.emit()

    def close(self, feed_name: str) -> bool:
        if self.open.pop(feed_name, None) is None:
            return False
        self.changed.emit()
        return True

    def close_all(self) -> None:
        if self.open:
            self.open.clear()
            self.changed.emit()

    def forget_missing(self, present: Iterable[str]) -> None:
        """A body cam whose feed has gone is closed (its viewing ends with it)."""
        gone = set(self.open) - set(present)
        for name in gone:
            del self.open[name]
        if gone:
            self.changed.emit()

    def shutter(self, tiles: Iterable[Tile]) -> None:
        """Each body cam's tile closed or open, as it is now; other tiles untouched."""
        offer = self.may_open()
        closed = (
            ("BODY CAM · CLOSED", "Opened only for a stated reason: O, or right-click ▸ Open")
            if offer
            else ("BODY CAM · CLOSED", "Opened by a supervisor, for a stated reason")
        )
        for tile in tiles:
            if not is_bodycam(tile.feed):
                continue
            opened = self.open.get(tile.feed.name)
            tile.set_shutter(None if opened is not None else closed)
            tile.set_reason(opened.reason.chip if opened is not None else None)

"""What is on view at this workstation, and to whom: body cams shuttered or opened, the one
feed heard across every screen, and the viewing records that follow them.

Glue on the GUI thread between the screens' walls (app/wall/screens.py), the body cams
(app/access/bodycam_desk.py), the sound (widgets/wall/audio_out.py) and the custody log's viewing
records (app/access/viewing.py). The records follow the wall once the event in hand is over, so a
tile moved from one screen to another is still on view and writes nothing, while a new
person at the window closes the last one's viewings and opens their own.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from app.access import Permission, Person, Viewing, ViewingLog
from app.access.bodycam_desk import BodycamDesk
from app.wall.screens import WallScreens
from media.live import Feed
from widgets.wall import AudioOut, Wall


class OnView(QObject):
    def __init__(
        self,
        screens: WallScreens,
        bodycams: BodycamDesk,
        viewing: ViewingLog | None,
        audio: AudioOut,
        *,
        person: Callable[[], Person | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._screens = screens
        self._bodycams = bodycams
        self._viewing = viewing
        self._audio = audio
        self._person = person
        self._pending = False
        bodycams.changed.connect(self.refresh)
        for wall in screens.walls:
            self.hook(wall)

    def hook(self, wall: Wall) -> None:
        wall.listening_changed.connect(self._listening)
        wall.feed_shown.connect(self._feed_shown)
        wall.feed_taken_off.connect(lambda _: self.sync_soon())
        wall.open_requested.connect(self._bodycams.ask)
        wall.close_requested.connect(lambda feed: self._bodycams.close(feed.name))

    def refresh(self) -> None:
        """After a body cam opened or closed, or a change of person: every body cam's tile
        as it should be, a shuttered one silent, and the records to follow."""
        tiles = self._screens.tiles()
        self._bodycams.shutter(tiles)
        heard = self._audio.feed
        if heard is not None and any(t.feed is heard and t.shutter for t in tiles):
            wall = self._screens.wall_of(heard.name)
            if wall is not None:
                wall.set_listening(None)
        self.sync_soon()

    def sync_soon(self) -> None:
        if not self._pending:
            self._pending = True
            QTimer.singleShot(0, self._sync)

    def _sync(self) -> None:
        self._pending = False
        # A body cam whose feed went is closed: back later, it needs a reason again.
        self._bodycams.forget_missing(tile.feed.name for tile in self._screens.tiles())
        if self._viewing is None:
            return
        person = self._person()
        if person is not None and not person.may(Permission.WATCH_FEEDS):
            self._viewing.show_only([])
            return
        actor = person.user if person is not None else self._viewing.actor
        wanted = []
        for tile in self._screens.tiles():
            if tile.shutter is not None:
                continue
            opened = self._bodycams.open.get(tile.feed.name)
            if opened is not None:
                wanted.append(Viewing(tile.feed, opened.person or actor, opened.reason.details()))
            else:
                wanted.append(Viewing(tile.feed, actor))
        self._viewing.show_only(wanted)

    def _feed_shown(self, feed: Feed) -> None:
        # At once, before the tile's first paint: a new body cam never shows a picture.
        tile = next((t for t in self._screens.tiles() if t.feed is feed), None)
        if tile is not None:
            self._bodycams.shutter([tile])
        self.sync_soon()

    def _listening(self, feed: Feed | None) -> None:
        """One feed heard at a time across every screen."""
        if feed is not None:
            for tile in self._screens.tiles():
                if tile.feed is not feed and tile.feed.audio.listening:
                    tile.feed.audio.set_listening(False)
                    tile.update()
            self._audio.play(feed)
        elif self._audio.feed is None or not self._audio.feed.audio.listening:
            self._audio.play(None)

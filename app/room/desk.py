"""A desk of a control room: `vigil run` with a [room] section.

The person at the desk signs in to the room server, not to the desk: the server checks the
password and its roles decide (`RoomSession`, the window's session, asks the server on
sign-in and unlock, and knows no accounts of its own). Once someone is signed in the desk
shows the room's feeds, each read from the server's restream (`RoomDesk`, app/room/
desk_feeds.py); signing out takes them off the wall. The desk records nothing: the server
records every feed once.

The sign-in dialog is the window's own (app/access/window_controls.py), as with Vigil's
sign-in on a standalone desk. No Qt here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.access import WRONG_SIGN_IN, AccountBook, How, Person, Role, Session, SignInError
from app.config import AccessSettings, RoomSettings, SignIn
from app.evidence import CustodyAction
from app.feeds import FeedService
from app.room.client import NotPinnedError, RoomClient, RoomError
from app.room.desk_feeds import RoomRelay, room_feed_spec
from app.room.desk_tags import RoomClips
from app.room.outbox import Outbox
from media.live import Connection, Feed, FeedSource, FeedState, Location

log = logging.getLogger(__name__)

FOLLOW_S = 2.0
"""How often a desk asks the server which feeds the room has (app/instance.py asks)."""
FLUSH_S = 3.0
"""How long signing out waits for what the person did to reach the server."""


class RoomDesk:
    """The room server as this desk sees it: who is signed in, and the room's feeds."""

    def __init__(self, settings: RoomSettings, feeds: FeedService, database: Path) -> None:
        self.settings = settings
        self.client = RoomClient(settings)
        self._feeds = feeds
        self.outbox = Outbox(database, self.client)
        """Tags and custody entries on their way to the server, kept until it has them."""
        self._mine: dict[str, Feed] = {}
        """The feeds this desk shows from the room, by the server's feed id."""
        self.user: str | None = None
        self.role: str | None = None
        self.error: str | None = None

    def start(self) -> None:
        self.outbox.start()

    def stop(self) -> None:
        self.sign_out()
        self.outbox.stop()

    @contextmanager
    def clips(self) -> Iterator[RoomClips]:
        """Where this desk's tags are made: the room server (the wall's tag desk)."""
        yield RoomClips(self.outbox)

    def custody(
        self, action: CustodyAction, subject: str, details: dict[str, Any], actor: str
    ) -> None:
        """A custody entry of this desk's (a viewing, a lock) for the server's log."""
        try:
            self.outbox.custody(action, subject, details, actor)
        except RoomError as exc:  # nobody signed in: nobody's entry to keep
            log.warning("custody entry %s of %s not kept: %s", action.value, subject, exc)

    def sign_in(self, user: str, password: str) -> Person:
        """The person the server says this is; RoomError when it refuses or is not there."""
        signed = self.client.sign_in(user, password)
        self.user, self.role, self.error = signed.user, signed.role, None
        log.info(
            "signed in to the room server %s as %s (%s)", self.client.server, user, signed.role
        )
        return Person(signed.user, signed.user, Role(signed.role), How.VIGIL)

    def check(self, user: str, password: str) -> None:
        """The password is still this person's (an unlock): RoomError if not."""
        self.client.sign_in(user, password)

    def show_room(self) -> None:
        """Put the room's feeds on this desk now (at sign-in)."""
        try:
            self.apply(self.fetch())
        except RoomError as exc:
            self.failed(exc)

    def fetch(self) -> list[dict[str, Any]]:
        """The room's feeds as the server lists them (blocking: off the GUI thread).
        RoomError when it cannot say."""
        listed: list[dict[str, Any]] = self.client.room()["feeds"]
        return listed

    def apply(self, listed: list[dict[str, Any]]) -> None:
        """Make this desk's feeds the room's (on the thread that owns the wall): a caller
        who came is added, one dismissed on the server taken off; the position of each
        feed without telemetry of its own (a caller's GPS) is the server's."""
        if self.client.token is None:
            return  # signed out meanwhile
        self.error = None
        here: set[str] = set()
        for entry in listed:
            feed_id = str(entry["id"])
            here.add(feed_id)
            feed = self._mine.get(feed_id)
            if feed is None:
                feed = Feed(room_feed_spec(entry, self.client.server), feed_id=feed_id)
                relay = RoomRelay(self.client, feed_id, name=feed.name)
                self._mine[feed_id] = feed
                self._feeds.add(feed, FeedSource(feed, relay=relay))
            if feed.telemetry is None and entry.get("location"):
                feed.location = _location(entry["location"])
        for feed_id in [i for i in self._mine if i not in here]:
            self._feeds.remove(self._mine.pop(feed_id))

    def failed(self, exc: Exception) -> None:
        """The server could not say (on the thread that owns the wall): a desk cut off
        shows it on every tile at once, not only as each stream times out. The first
        picture that comes again shows the feed live."""
        self.error = str(exc)
        log.warning("the room's feeds: %s", exc)
        if isinstance(exc, RoomError) and exc.status is None:
            for feed in self._mine.values():
                if feed.connection.state in (FeedState.LIVE, FeedState.CONNECTING):
                    feed.set_connection(
                        Connection(FeedState.RECONNECTING, f"cut off from the room: {exc.why}")
                    )

    @property
    def signed_in(self) -> bool:
        return self.client.token is not None

    def sign_out(self) -> None:
        """Take the room's feeds off this desk and end the sign-in on the server, once what
        the person did has reached it (or, the server away, is kept with their sign-in)."""
        for feed in list(self._mine.values()):
            self._feeds.remove(feed)
        self._mine.clear()
        if self.client.token is None:
            return
        if not self.outbox.flush(FLUSH_S):
            log.warning("signing out with entries still kept for the room server")
            self.client.token = None  # their sign-in stays valid on the server for those
            self.user = self.role = None
            return
        try:
            self.client.sign_out()
        except RoomError as exc:
            log.warning("signing out of the room server: %s", exc)
        self.user = self.role = None

    def shows(self, feed: Feed) -> bool:
        return self._mine.get(feed.id) is feed

    def status(self) -> dict[str, Any]:
        return {
            "server": self.settings.server,
            "user": self.user,
            "role": self.role,
            "feeds": len(self._mine),
            "error": self.error,
            "outbox": self.outbox.status(),
        }


class RoomSession(Session):
    """The window's session on a room's desk: every sign-in and unlock is the server's to
    decide, and its custody entries (locked, unlocked) are the server's too: sign-in and
    sign-out the server logs itself as they happen."""

    def __init__(
        self,
        book: AccountBook,
        settings: AccessSettings,
        desk: RoomDesk,
        *,
        on_sign_in: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(book, AccessSettings(SignIn.VIGIL, settings.idle_lock_minutes))
        self._desk = desk
        self._on_sign_in = on_sign_in
        self._person = _nobody(desk)

    def sign_in(self, user: str, password: str) -> Person:
        user = user.strip()
        try:
            person = self._desk.sign_in(user, password)
        except NotPinnedError as exc:
            raise SignInError(str(exc)) from None
        except RoomError as exc:
            if exc.status == 401:
                raise SignInError(WRONG_SIGN_IN) from None
            raise SignInError(str(exc)) from None
        self._person = person
        self._locked = False
        self._on_sign_in()
        return person

    def sign_out(self) -> Person:
        self._desk.sign_out()
        self._locked = False
        self._person = _nobody(self._desk)
        return self._person

    def unlock(self, password: str | None = None) -> Person:
        if not self._locked:
            return self._person
        try:
            self._desk.check(self._person.user, password or "")
        except RoomError as exc:
            raise SignInError(
                "Wrong password, or the account is now disabled." if exc.status == 401 else str(exc)
            ) from None
        self._locked = False
        self._log(CustodyAction.SESSION_UNLOCKED, {})
        return self._person

    def refresh(self) -> bool:
        return False  # the server decides at every request; there are no accounts here

    @property
    def needs_password(self) -> bool:
        return True

    def _log(self, action: CustodyAction, details: dict[str, object]) -> None:
        """The session's own entries (locked, unlocked) go to the server's log."""
        person = self._person
        role = person.role.value if person.role else None
        self._desk.custody(action, person.user, {**details, "role": role}, person.user)


def _location(listed: dict[str, Any]) -> Location:
    return Location(
        float(listed["lat"]),
        float(listed["lon"]),
        listed.get("accuracy_m"),
        float(listed["at"]),
        heading_deg=listed.get("heading"),
        speed_mps=listed.get("speed"),
    )


def _nobody(desk: RoomDesk) -> Person:
    return Person(
        "",
        "",
        None,
        How.NOBODY,
        f"Sign in to the room server {desk.client.server} to see the room's feeds.",
    )

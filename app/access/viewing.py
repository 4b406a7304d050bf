"""Who watched which feed, and for how long: a custody entry when a feed's tile appears on
this workstation's wall (`view_opened`) and one when it goes (`view_closed`, with seconds).

The custody log is evidence of who saw what (a court may ask whether the wall showed a
body cam to anyone who had no reason to see it), so viewing is recorded like any other
action on recorded material. Each viewing is under the person signed in at the time (their
Vigil account), and a body cam's carries the reason stated for opening it; the window says
what is on view with `show_only`, and a change of person closes one person's viewings and
opens the next person's. The entries are written in order by one thread of their own,
so neither SQLite's waits nor a busy disk ever reach the wall; `close()` writes what is
left and then the closing of every viewing still open. No Qt here.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.database import open_database
from app.evidence import CustodyAction, CustodyLog, os_user
from media.live import Feed

log = logging.getLogger(__name__)

_STOP = None


@dataclass(frozen=True)
class Viewing:
    """A feed on view, to whom, and (a body cam) why."""

    feed: Feed
    actor: str
    reason: Mapping[str, str] = field(default_factory=dict)
    """A body cam's stated reason (app/access/bodycam.py `ViewingReason.details()`); empty else."""


@dataclass(frozen=True)
class _Open:
    at: float
    actor: str
    reason: tuple[tuple[str, str], ...]


CustodyWriter = Callable[[CustodyAction, str, dict[str, Any], str], None]
"""Writes one custody entry somewhere other than this machine's database (a room's desk
sends them to its server: app/room/outbox.py)."""


class ViewingLog:
    def __init__(
        self,
        database: Path,
        *,
        where: str = "wall",
        actor: str | None = None,
        clock: Callable[[], float] = time.time,
        write: CustodyWriter | None = None,
    ) -> None:
        self._database = database
        self._writer = write
        self._where = where
        self.actor = actor or os_user()
        self._clock = clock
        self._open: dict[str, _Open] = {}
        """Feed name → when its viewing opened (Unix time), for whom, why."""
        self._queue: queue.Queue[tuple[CustodyAction, str, dict[str, Any], str] | None] = (
            queue.Queue()
        )
        self.errors = 0
        self._thread = threading.Thread(target=self._write, name="viewing-log", daemon=True)
        self._thread.start()

    @property
    def open_feeds(self) -> list[str]:
        return sorted(self._open)

    def _opened(self, feed: Feed, actor: str, reason: Mapping[str, str]) -> None:
        if feed.name in self._open:
            return
        who = actor
        why = tuple(sorted(reason.items()))
        self._open[feed.name] = _Open(self._clock(), who, why)
        details: dict[str, Any] = {
            "kind": feed.kind.value,
            "where": self._where,
            "workstation": _host(),
        }
        if feed.spec.incident:
            details["incident"] = feed.spec.incident
        details.update(why)  # a body cam's reason and incident: the one the person stated
        self._queue.put((CustodyAction.VIEW_OPENED, feed.name, details, who))

    def show_only(self, viewings: Iterable[Viewing]) -> None:
        """What is on view now: viewings no longer wanted, or now someone else's or for
        another reason, close; the new ones open. Unchanged ones write nothing."""
        wanted = {viewing.feed.name: viewing for viewing in viewings}
        for name, current in list(self._open.items()):
            viewing = wanted.get(name)
            if viewing is None or (viewing.actor, tuple(sorted(viewing.reason.items()))) != (
                current.actor,
                current.reason,
            ):
                self._close(name)
        for viewing in wanted.values():
            self._opened(viewing.feed, viewing.actor, viewing.reason)

    def _close(self, name: str) -> None:
        current = self._open.pop(name, None)
        if current is None:
            return
        seconds = round(self._clock() - current.at, 1)
        details: dict[str, Any] = {"where": self._where, "workstation": _host(), "seconds": seconds}
        details.update(current.reason)
        self._queue.put((CustodyAction.VIEW_CLOSED, name, details, current.actor))

    def close(self, timeout_s: float = 5.0) -> None:
        """Close every viewing still open, write everything, end the writer."""
        for name in list(self._open):
            self._close(name)
        self._queue.put(_STOP)
        self._thread.join(timeout_s)

    def _write(self) -> None:
        db = None
        try:
            while (item := self._queue.get()) is not _STOP:
                action, subject, details, actor = item
                try:
                    if self._writer is not None:
                        self._writer(action, subject, details, actor)
                        continue
                    if db is None:
                        db = open_database(self._database)
                    CustodyLog(db).append(action, subject, details, actor=actor)
                except Exception:  # logged, counted; the wall goes on
                    self.errors += 1
                    log.exception("could not log %s of %s", action.value, subject)
        finally:
            if db is not None:
                db.close()


def _host() -> str:
    return socket.gethostname()

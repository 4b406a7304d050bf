"""Who watched which feed, and for how long: a custody entry when a feed's tile appears on
this workstation's wall (`view_opened`) and one when it goes (`view_closed`, with seconds).

The custody log is evidence of who saw what (a court may ask whether the wall showed a
body cam to anyone who had no reason to see it), so viewing is recorded like any other
action on recorded material. The entries are written in order by one thread of their own,
so neither SQLite's waits nor a busy disk ever reach the wall; `close()` writes what is
left and then the closing of every viewing still open. No Qt here.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.custody import CustodyAction, CustodyLog, os_user
from app.database import open_database
from media.feed import Feed

log = logging.getLogger(__name__)

_STOP = None


class ViewingLog:
    def __init__(
        self,
        database: Path,
        *,
        where: str = "wall",
        actor: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._database = database
        self._where = where
        self.actor = actor or os_user()
        self._clock = clock
        self._open: dict[str, float] = {}
        """Feed name → when its viewing opened (Unix time)."""
        self._queue: queue.Queue[tuple[CustodyAction, str, dict[str, Any]] | None] = queue.Queue()
        self.errors = 0
        self._thread = threading.Thread(target=self._write, name="viewing-log", daemon=True)
        self._thread.start()

    @property
    def open_feeds(self) -> list[str]:
        return sorted(self._open)

    def opened(self, feed: Feed) -> None:
        if feed.name in self._open:
            return
        now = self._clock()
        self._open[feed.name] = now
        details: dict[str, Any] = {
            "kind": feed.kind.value,
            "where": self._where,
            "workstation": _host(),
        }
        if feed.spec.incident:
            details["incident"] = feed.spec.incident
        self._queue.put((CustodyAction.VIEW_OPENED, feed.name, details))

    def closed(self, feed: Feed) -> None:
        self._close(feed.name)

    def _close(self, name: str) -> None:
        opened = self._open.pop(name, None)
        if opened is None:
            return
        seconds = round(self._clock() - opened, 1)
        details = {"where": self._where, "workstation": _host(), "seconds": seconds}
        self._queue.put((CustodyAction.VIEW_CLOSED, name, details))

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
                action, subject, details = item
                try:
                    if db is None:
                        db = open_database(self._database)
                    CustodyLog(db).append(action, subject, details, actor=self.actor)
                except Exception:  # logged, counted; the wall goes on
                    self.errors += 1
                    log.exception("could not log %s of %s", action.value, subject)
        finally:
            if db is not None:
                db.close()


def _host() -> str:
    return socket.gethostname()

"""Where every feed has been: its position fixes kept as a track in the database.

The map shows where a caller, an officer or a drone is now; an incident's evidence needs
where they were while a clip ran. `TrackRecorder` samples each feed's latest `Location`
once a second on its own thread and writes the fixes it has not written yet; `TrackBook`
writes and reads the `track_points` table. No Qt here.
"""

from __future__ import annotations

import collections
import enum
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from app.database import BUSY_TIMEOUT_MS, open_database
from media.live import Feed, FeedKind, Location

log = logging.getLogger(__name__)

MAX_PENDING = 50_000
"""Fixes held while the database refuses writes (about 1.5 h of ten feeds); older ones go
first, so a long outage costs the start of it, never the wall's memory."""


class TrackSource(enum.StrEnum):
    GPS = "gps"
    """A phone's or body cam's own fix (callers, officers)."""
    KLV = "klv"
    """Drone telemetry: MISB ST 0601 KLV in the video stream."""


def source_of(feed: Feed) -> TrackSource:
    return TrackSource.KLV if feed.klv is not None else TrackSource.GPS


@dataclass(frozen=True)
class TrackPoint:
    feed_id: str
    feed_name: str
    kind: FeedKind
    at: float
    """Unix time of the fix."""
    lat: float
    lon: float
    accuracy_m: float | None
    heading_deg: float | None
    speed_mps: float | None
    altitude_m: float | None
    """Metres above mean sea level (drones); None where the fix has no height."""
    source: TrackSource

    @classmethod
    def of(
        cls,
        feed: Feed,
        location: Location,
        altitude_m: float | None = None,
        source: TrackSource | None = None,
    ) -> TrackPoint:
        return cls(
            feed_id=feed.id,
            feed_name=feed.name,
            kind=feed.kind,
            at=location.at,
            lat=location.lat,
            lon=location.lon,
            accuracy_m=location.accuracy_m,
            heading_deg=location.heading_deg,
            speed_mps=location.speed_mps,
            altitude_m=altitude_m,
            source=source_of(feed) if source is None else source,
        )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> TrackPoint:
        return cls(
            feed_id=row["feed_id"],
            feed_name=row["feed_name"],
            kind=FeedKind(row["kind"]),
            at=row["at"],
            lat=row["lat"],
            lon=row["lon"],
            accuracy_m=row["accuracy_m"],
            heading_deg=row["heading_deg"],
            speed_mps=row["speed_mps"],
            altitude_m=row["altitude_m"],
            source=TrackSource(row["source"]),
        )


_COLUMNS = (
    "feed_id",
    "feed_name",
    "kind",
    "at",
    "lat",
    "lon",
    "accuracy_m",
    "heading_deg",
    "speed_mps",
    "altitude_m",
    "source",
)
_INSERT = (
    f"INSERT INTO track_points ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
)


class TrackBook:
    """The track_points table, on one connection (and so one thread)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._db = db

    def record(
        self,
        feed: Feed,
        location: Location,
        altitude_m: float | None = None,
        source: TrackSource | None = None,
    ) -> TrackPoint:
        """Write one fix of `feed`; its source is the feed's own (KLV for drones) unless given."""
        point = TrackPoint.of(feed, location, altitude_m, source)
        self.record_many([point])
        return point

    def record_many(self, points: Iterable[TrackPoint]) -> int:
        """Write the points in one transaction: all of them, or none (the error is raised)."""
        rows = [
            (
                p.feed_id,
                p.feed_name,
                p.kind.value,
                p.at,
                p.lat,
                p.lon,
                p.accuracy_m,
                p.heading_deg,
                p.speed_mps,
                p.altitude_m,
                p.source.value,
            )
            for p in points
        ]
        if rows:
            with self._db.conn:  # commits, or rolls back on any error
                self._db.conn.executemany(_INSERT, rows)
        return len(rows)

    def between(self, feed_name: str, start: float, end: float) -> list[TrackPoint]:
        """The feed's fixes with `start <= at <= end`, oldest first: a clip's track includes
        the fixes taken exactly at its first and last frame."""
        rows = self._db.table("track_points").rows_where(
            "feed_name = ? AND at >= ? AND at <= ?", [feed_name, start, end], order_by="at, id"
        )
        return [TrackPoint.from_row(row) for row in rows]

    def latest(self, feed_name: str) -> TrackPoint | None:
        rows = list(
            self._db.table("track_points").rows_where(
                "feed_name = ?", [feed_name], order_by="at desc, id desc", limit=1
            )
        )
        return TrackPoint.from_row(rows[0]) if rows else None


class TrackRecorder:
    """Samples every feed's location each `interval_s` and writes each new fix once.

    `feeds` is called on every sample, so feeds that come and go (callers) are followed.
    The recorder opens its own connection on its own thread (SQLite connections belong to
    the thread that made them). A refused write (locked too long, disk full, read-only)
    keeps the fixes and tries again next time; each kind of failure is logged once, and
    nothing the database or a feed does ends the thread.
    """

    def __init__(
        self,
        feeds: Callable[[], Sequence[Feed]],
        database_path: Path,
        interval_s: float = 1.0,
        *,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    ) -> None:
        self._feeds = feeds
        self._path = database_path
        self._interval = interval_s
        self._busy_timeout_ms = busy_timeout_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: dict[str, Location] = {}  # feed id -> the last fix taken from it
        self._pending: collections.deque[TrackPoint] = collections.deque(maxlen=MAX_PENDING)
        self._logged: set[str] = set()
        self.points_written = 0
        self.points_dropped = 0
        """Fixes lost because the database refused writes for longer than MAX_PENDING holds."""
        self.failures = 0
        """Samples and writes that failed, all told."""
        self.last_error: str | None = None
        """Why the last sample or write failed; None once a write succeeds again."""

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def status(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "points_written": self.points_written,
            "pending": self.pending,
            "points_dropped": self.points_dropped,
            "failures": self.failures,
            "last_error": self.last_error,
        }

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="tracks", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 3.0) -> None:
        """Stop after one last sample and write (so the fixes of the last second are kept)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("track recorder did not stop within %.1f s", timeout_s)
            self._thread = None

    # -- the thread --------------------------------------------------------------------

    def _run(self) -> None:
        db: sqlite_utils.Database | None = None
        try:
            while True:
                began = time.monotonic()
                stopping = self._stop.is_set()
                try:
                    self._sample()
                except Exception as exc:  # a feed list that fails now may not next time
                    self._failed("track sample failed", exc)
                if self._pending:
                    try:
                        if db is None:
                            db = open_database(self._path, busy_timeout_ms=self._busy_timeout_ms)
                        self._write(TrackBook(db))
                    except Exception as exc:  # the thread outlives any one failed write
                        self._failed("track points not written; holding them", exc)
                if stopping:
                    return
                self._stop.wait(max(0.0, self._interval - (time.monotonic() - began)))
        finally:
            if db is not None:
                db.close()

    def _sample(self) -> None:
        feeds = list(self._feeds())
        for feed in feeds:
            location = feed.location
            last = self._last.get(feed.id)
            # A fix is new when it differs from the last one taken: the same object (or a
            # phone sending the same fix again) is not written twice.
            if location is None or location is last or location == last:
                continue
            # Read after the location: the source sets telemetry first, so this is the
            # packet the fix came from or one newer, never one older.
            telemetry = feed.telemetry
            altitude = telemetry.sensor_alt_m if telemetry is not None else None
            if len(self._pending) == self._pending.maxlen:
                self.points_dropped += 1
            self._pending.append(TrackPoint.of(feed, location, altitude))
            self._last[feed.id] = location
        present = {feed.id for feed in feeds}
        for gone in self._last.keys() - present:
            del self._last[gone]

    def _write(self, book: TrackBook) -> None:
        points = list(self._pending)
        book.record_many(points)
        for _ in points:  # only now: a failed write keeps them for the next try
            self._pending.popleft()
        self.points_written += len(points)
        if self.last_error is not None:
            log.info("track points written again (%d held while writes failed)", len(points))
            self.last_error = None

    def _failed(self, what: str, exc: Exception) -> None:
        self.failures += 1
        kind = f"{type(exc).__name__}: {exc}"
        self.last_error = kind
        if kind not in self._logged:
            self._logged.add(kind)
            log.warning("%s (%s); trying again each %.1f s", what, kind, self._interval)
        else:
            log.debug("%s (%s)", what, kind)

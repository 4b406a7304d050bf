"""Feed tracks on a real SQLite file: points read back in time order within inclusive
bounds, the recorder writes each fix once however often it samples, follows feeds added
while it runs, takes drones' height and source from their KLV telemetry, and outlives a
database locked by another connection, writing the held fixes once the lock is gone.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from app.map.tracks import TrackBook, TrackPoint, TrackRecorder, TrackSource
from media.live.feed import Feed, FeedKind, FeedSpec, Location
from media.telemetry.klv import DroneTelemetry, KlvStats
from tests.servers import wait_for

T0 = 1_760_000_000.0
YORK = (53.9590, -1.0815)


def make_feed(name: str, kind: FeedKind = FeedKind.CALLER) -> Feed:
    return Feed(FeedSpec(name=name, kind=kind, url="udp://127.0.0.1:1"))


def fix(at: float, lat: float = YORK[0], lon: float = YORK[1]) -> Location:
    return Location(lat, lon, 8.0, at, heading_deg=90.0, speed_mps=1.4)


class Sampled:
    """The recorder's list of feeds, counting how often the recorder asked for it: each
    ask is one sample, so a test can wait for samples that could have written something
    instead of sleeping."""

    def __init__(self, feeds: Callable[[], list[Feed]]) -> None:
        self._feeds = feeds
        self.samples = 0

    def __call__(self) -> list[Feed]:
        self.samples += 1
        return self._feeds()

    def wait_more(self, count: int = 3) -> None:
        """Wait until `count` more samples have been taken."""
        target = self.samples + count
        wait_for(lambda: self.samples >= target, 30, f"{target} samples")


@pytest.fixture
def book(db: sqlite_utils.Database) -> TrackBook:
    return TrackBook(db)


@pytest.fixture
def recorder(db_path: Path) -> Iterator[Callable[..., TrackRecorder]]:
    made: list[TrackRecorder] = []

    def make(feeds: Callable[[], list[Feed]], **kwargs: Any) -> TrackRecorder:
        rec = TrackRecorder(feeds, db_path, **kwargs)
        made.append(rec)
        return rec

    yield make
    for rec in made:
        rec.stop()


def test_between_orders_by_time_and_includes_both_bounds(book: TrackBook) -> None:
    """Fixes of two feeds written out of order, at T0+0..T0+4. `between(name, T0+1, T0+3)`
    returns only that feed's fixes at T0+1, +2, +3 (both bounds included), oldest first,
    with every field as written; `latest` is the newest fix, None for an unknown feed."""
    priya, tom = make_feed("Caller · Priya N"), make_feed("Caller · Tom H")
    for offset in (3, 0, 4, 1, 2):
        book.record(priya, fix(T0 + offset, lat=YORK[0] + offset * 1e-5))
    book.record(tom, fix(T0 + 2))

    points = book.between(priya.name, T0 + 1, T0 + 3)

    assert [p.at for p in points] == [T0 + 1, T0 + 2, T0 + 3]
    assert points[0] == TrackPoint(
        feed_id=priya.id,
        feed_name=priya.name,
        kind=FeedKind.CALLER,
        at=T0 + 1,
        lat=YORK[0] + 1e-5,
        lon=YORK[1],
        accuracy_m=8.0,
        heading_deg=90.0,
        speed_mps=1.4,
        altitude_m=None,
        source=TrackSource.GPS,
    )
    assert book.between(priya.name, T0 + 4.5, T0 + 9) == []
    latest = book.latest(priya.name)
    assert latest is not None
    assert latest.at == T0 + 4
    assert book.latest("nobody") is None


def test_record_many_is_one_transaction(book: TrackBook, db: sqlite_utils.Database) -> None:
    """Three points, the third with a NULL feed name (refused by the table). Nothing is
    written (all or none); the same three without the bad one are written together."""
    feed = make_feed("BWV-4521", FeedKind.BODYCAM)
    good = [TrackPoint.of(feed, fix(T0 + i)) for i in range(2)]
    bad = dataclasses.replace(TrackPoint.of(feed, fix(T0 + 2)), feed_name=None)  # type: ignore[arg-type]

    with pytest.raises(sqlite3.IntegrityError):
        book.record_many([*good, bad])
    assert db.table("track_points").count == 0

    assert book.record_many(good) == 2
    assert db.table("track_points").count == 2


def test_recorder_writes_each_fix_once(
    book: TrackBook, recorder: Callable[..., TrackRecorder]
) -> None:
    """A caller whose location is replaced twice while the recorder samples every 10 ms
    (dozens of samples per fix), plus an equal-valued copy of the last fix. Exactly two
    rows come out, one per fix, and `points_written` says 2."""
    feed = make_feed("Caller · Ana R")
    sampled = Sampled(lambda: [feed])
    rec = recorder(sampled, interval_s=0.01)
    rec.start()
    feed.location = fix(T0)
    wait_for(lambda: rec.points_written == 1, 30, "rec.points_written == 1")
    sampled.wait_more()
    assert rec.points_written == 1
    feed.location = fix(T0 + 1)
    wait_for(lambda: rec.points_written == 2, 30, "rec.points_written == 2")
    feed.location = fix(T0 + 1)  # a phone sending the same fix again
    sampled.wait_more()
    rec.stop()

    assert [p.at for p in book.between(feed.name, 0, T0 + 10)] == [T0, T0 + 1]
    assert rec.points_written == 2
    assert rec.last_error is None


def test_recorder_follows_feeds_added_while_running(
    book: TrackBook, recorder: Callable[..., TrackRecorder]
) -> None:
    """The feed list starts with one caller; a body cam is appended after the recorder
    started. The body cam's fix is written; a feed removed from the list is no longer
    sampled (its later fix is not written)."""
    caller, officer = make_feed("Caller · Priya N"), make_feed("BWV-4533", FeedKind.BODYCAM)
    feeds = [caller]
    sampled = Sampled(lambda: list(feeds))
    rec = recorder(sampled, interval_s=0.02)
    caller.location = fix(T0)
    rec.start()
    wait_for(lambda: rec.points_written == 1, 30, "rec.points_written == 1")

    feeds.append(officer)
    officer.location = fix(T0 + 5)
    wait_for(lambda: rec.points_written == 2, 30, "rec.points_written == 2")
    feeds.remove(caller)
    caller.location = fix(T0 + 6)
    sampled.wait_more()
    rec.stop()

    latest = book.latest(officer.name)
    assert latest is not None
    assert (latest.at, latest.kind, latest.feed_id) == (T0 + 5, FeedKind.BODYCAM, officer.id)
    assert [p.at for p in book.between(caller.name, 0, T0 + 10)] == [T0]


def test_drone_fix_carries_altitude_and_klv_source(
    book: TrackBook, recorder: Callable[..., TrackRecorder]
) -> None:
    """A drone feed with KLV stats, telemetry at 180 m above sea level and a location as
    the KLV reader sets it. Its point has altitude 180 and source "klv"; a caller's
    point beside it has no altitude and source "gps"."""
    drone, caller = make_feed("Drone Alpha", FeedKind.DRONE), make_feed("Caller · Tom H")
    drone.klv = KlvStats()
    drone.telemetry = DroneTelemetry(
        time_utc=T0, sensor_lat=YORK[0], sensor_lon=YORK[1], sensor_alt_m=180.0
    )
    drone.location = Location(YORK[0], YORK[1], None, T0, heading_deg=45.0)
    caller.location = fix(T0)
    rec = recorder(lambda: [drone, caller], interval_s=0.02)
    rec.start()
    wait_for(lambda: rec.points_written == 2, 30, "rec.points_written == 2")
    rec.stop()

    flown = book.latest(drone.name)
    assert flown is not None
    assert (flown.altitude_m, flown.source, flown.kind) == (180.0, TrackSource.KLV, FeedKind.DRONE)
    assert flown.accuracy_m is None
    walked = book.latest(caller.name)
    assert walked is not None
    assert (walked.altitude_m, walked.source) == (None, TrackSource.GPS)


def test_locked_database_does_not_stop_the_recorder(
    db_path: Path,
    db: sqlite_utils.Database,
    book: TrackBook,
    recorder: Callable[..., TrackRecorder],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Another connection holds BEGIN EXCLUSIVE, far past the recorder's 50 ms busy
    timeout, while two fixes arrive and the recorder samples several times. The recorder reports the lock in `last_error`,
    logs it once (not once per try), keeps running, and once the lock is released writes
    both held fixes and a later one; `last_error` is cleared."""
    feed = make_feed("BWV-4607", FeedKind.BODYCAM)
    sampled = Sampled(lambda: [feed])
    rec = recorder(sampled, interval_s=0.02, busy_timeout_ms=50)
    feed.location = fix(T0)
    rec.start()
    wait_for(lambda: rec.points_written == 1, 30, "rec.points_written == 1")

    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    with caplog.at_level(logging.DEBUG, logger="app.map.tracks"):
        feed.location = fix(T0 + 1)
        wait_for(lambda: rec.last_error is not None, 30, "rec.last_error is not None")
        feed.location = fix(T0 + 2)
        sampled.wait_more()
        assert rec.running
        assert rec.points_written == 1
        assert rec.pending == 2
        blocker.execute("ROLLBACK")
        blocker.close()
        wait_for(lambda: rec.points_written == 3, 30, "rec.points_written == 3")
        feed.location = fix(T0 + 3)
        wait_for(lambda: rec.points_written == 4, 30, "rec.points_written == 4")

    assert rec.running
    assert rec.last_error is None
    assert rec.failures >= 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "locked" in warnings[0].getMessage()
    assert [p.at for p in book.between(feed.name, 0, T0 + 10)] == [T0, T0 + 1, T0 + 2, T0 + 3]


def test_stop_writes_the_last_fix_and_ends_the_thread(
    book: TrackBook, recorder: Callable[..., TrackRecorder]
) -> None:
    """A recorder sampling once a minute, with a fix set just after its first sample.
    `stop()` wakes the thread from its wait (it is gone when stop returns, though stop
    waits only 2 s of the minute), and the fix is written."""
    feed = make_feed("Caller · Priya N")
    sampled = Sampled(lambda: [feed])
    rec = recorder(sampled, interval_s=60.0)
    rec.start()
    wait_for(lambda: sampled.samples >= 1, 30, "sampled.samples >= 1")
    feed.location = fix(T0)
    rec.stop(timeout_s=2.0)  # a thread left in its minute's wait would outlive this

    assert not rec.running
    assert [p.at for p in book.between(feed.name, 0, T0 + 1)] == [T0]

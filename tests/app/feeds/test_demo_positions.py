"""The demo's callers and officers on the move in York: every fix near the city centre,
officers walking their beats at about 1.4 m/s heading the way they go, callers' accuracy
between 5 and 30 m, one caller strolling and two standing, drones left to their KLV, the
same fixes for the same start and seed, and a thread that sets locations within a second
or so and stops promptly.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from app.feeds.demo_positions import CALLER_PLACES, PATROLS, DemoPositions
from media.demo import DEMO_FEEDS, YORK
from media.live.feed import Feed, FeedKind, FeedSpec, Location
from media.telemetry.geo import bearing_deg, distance_m
from tests.servers import wait_for

T0 = 1_760_000_000.0
HOUR = [T0 + s for s in range(0, 3600, 7)]


def angle_between(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


@pytest.fixture
def feeds() -> list[Feed]:
    return [
        Feed(FeedSpec(name=demo.name, kind=demo.kind, url=f"udp://127.0.0.1:{5000 + i}"))
        for i, demo in enumerate(DEMO_FEEDS)
    ]


@pytest.fixture
def positions(feeds: list[Feed]) -> Iterator[DemoPositions]:
    moving = DemoPositions(feeds, started_at=T0, interval_s=0.05)
    yield moving
    moving.stop()


def of_kind(feeds: list[Feed], kind: FeedKind) -> list[Feed]:
    return [feed for feed in feeds if feed.kind is kind]


def fix(positions: DemoPositions, feed: Feed, at: float) -> Location:
    location = positions.location(feed, at)
    assert location is not None
    return location


def test_every_waypoint_and_fix_is_in_central_york(
    feeds: list[Feed], positions: DemoPositions
) -> None:
    """Every caller place and patrol waypoint, and every caller's and officer's fix taken
    each 7 s over an hour, lies within 1.5 km of York's centre, with `at` the time asked
    for."""
    for waypoints, _ in CALLER_PLACES:
        assert all(distance_m(*YORK, *p) < 1500 for p in waypoints)
    for patrol in PATROLS:
        assert all(distance_m(*YORK, *p) < 1500 for p in patrol)
    for feed in of_kind(feeds, FeedKind.CALLER) + of_kind(feeds, FeedKind.BODYCAM):
        for at in HOUR:
            location = fix(positions, feed, at)
            assert location.at == at
            assert distance_m(*YORK, location.lat, location.lon) < 1500, (feed.name, at)


def test_officers_walk_at_walking_pace_heading_where_they_go(
    feeds: list[Feed], positions: DemoPositions
) -> None:
    """Each body cam sampled at t and t + 1 s across an hour. Wherever both fixes report
    the same heading (no corner turned between them), the move is 1.4 m/s within 0.25, its
    bearing is within 10 degrees of the heading, and speed_mps says 1.3 to 1.5. Most pairs
    qualify, and over the hour each officer gets more than 150 m from where it started."""
    for feed in of_kind(feeds, FeedKind.BODYCAM):
        straight = 0
        for at in HOUR:
            a, b = fix(positions, feed, at), fix(positions, feed, at + 1)
            assert a.speed_mps is not None
            assert 1.3 <= a.speed_mps <= 1.5
            assert a.heading_deg is not None
            assert 3.0 <= (a.accuracy_m or 0) <= 8.0
            if a.heading_deg != b.heading_deg:
                continue
            straight += 1
            moved = distance_m(a.lat, a.lon, b.lat, b.lon)
            assert moved == pytest.approx(1.4, abs=0.25), (feed.name, at)
            assert angle_between(bearing_deg(a.lat, a.lon, b.lat, b.lon), a.heading_deg) < 10
        assert straight > 0.9 * len(HOUR), feed.name
        first = fix(positions, feed, T0)
        farthest = max(
            distance_m(first.lat, first.lon, f.lat, f.lon)
            for f in (fix(positions, feed, at) for at in HOUR)
        )
        assert farthest > 150, feed.name


def test_callers_stand_or_stroll_with_phone_accuracy(
    feeds: list[Feed], positions: DemoPositions
) -> None:
    """The three callers sampled each 7 s over an hour. Their accuracy stays within 5-30 m
    and spans much of that range; the standing two never stray more than 10 m from their
    place and report speed 0 and no heading; the strolling one reports 0.6 m/s and a
    heading, gets more than 40 m from where it started, and stays within 100 m of the
    middle of its small loop by Clifford's Tower."""
    callers = of_kind(feeds, FeedKind.CALLER)
    assert len(callers) == 3
    for index, feed in enumerate(callers):
        fixes = [fix(positions, feed, at) for at in HOUR]
        accuracies = [f.accuracy_m for f in fixes if f.accuracy_m is not None]
        assert len(accuracies) == len(fixes)
        assert all(5.0 <= a <= 30.0 for a in accuracies)
        assert max(accuracies) - min(accuracies) > 10
        waypoints, speed = CALLER_PLACES[index]
        if speed == 0:
            assert all(distance_m(*waypoints[0], f.lat, f.lon) < 10 for f in fixes)
            assert all(f.speed_mps == 0 and f.heading_deg is None for f in fixes)
        else:
            assert all(f.speed_mps == speed and f.heading_deg is not None for f in fixes)
            spread = max(distance_m(fixes[0].lat, fixes[0].lon, f.lat, f.lon) for f in fixes)
            assert spread > 40
            middle = (
                sum(p[0] for p in waypoints) / len(waypoints),
                sum(p[1] for p in waypoints) / len(waypoints),
            )
            assert all(distance_m(*middle, f.lat, f.lon) < 100 for f in fixes)


def test_standing_callers_jitter_by_a_few_metres(
    feeds: list[Feed], positions: DemoPositions
) -> None:
    """A standing caller's fixes one second apart differ (a phone's fix is never still) but
    by a few metres at most, not tens."""
    standing = of_kind(feeds, FeedKind.CALLER)[0]
    hops = [
        distance_m(
            fix(positions, standing, at).lat,
            fix(positions, standing, at).lon,
            fix(positions, standing, at + 1).lat,
            fix(positions, standing, at + 1).lon,
        )
        for at in HOUR
    ]
    assert min(hops) > 0
    assert max(hops) < 5


def test_drones_are_left_alone(feeds: list[Feed], positions: DemoPositions) -> None:
    """The drones have no fix from here (their KLV gives one), and `update` leaves a
    drone's location as the KLV reader set it while giving every other feed one."""
    drone = of_kind(feeds, FeedKind.DRONE)[0]
    from_klv = Location(53.96, -1.08, None, T0, heading_deg=10.0)
    drone.location = from_klv
    assert positions.location(drone, T0) is None

    positions.update(T0 + 5)

    assert drone.location is from_klv
    others = [f for f in feeds if f.kind is not FeedKind.DRONE]
    assert all(f.location is not None and f.location.at == T0 + 5 for f in others)


def test_same_start_and_seed_give_the_same_fixes(feeds: list[Feed]) -> None:
    """Two DemoPositions with the same start and seed give identical fixes at the same
    time; another seed puts the officers elsewhere on their beats."""
    a = DemoPositions(feeds, started_at=T0, seed=7)
    b = DemoPositions(feeds, started_at=T0, seed=7)
    c = DemoPositions(feeds, started_at=T0, seed=8)
    officer = of_kind(feeds, FeedKind.BODYCAM)[0]
    for feed in feeds:
        assert a.location(feed, T0 + 123.4) == b.location(feed, T0 + 123.4)
    assert a.location(officer, T0 + 10) != c.location(officer, T0 + 10)


def test_thread_sets_locations_and_newer_fixes_replace_them(feeds: list[Feed]) -> None:
    """In: the thread started with a short interval (50 ms). Out: every caller and officer
    gets a location, then a newer fix replaces the first; drones stay without one (theirs
    come from their KLV); after stop() the thread is gone."""
    moving = DemoPositions(feeds, interval_s=0.05)
    others = [f for f in feeds if f.kind is not FeedKind.DRONE]
    moving.start()
    try:
        wait_for(lambda: all(f.location is not None for f in others), 30, "every first fix")
        first = others[0].location
        wait_for(lambda: others[0].location is not first, 30, "a newer fix")
        assert all(f.location is None for f in of_kind(feeds, FeedKind.DRONE))
    finally:
        moving.stop()
    assert not any(t.name == "demo-positions" for t in threading.enumerate())


def test_stop_wakes_the_thread_from_its_wait(feeds: list[Feed]) -> None:
    """In: the thread started with an interval of an hour; its first fixes come; then
    stop() (which waits up to 2 s for the thread). Out: the thread has ended when stop()
    returns: it was woken from its hour's wait, not left to finish it."""
    moving = DemoPositions(feeds, interval_s=3600)
    others = [f for f in feeds if f.kind is not FeedKind.DRONE]
    moving.start()
    wait_for(lambda: all(f.location is not None for f in others), 30, "the first fixes")
    moving.stop()
    assert not any(t.name == "demo-positions" for t in threading.enumerate())

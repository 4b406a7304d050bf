"""Where the demo's callers and officers are: real places and beats in central York.

The demo's drones carry their own positions in KLV (media/demo.py circles them over York).
Its callers and body cams have no phone to send a fix, so `DemoPositions` sets their
`feed.location` once a second, as the gateway does from a real phone: three callers near
York Minster, Clifford's Tower and the railway station, one of them strolling, with the
wander and changing accuracy of a phone's GPS; four officers walking their beats through
the streets at walking pace. A fix is a function of the time since the start and a seed,
so tests ask for one at any time they choose. No Qt.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from media.live import Feed, FeedKind, Location
from media.telemetry import bearing_deg, distance_m, offset

log = logging.getLogger(__name__)

WALKING_MPS = 1.4
LatLon = tuple[float, float]


def out_and_back(*points: LatLon) -> tuple[LatLon, ...]:
    """A beat walked to its end and back the same way (a route is a closed loop)."""
    return points + points[-2:0:-1]


# Waypoints placed by hand along the streets, good to a few tens of metres: the markers
# walk the right streets at district zoom, and may cut a corner at street zoom.
CALLER_PLACES: tuple[tuple[tuple[LatLon, ...], float], ...] = (
    # (route, walking speed): a one-point route stands still.
    (((53.9617, -1.0820),), 0.0),  # Minster Yard, by York Minster's south transept
    (  # strolling round the foot of Clifford's Tower
        ((53.9562, -1.0806), (53.9563, -1.0797), (53.9557, -1.0792), (53.9553, -1.0801)),
        0.6,
    ),
    (((53.9582, -1.0926),), 0.0),  # under the portico of York railway station
)

PATROLS: tuple[tuple[LatLon, ...], ...] = (
    # Petergate from Bootham Bar, down Goodramgate to Monk Bar, and back
    out_and_back(
        (53.9625, -1.0858),
        (53.9620, -1.0848),
        (53.9616, -1.0832),
        (53.9610, -1.0818),
        (53.9602, -1.0804),
        (53.9611, -1.0800),
        (53.9627, -1.0795),
        (53.9636, -1.0789),
    ),
    # Stonegate, Low Petergate, the Shambles, Parliament Street, Davygate
    (
        (53.9598, -1.0838),
        (53.9607, -1.0834),
        (53.9616, -1.0832),
        (53.9610, -1.0818),
        (53.9602, -1.0804),
        (53.9595, -1.0798),
        (53.9589, -1.0796),
        (53.9593, -1.0812),
        (53.9598, -1.0826),
    ),
    # Ouse Bridge, Coppergate, Castlegate, Tower Street, Skeldergate Bridge, Skeldergate
    (
        (53.9573, -1.0834),
        (53.9577, -1.0822),
        (53.9574, -1.0806),
        (53.9565, -1.0812),
        (53.9553, -1.0811),
        (53.9546, -1.0818),
        (53.9555, -1.0830),
        (53.9566, -1.0840),
    ),
    # the station, Lendal Bridge, St Helen's Square, Coney Street, Micklegate, Queen Street
    (
        (53.9580, -1.0930),
        (53.9590, -1.0907),
        (53.9598, -1.0884),
        (53.9603, -1.0870),
        (53.9605, -1.0855),
        (53.9601, -1.0846),
        (53.9598, -1.0838),
        (53.9590, -1.0834),
        (53.9580, -1.0829),
        (53.9573, -1.0834),
        (53.9568, -1.0852),
        (53.9561, -1.0872),
        (53.9551, -1.0894),
        (53.9561, -1.0912),
    ),
)


class Route:
    """A closed walk through waypoints: after the last comes the first again."""

    def __init__(self, waypoints: Sequence[LatLon]) -> None:
        if not waypoints:
            raise ValueError("a route needs at least one waypoint")
        self.waypoints = tuple(waypoints)
        ends = self.waypoints[1:] + self.waypoints[:1]
        self.legs = [distance_m(*a, *b) for a, b in zip(self.waypoints, ends, strict=True)]
        self.length_m = sum(self.legs)

    def at(self, travelled_m: float) -> tuple[float, float, float | None]:
        """(lat, lon, bearing of the leg being walked) after `travelled_m` round the loop."""
        if self.length_m == 0:
            return *self.waypoints[0], None
        left = travelled_m % self.length_m
        for index, leg in enumerate(self.legs):
            if left < leg or index == len(self.legs) - 1:
                a = self.waypoints[index]
                b = self.waypoints[(index + 1) % len(self.waypoints)]
                share = min(1.0, left / leg) if leg else 0.0
                lat = a[0] + (b[0] - a[0]) * share
                lon = a[1] + (b[1] - a[1]) * share
                return lat, lon, bearing_deg(*a, *b)
            left -= leg
        raise AssertionError("unreachable")  # pragma: no cover


class Wobble:
    """A slow, smooth wander in [-1, 1]: two sine waves of seeded periods and phases. GPS
    error drifts over tens of seconds rather than jumping from one fix to the next."""

    def __init__(self, rng: random.Random, period_s: tuple[float, float]) -> None:
        self._waves = [
            (2 * math.pi / rng.uniform(*period_s), rng.uniform(0, 2 * math.pi)) for _ in range(2)
        ]

    def __call__(self, t: float) -> float:
        return sum(math.sin(w * t + phase) for w, phase in self._waves) / len(self._waves)


@dataclass(frozen=True)
class Walk:
    """How one demo feed moves and how good its fixes are."""

    route: Route
    speed_mps: float
    start_m: float
    """How far round its route it is at the start (officers do not all set off together)."""
    accuracy_m: tuple[float, float]
    wander_m: float
    """How far, at most, a fix drifts from where the feed really is."""
    scatter_m: float
    """Fix-to-fix noise on top of the drift (a phone standing still still moves a little)."""
    period_s: tuple[float, float]
    seed: str


def plan(feeds: Sequence[Feed], seed: int) -> dict[str, Walk]:
    """A walk for each caller and body cam, by feed id; callers take the caller places and
    officers the patrols in turn (more feeds than places go round again, elsewhere on it)."""
    walks: dict[str, Walk] = {}
    callers = [feed for feed in feeds if feed.kind is FeedKind.CALLER]
    officers = [feed for feed in feeds if feed.kind is FeedKind.BODYCAM]
    for index, feed in enumerate(callers):
        waypoints, speed = CALLER_PLACES[index % len(CALLER_PLACES)]
        key = f"{seed}/caller/{index}"
        route = Route(waypoints)
        walks[feed.id] = Walk(
            route=route,
            speed_mps=speed,
            start_m=random.Random(key).uniform(0, route.length_m),
            # A phone's own estimate, as the browser's geolocation reports it outdoors
            # between tall buildings; its fix wanders by a few metres.
            accuracy_m=(5.0, 30.0),
            wander_m=4.0,
            scatter_m=0.6,
            period_s=(40, 120),
            seed=key,
        )
    for index, feed in enumerate(officers):
        key = f"{seed}/officer/{index}"
        route = Route(PATROLS[index % len(PATROLS)])
        rng = random.Random(key)
        walks[feed.id] = Walk(
            route=route,
            speed_mps=rng.uniform(WALKING_MPS - 0.1, WALKING_MPS + 0.1),
            start_m=rng.uniform(0, route.length_m),
            # A body cam's receiver is better and is moving, so its error drifts slowly.
            accuracy_m=(3.0, 8.0),
            wander_m=1.0,
            scatter_m=0.0,
            period_s=(60, 120),
            seed=key,
        )
    return walks


class DemoPositions:
    """Sets the demo callers' and officers' locations once a second on its own thread.

    Drones and any other kind are left alone. `location()` is the fix a feed has at a
    given unix time: the same for the same `started_at` and `seed`.
    """

    def __init__(
        self,
        feeds: Sequence[Feed],
        *,
        started_at: float | None = None,
        seed: int = 1,
        interval_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._feeds = list(feeds)
        self._clock = clock
        self.started_at = clock() if started_at is None else started_at
        self._interval = interval_s
        self._walks = plan(self._feeds, seed)
        self._wobbles = {
            feed_id: tuple(Wobble(random.Random(f"{w.seed}/{axis}"), w.period_s) for axis in "nea")
            for feed_id, w in self._walks.items()
        }
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def location(self, feed: Feed, at: float) -> Location | None:
        """Where `feed` is at unix time `at`; None for feeds this does not move (drones)."""
        walk = self._walks.get(feed.id)
        if walk is None:
            return None
        elapsed = at - self.started_at
        north, east, quality = (wobble(elapsed) for wobble in self._wobbles[feed.id])
        lat, lon, heading = walk.route.at(walk.start_m + walk.speed_mps * elapsed)
        low, high = walk.accuracy_m
        accuracy = low + (high - low) * (0.5 + 0.5 * quality)
        # Scatter changes once a second, like a receiver's fixes, and is the same for the
        # same second however often it is asked for.
        noise = random.Random(f"{walk.seed}/{math.floor(elapsed)}")
        north_m = walk.wander_m * north + noise.gauss(0, walk.scatter_m)
        east_m = walk.wander_m * east + noise.gauss(0, walk.scatter_m)
        lat, lon = offset(lat, lon, north_m, east_m)
        moving = walk.speed_mps > 0
        return Location(
            lat,
            lon,
            round(accuracy, 1),
            at,
            heading_deg=heading if moving else None,
            speed_mps=walk.speed_mps,
        )

    def update(self, now: float | None = None) -> None:
        """Give every caller and officer its fix for `now` (unix time; the clock's if None)."""
        at = self._clock() if now is None else now
        for feed in self._feeds:
            location = self.location(feed, at)
            if location is not None:
                feed.location = location

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="demo-positions", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.update()
            except Exception:  # a demo's positions are never worth the wall
                log.exception("demo positions not updated")
            self._stop.wait(self._interval)

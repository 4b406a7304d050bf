"""What the gateway accepts from a phone, checked without a server: the token bucket per
key on a clock the test moves, and location fixes refused field by field with the status
the gateway answers (400 for a body that is not a JSON object, 422 for a bad value).
"""

from __future__ import annotations

import json
import time

import pytest

from app.callers.gateway.limits import (
    MAX_CLOCK_AHEAD_S,
    MAX_FIX_AGE_S,
    RateLimiter,
    RefusedError,
    parse_json,
    parse_location,
)
from media.live.feed import Location

NOW = 1_760_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def spend(limiter: RateLimiter, key: object, times: int) -> int:
    """How many of `times` requests for `key` were let through."""
    allowed = 0
    for _ in range(times):
        try:
            limiter.take(key)
        except RefusedError:
            continue
        allowed += 1
    return allowed


def test_burst_then_429_with_retry_after() -> None:
    """In: a limiter of 2/s with a burst of 3; four requests at one instant.
    Out: three pass; the fourth is a RefusedError with status 429, a reason naming the rate,
    and a Retry-After estimate of 0.5 s (one token at 2/s); 0.2 s later, still refused, the
    estimate is 0.3 s."""
    clock = Clock()
    limiter = RateLimiter(per_s=2, burst=3, clock=clock)
    for _ in range(3):
        limiter.take("phone")
    with pytest.raises(RefusedError) as refused:
        limiter.take("phone")
    assert refused.value.status == 429
    assert "2 requests/s" in refused.value.reason
    assert refused.value.retry_after_s == pytest.approx(0.5)
    clock.now += 0.2
    with pytest.raises(RefusedError) as again:
        limiter.take("phone")
    assert again.value.retry_after_s == pytest.approx(0.3)


def test_bucket_refills_over_time_up_to_the_burst() -> None:
    """In: a 2/s, burst-3 limiter drained; the (fake) clock moved 0.49 s, then 0.01 s more,
    then an hour.
    Out: nothing at 0.49 s, one request at 0.5 s, then after the hour exactly the burst (3)
    and no more: idle time does not bank tokens beyond it."""
    clock = Clock()
    limiter = RateLimiter(per_s=2, burst=3, clock=clock)
    assert spend(limiter, "phone", 10) == 3
    clock.now += 0.49
    assert spend(limiter, "phone", 1) == 0
    clock.now += 0.01
    assert spend(limiter, "phone", 2) == 1
    clock.now += 3600
    assert spend(limiter, "phone", 10) == 3


def test_keys_are_independent() -> None:
    """In: one key hammered with 1000 requests at one instant, then a second key and a third.
    Out: the first gets its burst of 5 only; the others each still get their full burst."""
    clock = Clock()
    limiter = RateLimiter(per_s=1, burst=5, clock=clock)
    assert spend(limiter, "abuser", 1000) == 5
    assert spend(limiter, "caller", 10) == 5
    assert spend(limiter, ("127.0.0.1", "other"), 10) == 5
    assert spend(limiter, "abuser", 10) == 0


def test_many_keys_do_not_free_an_abusive_one() -> None:
    """In: an abusive key drained; then 10 001 other keys each make one request at the same
    instant (so the limiter prunes its table).
    Out: the abusive key is still refused afterwards; a new key still gets its burst."""
    clock = Clock()
    limiter = RateLimiter(per_s=1, burst=5, clock=clock)
    assert spend(limiter, "abuser", 10) == 5
    for key in range(10_001):
        limiter.take(key)
    assert spend(limiter, "abuser", 1) == 0
    assert spend(limiter, "newcomer", 10) == 5


def fix(**changes: object) -> bytes:
    body: dict[str, object] = {"lat": 51.5007, "lon": -0.1246, "accuracy_m": 8.0, "at": NOW}
    body.update(changes)
    return json.dumps({k: v for k, v in body.items() if v is not ...}).encode()


def test_good_fix_with_and_without_heading_and_speed() -> None:
    """In: a fix with lat/lon/accuracy/at; the same with heading 90 and speed 1.5; one with
    integers, heading null, the boundaries (lat ±90, lon ±180, heading 0 and 360, accuracy 0)
    and a time a minute ahead (a phone's clock a little fast).
    Out: Location values exactly as sent (floats), heading/speed None when left out."""
    assert parse_location(fix(), now=NOW) == Location(51.5007, -0.1246, 8.0, NOW)
    assert parse_location(fix(heading=90, speed=1.5), now=NOW) == Location(
        51.5007, -0.1246, 8.0, NOW, heading_deg=90.0, speed_mps=1.5
    )
    parsed = parse_location(fix(lat=52, lon=0, accuracy_m=0, heading=None), now=NOW)
    assert parsed == Location(52.0, 0.0, 0.0, NOW)
    assert isinstance(parsed.lat, float)
    for lat, lon, heading in ((90, 180, 0), (-90, -180, 360)):
        edge = parse_location(fix(lat=lat, lon=lon, heading=heading), now=NOW)
        assert (edge.lat, edge.lon, edge.heading_deg) == (lat, lon, heading)
    ahead = parse_location(fix(at=NOW + MAX_CLOCK_AHEAD_S - 60), now=NOW)
    assert ahead.at == NOW + MAX_CLOCK_AHEAD_S - 60


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        pytest.param(b"lat=51.5&lon=-0.12", 400, "not JSON", id="not-json"),
        pytest.param(b"", 400, "not JSON", id="empty"),
        pytest.param(b"\xff\xfe{}", 400, "not JSON", id="not-utf8"),
        pytest.param(b"[51.5, -0.12, 8, 1760000000]", 400, "not a JSON object", id="array"),
        pytest.param(b'"51.5,-0.12"', 400, "not a JSON object", id="string"),
        pytest.param(b"null", 400, "not a JSON object", id="null"),
        pytest.param(
            b'{"lat": NaN, "lon": 0, "accuracy_m": 1, "at": 1760000000}', 400, "NaN", id="nan"
        ),
        pytest.param(
            b'{"lat": 0, "lon": Infinity, "accuracy_m": 1, "at": 1760000000}',
            400,
            "Infinity",
            id="infinity",
        ),
        pytest.param(
            b'{"lat": 0, "lon": 0, "accuracy_m": -Infinity, "at": 1760000000}',
            400,
            "Infinity",
            id="minus-infinity",
        ),
        pytest.param(fix(lat=91), 422, "lat", id="lat-91"),
        pytest.param(fix(lat=-90.0001), 422, "lat", id="lat-below-90"),
        pytest.param(fix(lon=-181), 422, "lon", id="lon-minus-181"),
        pytest.param(fix(lon=180.5), 422, "lon", id="lon-180.5"),
        pytest.param(fix(lat="51.5"), 422, "lat must be a number", id="lat-string"),
        pytest.param(fix(accuracy_m="8"), 422, "accuracy_m must be a number", id="acc-string"),
        pytest.param(fix(at="1760000000"), 422, "at must be a number", id="at-string"),
        pytest.param(fix(lat=True), 422, "lat must be a number", id="lat-true"),
        pytest.param(fix(lon=False), 422, "lon must be a number", id="lon-false"),
        pytest.param(fix(heading=True), 422, "heading must be a number", id="heading-true"),
        pytest.param(fix(lat=[51.5]), 422, "lat must be a number", id="lat-list"),
        pytest.param(fix(lat={"v": 1}), 422, "lat must be a number", id="lat-object"),
        pytest.param(fix(accuracy_m=-1), 422, "negative", id="negative-accuracy"),
        pytest.param(fix(lat=...), 422, "lat is missing", id="missing-lat"),
        pytest.param(fix(accuracy_m=...), 422, "accuracy_m is missing", id="missing-accuracy"),
        pytest.param(fix(at=...), 422, "at is missing", id="missing-at"),
        pytest.param(fix(at=None), 422, "at is missing", id="null-at"),
        pytest.param(fix(at=NOW + 3600), 422, "future", id="at-an-hour-ahead"),
        pytest.param(fix(at=NOW + MAX_CLOCK_AHEAD_S + 1), 422, "future", id="at-just-too-far"),
        pytest.param(fix(heading=400), 422, "heading", id="heading-400"),
        pytest.param(fix(heading=-1), 422, "heading", id="heading-negative"),
        pytest.param(fix(speed=-0.5), 422, "speed", id="speed-negative"),
        pytest.param(
            b'{"lat": 1e999, "lon": 0, "accuracy_m": 1, "at": 0}', 422, "finite", id="1e999"
        ),
        pytest.param(fix(at=0), 422, "old", id="at-zero"),
        pytest.param(fix(at=-1), 422, "old", id="at-minus-one"),
        pytest.param(fix(at=-1e308), 422, "old", id="at-minus-1e308"),
        pytest.param(fix(at=1e308), 422, "future", id="at-1e308"),
        pytest.param(fix(at=NOW - MAX_FIX_AGE_S - 1), 422, "old", id="at-just-too-old"),
        pytest.param(fix(at=NOW - 10 * 365 * 86400), 422, "old", id="at-ten-years-ago"),
    ],
)
def test_bad_fix_is_refused(body: bytes, status: int, says: str) -> None:
    """In: a location body that is not a JSON object, holds a non-JSON constant, or has a
    value missing, of the wrong type, out of range, or an `at` outside the window around now
    (0, -1, -1e308, 1e308, a second more than a day old, ten years old, an hour ahead).
    Out: RefusedError with 400 (not a JSON object) or 422 (a bad value), its reason naming
    what was wrong."""
    with pytest.raises(RefusedError) as refused:
        parse_location(body, now=NOW)
    assert refused.value.status == status
    assert says in refused.value.reason
    assert refused.value.retry_after_s is None


def test_at_window_edges_around_now() -> None:
    """In: fixes stamped exactly MAX_FIX_AGE_S (24 h) before now, a minute old, exactly
    MAX_CLOCK_AHEAD_S (2 min) ahead; then one a second beyond each edge; now taken from the
    real clock when not given.
    Out: the three inside are accepted with their `at` unchanged; the two outside are 422s
    whose reason says how far out and the bound ("at most 24 h", "at most 120 s"); a fix
    stamped time.time() passes with no `now` given."""
    for at in (NOW - MAX_FIX_AGE_S, NOW - 60, NOW + MAX_CLOCK_AHEAD_S):
        assert parse_location(fix(at=at), now=NOW).at == at
    with pytest.raises(RefusedError) as old:
        parse_location(fix(at=NOW - MAX_FIX_AGE_S - 1), now=NOW)
    assert old.value.status == 422
    assert "at most 24 h" in old.value.reason
    with pytest.raises(RefusedError) as ahead:
        parse_location(fix(at=NOW + MAX_CLOCK_AHEAD_S + 1), now=NOW)
    assert ahead.value.status == 422
    assert "121 s in the future (at most 120 s)" in ahead.value.reason
    assert MAX_CLOCK_AHEAD_S <= 120
    real_now = time.time()
    assert parse_location(fix(at=real_now)).at == real_now


def test_parse_json_gives_the_object() -> None:
    """In: a JSON object with nested values. Out: the same dict."""
    assert parse_json(b'{"answer": "agree", "n": [1, 2]}') == {"answer": "agree", "n": [1, 2]}


def test_deeply_nested_body_is_400() -> None:
    """In: a 4 KiB body of nothing but "[" (within the gateway's JSON size limit).
    Out: RefusedError 400, like any other body that is not a JSON object."""
    body = b"[" * 4096
    with pytest.raises(RefusedError) as refused:
        parse_json(body)
    assert refused.value.status == 400


def test_integer_too_large_for_a_float_is_422() -> None:
    """In: a fix whose lat is the integer 10**400 (valid JSON, 401 digits).
    Out: RefusedError 422 (a value out of range), not another exception."""
    body = b'{"lat": 1' + b"0" * 400 + b', "lon": 0, "accuracy_m": 1, "at": 1760000000}'
    with pytest.raises(RefusedError) as refused:
        parse_location(body, now=NOW)
    assert refused.value.status == 422

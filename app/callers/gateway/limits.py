"""What the gateway accepts from a phone: request rates, body sizes, and location fixes.

Everything here is plain checking with a reason a log line can carry; the server turns a
`RefusedError` into its HTTP status. A caller who sends too much or nonsense is refused alone:
no state is shared between keys, and nothing here blocks.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Hashable
from typing import Any

from media.live import Location

MAX_SDP_BYTES = 64 * 1024
MAX_JSON_BYTES = 4 * 1024
BODY_TIMEOUT_S = 10.0
"""From asking for a body to its last byte. An offer is a few KiB, 64 at most: seconds on a
poor mobile link. A body trickled slower than that holds a connection for nothing: 408."""
MAX_CLOCK_AHEAD_S = 120.0
"""A fix stamped further in the future than this is refused. A phone's clock is set by the
network and is seconds out at worst; two minutes forgives one left on manual time. More
would let a forged fix look fresh on the map (it fades from 30 s old) long after the phone
went quiet, and put track points after the moment they were received."""
MAX_FIX_AGE_S = 24 * 3600.0
"""A fix stamped longer ago than this is refused. The page sends each fix as the phone takes
it (every 5 s at least), so a real fix is seconds old; the bound is loose on purpose, so a
phone whose clock is hours out (set by hand in the wrong zone) still shows where the caller
is, its age plain on the map, while 0, negative times and the epoch's far past, which
would sort before every real track point of a clip, are refused."""


class RefusedError(Exception):
    """A request the gateway answers with a 4xx: `status`, and a reason for the log."""

    def __init__(self, status: int, reason: str, *, retry_after_s: float | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after_s = retry_after_s


class RateLimiter:
    """A token bucket per key: `burst` requests at once, then `per_s` a second."""

    def __init__(
        self, per_s: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_s = per_s
        self.burst = burst
        self._clock = clock
        self._buckets: dict[Hashable, tuple[float, float]] = {}

    def take(self, key: Hashable) -> None:
        """Spend one request for `key`, or raise a 429 `RefusedError` saying when to retry."""
        now = self._clock()
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.per_s)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            raise RefusedError(
                429, f"more than {self.per_s:g} requests/s", retry_after_s=(1 - tokens) / self.per_s
            )
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > 10_000:
            self._forget_full(now)

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: they hold nothing a new bucket would not."""
        full_after = self.burst / self.per_s
        self._buckets = {
            key: (tokens, at)
            for key, (tokens, at) in self._buckets.items()
            if now - at < full_after
        }


def holder_key(token: str, device: str | None) -> tuple[str, str]:
    """A link's rate-limit key for one browser: the token and a digest of the device cookie
    it sent (none: ""). Only the browser holding the link has its cookie, so another device
    sending the same link's requests (answered 410) spends its own budget, not the
    holder's. A digest, so a long made-up cookie costs no more memory than a real one."""
    digest = (
        hashlib.sha256(device.encode("utf-8", "surrogatepass")).hexdigest()[:32] if device else ""
    )
    return token, digest


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def parse_json(body: bytes) -> dict[str, Any]:
    """A JSON object, or a 400 `RefusedError`. NaN and Infinity are not JSON and are refused."""
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RefusedError(400, f"body is not JSON: {exc}") from None
    except RecursionError:
        raise RefusedError(400, "body is nested too deeply") from None
    if not isinstance(data, dict):
        raise RefusedError(400, "body is not a JSON object")
    return data


def _optional(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    return None if value is None else _required(data, key)


def _required(data: dict[str, Any], key: str) -> float:
    value = data.get(key)
    if value is None:
        raise RefusedError(422, f"{key} is missing")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RefusedError(422, f"{key} must be a number")
    try:
        number = float(value)  # an integer beyond a float's range overflows here
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise RefusedError(422, f"{key} must be finite")
    return number


def _age_text(seconds: float) -> str:
    """An age for the log that stays short for -1e308 as for a day and a minute."""
    days = seconds / 86400
    return f"{days:.3g} days" if days >= 1 else f"{seconds:.0f} s"


def parse_location(body: bytes, *, now: float | None = None) -> Location:
    """`{lat, lon, accuracy_m, heading?, speed?, at}` checked field by field, or a `RefusedError`
    (400 for a body that is not JSON, 422 for a value out of range, `at` included: it must
    lie between `MAX_FIX_AGE_S` before `now` and `MAX_CLOCK_AHEAD_S` after it)."""
    data = parse_json(body)
    lat = _required(data, "lat")
    lon = _required(data, "lon")
    accuracy = _required(data, "accuracy_m")
    heading = _optional(data, "heading")
    speed = _optional(data, "speed")
    at = _required(data, "at")
    if not -90.0 <= lat <= 90.0:
        raise RefusedError(422, f"lat {lat} is outside -90..90")
    if not -180.0 <= lon <= 180.0:
        raise RefusedError(422, f"lon {lon} is outside -180..180")
    if accuracy < 0:
        raise RefusedError(422, f"accuracy_m {accuracy} is negative")
    if heading is not None and not 0.0 <= heading <= 360.0:
        raise RefusedError(422, f"heading {heading} is outside 0..360")
    if speed is not None and speed < 0:
        raise RefusedError(422, f"speed {speed} is negative")
    now = time.time() if now is None else now
    if at > now + MAX_CLOCK_AHEAD_S:
        raise RefusedError(
            422, f"at is {at - now:.0f} s in the future (at most {MAX_CLOCK_AHEAD_S:.0f} s)"
        )
    if at < now - MAX_FIX_AGE_S:
        raise RefusedError(
            422, f"at is {_age_text(now - at)} old (at most {MAX_FIX_AGE_S / 3600:.0f} h)"
        )
    return Location(lat, lon, accuracy, at, heading_deg=heading, speed_mps=speed)

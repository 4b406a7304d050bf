"""What a tile says about its feed's last position fix: "GPS ±8 m · 3 s ago", amber once
the fix is old enough that the caller may have moved since. No Qt, so it is plain to test."""

from __future__ import annotations

from dataclasses import dataclass

from media.live import Location

GPS_STALE_AFTER_S = 30.0
"""A position fix older than this is drawn amber: the caller may have moved since."""


@dataclass(frozen=True)
class GpsLine:
    """What a tile says about its feed's last position fix."""

    text: str
    """e.g. "GPS ±8 m · 3 s ago"."""
    stale: bool
    """Older than `GPS_STALE_AFTER_S`: drawn amber."""


def _ago(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def gps_line(location: Location | None, unix_now: float) -> GpsLine | None:
    """The footer line for a fix taken at Unix time `location.at`, seen at `unix_now`; None
    for a feed that never had one (cameras and drones have no GPS line, and a caller who has
    not yet shared a position is not nagged about it on the wall)."""
    if location is None:
        return None
    # A phone's clock may run ahead of ours: a fix from "the future" is simply fresh.
    age = max(0, round(unix_now - location.at))
    accuracy = location.accuracy_m
    if accuracy is None:
        where = "GPS"
    elif accuracy >= 1000:
        where = f"GPS ±{accuracy / 1000:.1f} km"
    else:
        where = f"GPS ±{accuracy:.0f} m"
    return GpsLine(f"{where} · {_ago(age)}", stale=age > GPS_STALE_AFTER_S)

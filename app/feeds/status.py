"""What `vigil status` reports about each feed (fields as DESIGN.md lists them)."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from media.live import Feed, FeedState


def redact(url: str) -> str:
    """The URL without user info, fit for logs and status output."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def feed_status(feed: Feed, now: float | None = None) -> dict[str, Any]:
    now = time.monotonic() if now is None else now
    stats = feed.stats
    connection = feed.connection
    age = stats.last_frame_age(now)
    location = feed.location
    next_attempt = None
    if connection.state is FeedState.RECONNECTING and connection.next_attempt_at is not None:
        next_attempt = round(max(0.0, connection.next_attempt_at - now), 2)
    return {
        "id": feed.id,
        "name": feed.name,
        "kind": feed.kind.value,
        "state": feed.state(now).value,
        "fps": round(stats.current_fps(now), 2),
        "frames": stats.frames,
        "width": stats.width or None,
        "height": stats.height or None,
        "codec": stats.codec,
        "stream": feed.stream.value,
        "decoding": feed.decoding.value,
        "last_frame_age_s": round(age, 3) if age is not None else None,
        "recording": feed.recording,
        "location": None
        if location is None
        else {
            "lat": location.lat,
            "lon": location.lon,
            "accuracy_m": location.accuracy_m,
            "at": location.at,
            "heading": location.heading_deg,
            "speed": location.speed_mps,
        },
        "incident": feed.spec.incident,
        "telemetry": _telemetry(feed),
        "url": redact(feed.spec.url),
        "substream_url": redact(feed.spec.substream_url) if feed.spec.substream_url else None,
        "substream_problem": feed.substream_problem,
        "error": connection.error,
        "next_attempt_in_s": next_attempt,
        "bitrate_kbps": round(stats.bitrate_bps / 1000, 1),
        "decode_ms": round(stats.decode_ms, 2),
        "dropped": feed.slot.dropped,
        "decode_errors": stats.decode_errors,
        "audio": {"codec": stats.audio_codec, "level_db": round(feed.audio.level(now), 1)}
        if feed.audio.present
        else None,
    }


def _telemetry(feed: Feed) -> dict[str, Any] | None:
    """A drone's KLV: where it looks, and how its telemetry stream is faring."""
    t, stats = feed.telemetry, feed.klv
    if t is None and stats is None:
        return None
    return {
        "heading": t.heading_deg if t else None,
        "altitude_m": t.sensor_alt_m if t else None,
        "frame_centre": [t.frame_centre_lat, t.frame_centre_lon]
        if t and t.frame_centre_lat is not None
        else None,
        "corners": [list(c) for c in t.corners] if t and t.corners else None,
        "klv_packets": stats.good if stats else 0,
        "klv_dropped": stats.bad_checksum + stats.truncated + stats.malformed if stats else 0,
    }

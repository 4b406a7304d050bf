"""[map] tiles: whether a tile source setting can be right, checked as the config is read.
Opening it is app/map/tiles.py's."""

from __future__ import annotations

import urllib.parse

MBTILES_PREFIX = "mbtiles:"


def check_setting(setting: str) -> str | None:
    """Why a `[map] tiles` value cannot be right (None when it looks usable)."""
    if setting.startswith(MBTILES_PREFIX):
        return None if setting[len(MBTILES_PREFIX) :].strip() else "mbtiles: needs a file path"
    parts = urllib.parse.urlsplit(setting)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return (
            'expected "mbtiles:/path/to/file.mbtiles" or an http(s) URL template such as '
            '"https://tiles.force.internal/{z}/{x}/{y}.png"'
        )
    missing = [p for p in ("{z}", "{x}", "{y}") if p not in setting]
    if missing:
        return f"the URL template lacks {', '.join(missing)}"
    try:
        # _fetch fills the template with str.format: anything else in braces would fail there.
        setting.format(z=0, x=0, y=0)
    except (KeyError, IndexError, ValueError):
        return "the URL template may hold only {z}, {x} and {y} in braces (not {s} or others)"
    if parts.username or parts.password:
        return "the URL holds a user name or password; tile servers here take none"
    return None

"""Positions on the Earth: distance, bearing and offsets between fixes, and Web Mercator.

The map measures "1.2 km, bearing 047°" from a clicked point to a feed; the demo walks its
callers and officers along routes; tests predict where a marker lands on a rendered map.
All of it is here, once, with no Qt.
"""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG): great-circle distances are within 0.5 % of WGS 84's."""

WEB_MERCATOR_MAX_LAT = 85.0511287798
TILE_SIZE = 256


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine: exact enough at any scale a map shows)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from the first point to the second, degrees clockwise from true north."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """The point `north_m` north and `east_m` east of (lat, lon); flat-Earth, for short hops."""
    dlat = north_m / EARTH_RADIUS_M
    dlon = east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat)))
    return lat + math.degrees(dlat), lon + math.degrees(dlon)


def world_pixel(lat: float, lon: float, zoom: float) -> tuple[float, float]:
    """Web Mercator (EPSG:3857) pixel of a point in a world `256 * 2**zoom` pixels wide,
    origin at the north-west corner: how slippy-map tiles, and Qt's map, lay out the world."""
    size = TILE_SIZE * 2**zoom
    lat = max(-WEB_MERCATOR_MAX_LAT, min(WEB_MERCATOR_MAX_LAT, lat))
    x = (lon + 180.0) / 360.0 * size
    y = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * size
    return x, y


def tile_of(lat: float, lon: float, zoom: int) -> tuple[int, int]:
    """The XYZ tile (x, y) that holds a point at `zoom`."""
    x, y = world_pixel(lat, lon, zoom)
    last = 2**zoom - 1
    return min(last, int(x // TILE_SIZE)), min(last, int(y // TILE_SIZE))


def tile_bounds(zoom: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(north, west, south, east) in degrees of an XYZ tile."""

    def lat_of(row: float) -> float:
        return float(math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / 2**zoom)))))

    def lon_of(col: float) -> float:
        return float(col / 2**zoom * 360.0 - 180.0)

    return lat_of(y), lon_of(x), lat_of(y + 1), lon_of(x + 1)


def format_distance(metres: float) -> str:
    """ "85 m", "850 m", "1.24 km", "12.4 km": as a control room reads it out."""
    if metres < 1000:
        return f"{metres:.0f} m"
    if metres < 10_000:
        return f"{metres / 1000:.2f} km"
    return f"{metres / 1000:.1f} km"

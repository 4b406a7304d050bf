"""Where a feed is: MISB ST 0601 KLV from drones, and geodesy on the WGS84 ellipsoid."""

from media.telemetry.geo import bearing_deg, distance_m, format_distance, offset, world_pixel
from media.telemetry.klv import DroneTelemetry, KlvReader, KlvStats, encode_packet

__all__ = [
    "DroneTelemetry",
    "KlvReader",
    "KlvStats",
    "bearing_deg",
    "distance_m",
    "encode_packet",
    "format_distance",
    "offset",
    "world_pixel",
]

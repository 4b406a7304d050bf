"""Qt views for the map: the QtLocation panel and the markers it draws."""

from widgets.map.markers import ROLES, fix_age_text, fix_opacity
from widgets.map.panel import MAP_QML, MapBridge, MapPanel, MapSetup

__all__ = ["MAP_QML", "ROLES", "MapBridge", "MapPanel", "MapSetup", "fix_age_text", "fix_opacity"]

"""The map: where tiles come from and the loopback server that hands them to Qt, and every
feed's track of positions."""

from app.map.service import MapService, MapView
from app.map.tracks import TrackBook, TrackRecorder

__all__ = ["MapService", "MapView", "TrackBook", "TrackRecorder"]

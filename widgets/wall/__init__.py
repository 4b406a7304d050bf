"""Qt views for the wall: tiles, the grid that lays them out, the further screens' windows,
the alert list, and sound out."""

from widgets.wall.alert_list import AlertList
from widgets.wall.alerts import AlertKind, AlertWatcher
from widgets.wall.audio_out import AudioOut
from widgets.wall.screen_wall import ScreenWindow
from widgets.wall.tile import Tile, fit_rect
from widgets.wall.wall import Wall

__all__ = [
    "AlertKind",
    "AlertList",
    "AlertWatcher",
    "AudioOut",
    "ScreenWindow",
    "Tile",
    "Wall",
    "fit_rect",
]

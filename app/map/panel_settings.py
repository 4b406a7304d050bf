"""The map panel's settings from the map service's view: one conversion for the wall's map
beside the tiles and the Review window's track, so both show the same tiles (or the same
coordinate grid with its note when there are none)."""

from __future__ import annotations

from app.map.service import MapView
from widgets.map import MapSetup


def map_setup(view: MapView | None, *, fit_first: bool = False) -> MapSetup:
    """`fit_first`: bring every newly placed feed into view until someone chooses where to
    look, where the config names no centre (the wall wants it; a clip's track fits itself)."""
    if view is None:
        return MapSetup()
    return MapSetup(
        tile_url=view.tile_url,
        note=view.note,
        attribution=view.attribution,
        cache_dir=view.cache_dir,
        centre=view.centre or MapSetup.centre,
        zoom=view.zoom,
        fit_first=fit_first and view.centre is None,
    )

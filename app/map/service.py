"""The map's tiles for a running instance: from `[map]` in the config, served on loopback.

It opens the configured tile source and starts the loopback tile server, and says, in
words the map can show, what the tiles are or why there are none. A tile source that
cannot be opened never stops Vigil: the map draws its coordinate grid and names the
problem.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.config import MapSettings
from app.map.tile_server import TileServer
from app.map.tiles import MapTilesError, MBTiles, open_tiles
from app.paths import BaseDir

log = logging.getLogger(__name__)

NO_TILES = (
    "No map tiles configured: a coordinate grid stands in. Name an MBTiles file or the "
    "force's tile server in the config's [map] tiles."
)


@dataclass(frozen=True)
class MapView:
    """What the map panel needs to know, as plain data."""

    tile_url: str
    note: str
    attribution: str
    cache_dir: Path
    centre: tuple[float, float] | None
    zoom: float


class MapService:
    def __init__(self, settings: MapSettings, base: BaseDir) -> None:
        self.settings = settings
        self.error: str | None = None
        self.server: TileServer | None = None
        self._cache = base.root / "map-cache"
        self._centre = settings.centre
        self._zoom = settings.zoom
        if settings.tiles is None:
            return
        try:
            source = open_tiles(settings.tiles, self._cache / "tiles")
        except MapTilesError as exc:
            self.error = str(exc)
            log.error("map tiles unavailable: %s; the map shows a coordinate grid", exc)
            return
        if isinstance(source, MBTiles) and self._centre is None:
            found = source.centre()
            if found is not None:
                self._centre = (found[0], found[1])
        self.server = TileServer(source)

    def start(self) -> None:
        if self.server is not None:
            self.server.start()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    def view(self) -> MapView:
        if self.server is not None:
            source = self.server.source
            url, note, attribution = self.server.url, "", source.attribution
        else:
            url, attribution = "", ""
            note = (
                f"Map tiles unavailable: {self.error}. A coordinate grid stands in."
                if self.error
                else NO_TILES
            )
        return MapView(
            tile_url=url,
            note=note,
            attribution=attribution,
            cache_dir=self._cache / "qt",
            centre=self._centre,
            zoom=self._zoom,
        )

    def status(self) -> dict[str, Any]:
        if self.server is not None:
            return {"tiles": self.settings.tiles, "error": None, **self.server.status()}
        return {"tiles": self.settings.tiles, "error": self.error}

"""Where the map's pictures come from: an MBTiles file, or the force's own XYZ tile server.

Control rooms run offline-first: the usual source is an MBTiles file on local disk. A force
with its own tile server gives an XYZ URL template instead; its tiles are kept in a disk
cache under the base dir, so the map still draws what it has seen when that server is
down. Nothing here ever reaches a public tile server unless the config names one.

Either way the map reads tiles from `app/map/tile_server.py` on loopback, so Qt's map plugin
only ever talks to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from app.config import MBTILES_PREFIX, check_setting

log = logging.getLogger(__name__)

IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}

FETCH_TIMEOUT_S = 5.0

CACHE_FRESH_S = 7 * 24 * 3600.0
"""A cached tile younger than this is served without asking the tile server again."""

RETRY_AFTER_FAILURE_S = 30.0
"""After the tile server fails, serve from the cache alone for this long (no stampede)."""


class MapTilesError(Exception):
    """The configured tile source cannot be used; the message says why, for the map's face."""


@dataclass(frozen=True)
class Tile:
    data: bytes
    content_type: str


class TileSource(Protocol):
    description: str
    """What the map's corner says the tiles are (a file name, or the server's host)."""
    attribution: str

    def tile(self, zoom: int, x: int, y: int) -> Tile | None:
        """The tile, or None where the source has none. Called from several threads."""
        ...

    def close(self) -> None: ...


def open_tiles(setting: str, cache_dir: Path) -> TileSource:
    """The source a `[map] tiles` setting names: "mbtiles:PATH" or an http(s) XYZ template."""
    if setting.startswith(MBTILES_PREFIX):
        return MBTiles(Path(setting[len(MBTILES_PREFIX) :]).expanduser())
    return XyzTiles(setting, cache_dir)


class MBTiles:
    """A raster MBTiles file (SQLite; rows in TMS order, so y is flipped), opened read-only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise MapTilesError(f"no such MBTiles file: {path}")
        self._local = threading.local()
        try:
            db = self._db()
            self.metadata = dict(db.execute("SELECT name, value FROM metadata").fetchall())
            db.execute("SELECT 1 FROM tiles LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            raise MapTilesError(f"{path.name} is not an MBTiles file ({exc})") from exc
        fmt = str(self.metadata.get("format", "png")).lower()
        if fmt not in IMAGE_TYPES:
            raise MapTilesError(
                f"{path.name} holds {fmt!r} tiles; the map needs raster tiles (png or jpg)"
            )
        self.content_type = IMAGE_TYPES[fmt]
        self.description = self.metadata.get("name") or path.name
        self.attribution = self.metadata.get("attribution", "")

    def _db(self) -> sqlite3.Connection:
        # sqlite3 connections belong to one thread; the tile server answers on several.
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self._local.db = db
        return db

    def tile(self, zoom: int, x: int, y: int) -> Tile | None:
        row = (1 << zoom) - 1 - y
        try:
            found = (
                self._db()
                .execute(
                    "SELECT tile_data FROM tiles "
                    "WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                    (zoom, x, row),
                )
                .fetchone()
            )
        except sqlite3.DatabaseError as exc:
            log.warning("reading tile %d/%d/%d from %s failed: %s", zoom, x, y, self.path, exc)
            return None
        return Tile(bytes(found[0]), self.content_type) if found else None

    def centre(self) -> tuple[float, float, float] | None:
        """(lat, lon, zoom) from the file's own `center` metadata, when it has one."""
        with contextlib.suppress(KeyError, ValueError):
            lon, lat, zoom = (float(v) for v in self.metadata["center"].split(","))
            return lat, lon, zoom
        return None

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()


class XyzTiles:
    """The force's tile server ({z}/{x}/{y} template), behind a disk cache under the base dir."""

    def __init__(
        self,
        template: str,
        cache_dir: Path,
        *,
        user_agent: str = "Vigil",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`clock` (monotonic seconds) times the rest after a failure; tests hand in theirs."""
        problem = check_setting(template)
        if problem:
            raise MapTilesError(problem)
        self.template = template
        self.cache_dir = cache_dir
        self.description = urllib.parse.urlsplit(template).hostname or template
        self.attribution = ""
        self._user_agent = user_agent
        self._clock = clock
        self._failed_at = 0.0
        self._lock = threading.Lock()
        self.fetched = 0
        self.failures = 0

    def _cached(self, zoom: int, x: int, y: int) -> Path:
        return self.cache_dir / str(zoom) / str(x) / str(y)

    def tile(self, zoom: int, x: int, y: int) -> Tile | None:
        path = self._cached(zoom, x, y)
        cached = _read_cached(path)
        if cached is not None and time.time() - path.stat().st_mtime < CACHE_FRESH_S:
            return cached
        with self._lock:
            failed_at = self._failed_at
        if failed_at and self._clock() - failed_at < RETRY_AFTER_FAILURE_S:
            return cached
        fetched = self._fetch(zoom, x, y)
        if fetched is None:
            return cached  # a stale tile beats a hole in the map
        _write_cached(path, fetched)
        return fetched

    def _fetch(self, zoom: int, x: int, y: int) -> Tile | None:
        url = self.template.format(z=zoom, x=x, y=y)
        request = urllib.request.Request(url, headers={"User-Agent": self._user_agent})
        try:
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as response:
                data = response.read()
                content_type = response.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None  # the server simply has no tile there
            self._failed(f"{url}: HTTP {exc.code}")
            return None
        except (OSError, ValueError) as exc:
            self._failed(f"{url}: {exc}")
            return None
        if not content_type.startswith("image/"):
            self._failed(f"{url}: answered {content_type}, not an image")
            return None
        with self._lock:
            self.fetched += 1
            self._failed_at = 0.0
        return Tile(data, content_type)

    def _failed(self, why: str) -> None:
        with self._lock:
            first = self._failed_at == 0.0
            self._failed_at = self._clock()
            self.failures += 1
        if first:
            log.warning(
                "tile server unavailable (%s); the map shows cached tiles, retrying every %d s",
                why,
                RETRY_AFTER_FAILURE_S,
            )

    def close(self) -> None:
        pass


def _read_cached(path: Path) -> Tile | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    kind = _sniff(data)
    return Tile(data, kind) if kind else None


def _write_cached(path: Path, tile: Tile) -> None:
    # Write to a temporary name and rename: a reader never sees half a tile.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tile-")
        with os.fdopen(fd, "wb") as out:
            out.write(tile.data)
        os.replace(temporary, path)
    except OSError as exc:
        log.warning("could not cache tile %s: %s", path, exc)


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None

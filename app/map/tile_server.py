"""The map's tile endpoint: `http://127.0.0.1:PORT/tiles/{z}/{x}/{y}.png`, loopback only.

Qt's osm map plugin fetches tiles over HTTP from one configurable host. Pointing it here
means the plugin never needs the network: this server answers from the configured
`TileSource` (an MBTiles file, or the force's tile server through a disk cache).

It is a small threaded `http.server` rather than a route on the gateway's aiohttp: it
must serve in `vigil snapshot` and in tests, where no asyncio loop runs, and a slow fetch
from the force's tile server must never hold up the GUI thread's loop.
"""

from __future__ import annotations

import http.server
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

from app.map.tiles import TileSource

log = logging.getLogger(__name__)

_TILE_PATH = re.compile(r"^/tiles/(\d{1,2})/(\d{1,9})/(\d{1,9})\.png$")
MAX_ZOOM = 22


@dataclass
class TileCounts:
    served: int = 0
    missing: int = 0
    refused: int = 0


class TileServer:
    """Serves one tile source on 127.0.0.1 at a free port, on its own threads."""

    def __init__(self, source: TileSource) -> None:
        self.source = source
        self.counts = TileCounts()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.tiles = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """What the map plugin appends `{z}/{x}/{y}.png` to."""
        return f"http://127.0.0.1:{self.port}/tiles/"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="map-tiles", daemon=True
        )
        self._thread.start()
        log.info("map tiles (%s) served on %s", self.source.description, self.url)

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=2)
            self._thread = None
        self._server.server_close()
        self.source.close()

    def count(self, field: str) -> None:
        with self._lock:
            setattr(self.counts, field, getattr(self.counts, field) + 1)

    def status(self) -> dict[str, Any]:
        with self._lock:
            counts = TileCounts(self.counts.served, self.counts.missing, self.counts.refused)
        return {
            "source": self.source.description,
            "url": self.url,
            "served": counts.served,
            "missing": counts.missing,
            "refused": counts.refused,
        }


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    tiles: TileServer


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive: the map asks for dozens of tiles at once

    def do_GET(self) -> None:
        tiles = self.server.tiles
        found = _TILE_PATH.match(self.path)
        if found is None:
            tiles.count("refused")
            self._answer(404, b"", "text/plain")
            return
        zoom, x, y = (int(v) for v in found.groups())
        if zoom > MAX_ZOOM or x >= 1 << zoom or y >= 1 << zoom:
            tiles.count("refused")
            self._answer(404, b"", "text/plain")
            return
        tile = tiles.source.tile(zoom, x, y)
        if tile is None:
            tiles.count("missing")
            self._answer(404, b"", "text/plain")
            return
        tiles.count("served")
        self._answer(200, tile.data, tile.content_type)

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per tile would drown the log; counts go to `vigil status`

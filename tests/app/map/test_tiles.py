"""Map tiles: MBTiles files, the force's XYZ server behind a disk cache, the loopback tile
server and the map service that ties them to the config. Real files, real HTTP on
127.0.0.1; nothing is mocked."""

from __future__ import annotations

import http.client
import http.server
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from app.config import MapSettings, parse
from app.config.map import check_setting
from app.map import tiles as map_tiles
from app.map.service import NO_TILES, MapService
from app.map.tile_server import TileServer
from app.map.tiles import MapTilesError, MBTiles, XyzTiles, open_tiles
from app.paths import BaseDir
from media.telemetry.geo import tile_of
from tests.clock import Clock
from tests.maps import make_mbtiles, tile_png
from tests.servers import LOOPBACK, HttpServer

YORK = (53.959, -1.0815)
ZOOMS = range(12, 14)
"""make_mbtiles writes `center` as the middle of its zooms: 12 + 2 // 2."""
FILE_ZOOM = 13.0

pytestmark = pytest.mark.network


# -- helpers ----------------------------------------------------------------------------


def write_mbtiles(
    path: Path, rows: dict[tuple[int, int, int], bytes], metadata: dict[str, str]
) -> Path:
    """An MBTiles file holding `rows` keyed by (zoom, tile_column, tile_row) in TMS order."""
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE metadata (name TEXT, value TEXT);"
        "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,"
        " tile_data BLOB);"
    )
    db.executemany("INSERT INTO metadata VALUES (?, ?)", list(metadata.items()))
    db.executemany(
        "INSERT INTO tiles VALUES (?, ?, ?, ?)", [(*key, data) for key, data in rows.items()]
    )
    db.commit()
    db.close()
    return path


def get(port: int, path: str) -> tuple[int, str, bytes]:
    """One GET with the path sent exactly as given (no client-side clean-up of `..`)."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def listening_addresses(port: int) -> list[str]:
    """The local addresses (as /proc/net/tcp{,6} writes them) that listen on `port`."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                address, port_hex = fields[1].rsplit(":", 1)
                if int(port_hex, 16) == port and fields[3] == "0A":  # 0A: TCP_LISTEN
                    found.append(address)
    return found


def york_tiles(zoom: int) -> list[tuple[int, int, int]]:
    """The XYZ addresses make_mbtiles(radius=1) writes at `zoom`."""
    cx, cy = tile_of(*YORK, zoom)
    return [(zoom, x, y) for x in range(cx - 1, cx + 2) for y in range(cy - 1, cy + 2)]


def cache_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def county(qapp: object, tmp_path: Path) -> Path:
    """A small MBTiles file around York: zooms 12 and 13, 3x3 tiles each."""
    return make_mbtiles(tmp_path / "county.mbtiles", YORK, ZOOMS, radius=1)


@pytest.fixture
def tile_server(county: Path) -> Iterator[TileServer]:
    server = TileServer(MBTiles(county))
    server.start()
    yield server
    server.close()


@pytest.fixture
def upstream_dir(qapp: object, tmp_path: Path) -> Path:
    """The force's tile server's folder: `{z}/{x}/{y}.png` for the York tiles at zoom 12."""
    root = tmp_path / "upstream"
    for zoom, x, y in york_tiles(12):
        path = root / str(zoom) / str(x) / f"{y}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(tile_png(zoom, x, y))
    return root


@pytest.fixture
def upstream(upstream_dir: Path) -> Iterator[HttpServer]:
    server = HttpServer(upstream_dir).start()
    yield server
    server.stop()


def xyz_template(server: HttpServer, suffix: str = "png") -> str:
    return server.url(f"{{z}}/{{x}}/{{y}}.{suffix}")


# -- MBTiles ----------------------------------------------------------------------------


def test_a_tile_read_by_xyz_address_is_the_one_stored_at_the_flipped_tms_row(
    tmp_path: Path,
) -> None:
    """In: a zoom-2 file with one blob at TMS row 0 (the bottom) and another at row 3 (the
    top), both in column 1. Out: XYZ (2, 1, 3) reads the bottom blob, (2, 1, 0) the top."""
    bottom, top = b"\x89PNG bottom row", b"\x89PNG top row"
    path = write_mbtiles(
        tmp_path / "flip.mbtiles", {(2, 1, 0): bottom, (2, 1, 3): top}, {"format": "png"}
    )
    tiles = MBTiles(path)
    found_bottom, found_top = tiles.tile(2, 1, 3), tiles.tile(2, 1, 0)
    assert found_bottom is not None
    assert found_top is not None
    assert (found_bottom.data, found_bottom.content_type) == (bottom, "image/png")
    assert found_top.data == top
    tiles.close()


def test_every_tile_of_a_drawn_file_reads_back_by_its_xyz_address(county: Path) -> None:
    """In: make_mbtiles' York file, whose tiles are drawn from their XYZ address. Out: each
    address reads back exactly the PNG drawn for it."""
    tiles = MBTiles(county)
    for zoom in ZOOMS:
        for address in york_tiles(zoom):
            found = tiles.tile(*address)
            assert found is not None, address
            assert found.data == tile_png(*address), address
    tiles.close()


@pytest.mark.parametrize(
    "address",
    [(5, 0, 0), (12, 0, 0), (14, 8000, 5000), (0, 0, 0)],
    ids=["zoom-absent", "far-corner", "zoom-above", "world"],
)
def test_a_tile_outside_the_file_is_none(county: Path, address: tuple[int, int, int]) -> None:
    """In: an address the York file does not cover. Out: None (no error)."""
    tiles = MBTiles(county)
    assert tiles.tile(*address) is None
    tiles.close()


def test_metadata_gives_centre_name_and_attribution(county: Path) -> None:
    """In: make_mbtiles' metadata (center "lon,lat,zoom", name, attribution). Out: centre()
    is (lat, lon, zoom), description is the name, attribution as written."""
    tiles = MBTiles(county)
    centre = tiles.centre()
    assert centre is not None
    assert centre == pytest.approx((YORK[0], YORK[1], FILE_ZOOM))
    assert tiles.description == "Test county"
    assert tiles.attribution == "Test tiles drawn by the suite"
    tiles.close()


def test_a_file_without_centre_or_name_falls_back(tmp_path: Path) -> None:
    """In: a file whose metadata has only format. Out: centre() None, description the file
    name, attribution empty."""
    path = write_mbtiles(tmp_path / "bare.mbtiles", {}, {"format": "png"})
    tiles = MBTiles(path)
    assert tiles.centre() is None
    assert tiles.description == "bare.mbtiles"
    assert tiles.attribution == ""
    tiles.close()


def test_a_file_whose_path_has_spaces_hash_and_percent_opens(tmp_path: Path) -> None:
    """In: an MBTiles file under "maps #1 %20 ?x/North Yorks.mbtiles" (the path goes into an
    SQLite URI). Out: it opens and its tile reads back."""
    folder = tmp_path / "maps #1 %20 ?x"
    folder.mkdir()
    path = write_mbtiles(folder / "North Yorks.mbtiles", {(0, 0, 0): b"\x89PNG w"}, {})
    tiles = MBTiles(path)
    found = tiles.tile(0, 0, 0)
    assert found is not None
    assert found.data == b"\x89PNG w"
    assert tiles.description == "North Yorks.mbtiles"
    tiles.close()


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "absent.mbtiles"


def _text(tmp_path: Path) -> Path:
    path = tmp_path / "notes.mbtiles"
    path.write_text("These are the shift notes, not a map.\n" * 20)
    return path


def _no_tiles_table(tmp_path: Path) -> Path:
    path = tmp_path / "half.mbtiles"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE metadata (name TEXT, value TEXT);"
        "INSERT INTO metadata VALUES ('format', 'png');"
    )
    db.commit()
    db.close()
    return path


def _vector(tmp_path: Path) -> Path:
    return write_mbtiles(tmp_path / "vector.mbtiles", {(0, 0, 0): b"\x1a\x00"}, {"format": "pbf"})


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (_missing, ["no such MBTiles file", "absent.mbtiles"]),
        (_text, ["notes.mbtiles is not an MBTiles file"]),
        (_no_tiles_table, ["half.mbtiles is not an MBTiles file", "tiles"]),
        (_vector, ["vector.mbtiles", "'pbf'", "raster"]),
    ],
    ids=["missing", "text-file", "no-tiles-table", "vector-tiles"],
)
def test_a_file_that_cannot_serve_raises_naming_the_problem(
    tmp_path: Path, make: Any, words: list[str]
) -> None:
    """In: a missing file, a text file named .mbtiles, an SQLite file without the tiles
    table, a vector-tile (pbf) file. Out: MapTilesError whose message names the file and
    what is wrong with it."""
    path = make(tmp_path)
    with pytest.raises(MapTilesError) as caught:
        MBTiles(path)
    for word in words:
        assert word in str(caught.value)


def test_eight_threads_read_at_once(county: Path) -> None:
    """In: 8 threads started together, each reading every York tile 5 times. Out: every
    read returns the stored bytes (sqlite connections are per thread)."""
    tiles = MBTiles(county)
    addresses = [a for zoom in ZOOMS for a in york_tiles(zoom)]
    expected = {a: tile_png(*a) for a in addresses}
    start = threading.Barrier(8)

    def read_all(_: int) -> list[bool]:
        start.wait(timeout=10)
        results = []
        for address in addresses * 5:
            found = tiles.tile(*address)
            results.append(found is not None and found.data == expected[address])
        return results

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(read_all, range(8)))
    assert [all(o) for o in outcomes] == [True] * 8
    tiles.close()


# -- TileServer -------------------------------------------------------------------------


def test_the_server_answers_a_tile_with_its_exact_bytes(tile_server: TileServer) -> None:
    """In: GET /tiles/12/x/y.png for a tile in the file. Out: 200 image/png, the body the
    exact PNG drawn for that address, counted as served."""
    zoom, x, y = york_tiles(12)[4]
    status, content_type, body = get(tile_server.port, f"/tiles/{zoom}/{x}/{y}.png")
    assert (status, content_type) == (200, "image/png")
    assert body == tile_png(zoom, x, y)
    assert tile_server.status()["served"] == 1


def test_a_missing_tile_is_404_counted_as_missing(tile_server: TileServer) -> None:
    """In: GET for a valid address the file lacks (zoom 3). Out: 404, counted as missing,
    not as refused."""
    status, _, body = get(tile_server.port, "/tiles/3/0/0.png")
    assert (status, body) == (404, b"")
    counts = tile_server.status()
    assert (counts["missing"], counts["refused"], counts["served"]) == (1, 0, 0)


JUNK = [
    "/tiles/../../etc/passwd",
    "/tiles/a/b/c.png",
    "/tiles/23/0/0.png",
    "/tiles/2/4/0.png",
    "/tiles/2/0/4.png",
    "/tiles/12/2030/1300.jpg",
    "/tiles/12/2030/1300.png?key=1",
    "/",
]


def test_junk_paths_are_refused_and_the_server_keeps_serving(tile_server: TileServer) -> None:
    """In: path traversal, non-numbers, zoom 23, x or y >= 2^zoom, another extension, a
    query, the root. Out: each 404 counted as refused (none as missing), and a real tile
    is still served afterwards."""
    for path in JUNK:
        status, _, body = get(tile_server.port, path)
        assert (status, body) == (404, b""), path
    counts = tile_server.status()
    assert (counts["refused"], counts["missing"]) == (len(JUNK), 0)
    zoom, x, y = york_tiles(13)[0]
    status, _, body = get(tile_server.port, f"/tiles/{zoom}/{x}/{y}.png")
    assert status == 200
    assert body == tile_png(zoom, x, y)


def test_the_server_listens_on_loopback_only(tile_server: TileServer) -> None:
    """In: a started server. Out: the kernel's table shows one listener on its port, at
    127.0.0.1 (0100007F), and its url names 127.0.0.1."""
    assert listening_addresses(tile_server.port) == ["0100007F"]
    assert tile_server.url == f"http://127.0.0.1:{tile_server.port}/tiles/"


def test_status_counts_each_kind_of_answer(tile_server: TileServer) -> None:
    """In: 3 tiles served, 2 missing, 1 refused. Out: status() says so, with the file's
    name as the source and the server's url."""
    for address in york_tiles(12)[:3]:
        assert get(tile_server.port, "/tiles/{}/{}/{}.png".format(*address))[0] == 200
    for path in ("/tiles/1/0/0.png", "/tiles/11/0/0.png", "/favicon.ico"):
        assert get(tile_server.port, path)[0] == 404
    assert tile_server.status() == {
        "source": "Test county",
        "url": tile_server.url,
        "served": 3,
        "missing": 2,
        "refused": 1,
    }


def test_close_stops_the_server(county: Path) -> None:
    """In: a started server, then close(). Out: connections to its port are refused."""
    server = TileServer(MBTiles(county))
    server.start()
    port = server.port
    assert get(port, "/tiles/1/0/0.png")[0] == 404
    server.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((LOOPBACK, port), timeout=2).close()


# -- XyzTiles ---------------------------------------------------------------------------


def test_the_first_fetch_writes_the_cache_atomically(
    upstream: HttpServer, upstream_dir: Path, tmp_path: Path
) -> None:
    """In: a tile asked for the first time. Out: the upstream bytes as image/png, the same
    bytes in the cache at z/x/y, no `.tile-` temporary file left; a second ask comes from
    the cache (nothing more fetched)."""
    cache = tmp_path / "cache"
    source = XyzTiles(xyz_template(upstream), cache)
    zoom, x, y = york_tiles(12)[0]
    tile = source.tile(zoom, x, y)
    assert tile is not None
    assert (tile.data, tile.content_type) == (tile_png(zoom, x, y), "image/png")
    assert cache_files(cache) == [cache / str(zoom) / str(x) / str(y)]
    assert (cache / str(zoom) / str(x) / str(y)).read_bytes() == tile.data
    assert not list(cache.rglob(".tile-*"))
    assert source.fetched == 1
    again = source.tile(zoom, x, y)
    assert again is not None
    assert again.data == tile.data
    assert source.fetched == 1


def test_a_cached_tile_is_served_while_upstream_is_down(
    upstream: HttpServer, tmp_path: Path
) -> None:
    """In: a tile fetched once, then the upstream server stopped. Out: the tile is still
    served from the cache, fresh or (after its mtime is set back) stale."""
    cache = tmp_path / "cache"
    source = XyzTiles(xyz_template(upstream), cache)
    zoom, x, y = york_tiles(12)[1]
    assert source.tile(zoom, x, y) is not None
    upstream.stop()
    fresh = source.tile(zoom, x, y)
    assert fresh is not None
    assert fresh.data == tile_png(zoom, x, y)
    old = time.time() - map_tiles.CACHE_FRESH_S - 60
    os.utime(cache / str(zoom) / str(x) / str(y), (old, old))
    stale = source.tile(zoom, x, y)
    assert stale is not None, "a stale tile beats a hole"
    assert stale.data == tile_png(zoom, x, y)


def test_an_unfetched_tile_is_none_while_down_and_no_retry_in_the_rest_period(
    upstream: HttpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In: upstream stopped, a tile never fetched asked three times within the rest period.
    Out: None each time and only the first ask tried to connect (one failure counted)."""
    monkeypatch.setattr(map_tiles, "RETRY_AFTER_FAILURE_S", 30.0)
    source = XyzTiles(xyz_template(upstream), tmp_path / "cache")
    upstream.stop()
    for address in york_tiles(12)[:3]:
        assert source.tile(*address) is None
    assert source.failures == 1
    assert cache_files(tmp_path / "cache") == []


def test_the_rest_period_holds_off_then_lets_a_retry_through(
    upstream_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In: an upstream answering 503, then healthy again; RETRY_AFTER_FAILURE_S 30 s on the
    tests' Clock.
    Out: the first ask reaches it (1 request) and gets None; asks at 0 s and 29.9 s into the
    rest period send nothing and get None; at 30.1 s the next ask reaches upstream and gets
    the tile (2 requests)."""
    monkeypatch.setattr(map_tiles, "RETRY_AFTER_FAILURE_S", 30.0)
    clock = Clock()
    upstream = HttpServer(upstream_dir).start()
    try:
        source = XyzTiles(upstream.url("{z}/{x}/{y}.png"), tmp_path / "cache", clock=clock)
        address = york_tiles(12)[2]
        upstream.fail_with = 503
        assert source.tile(*address) is None
        assert upstream.requests == 1
        upstream.fail_with = None
        assert source.tile(*address) is None
        clock.advance(29.9)
        assert source.tile(*address) is None
        assert upstream.requests == 1, "no request during the rest period"
        clock.advance(0.2)
        tile = source.tile(*address)
        assert tile is not None
        assert tile.data == tile_png(*address)
        assert upstream.requests == 2
    finally:
        upstream.stop()


def test_a_404_upstream_is_none_without_a_rest_period(
    upstream_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In: a tile the upstream folder lacks (404), then one it has. Out: None for the first
    with no failure counted, and the second is fetched straight away (2 requests)."""
    monkeypatch.setattr(map_tiles, "RETRY_AFTER_FAILURE_S", 30.0)
    upstream = HttpServer(upstream_dir).start()
    try:
        source = XyzTiles(upstream.url("{z}/{x}/{y}.png"), tmp_path / "cache")
        assert source.tile(12, 0, 0) is None
        assert source.failures == 0
        address = york_tiles(12)[3]
        tile = source.tile(*address)
        assert tile is not None
        assert tile.data == tile_png(*address)
        assert upstream.requests == 2
    finally:
        upstream.stop()


def test_an_upstream_answering_html_is_none_and_nothing_is_cached(
    upstream_dir: Path, tmp_path: Path
) -> None:
    """In: a template whose tiles are .html files (served as text/html, as a login page
    would be). Out: None, a failure counted, nothing in the cache."""
    zoom, x, y = york_tiles(12)[0]
    page = upstream_dir / str(zoom) / str(x) / f"{y}.html"
    page.write_text("<html><body>Please sign in</body></html>")
    upstream = HttpServer(upstream_dir).start()
    try:
        cache = tmp_path / "cache"
        source = XyzTiles(xyz_template(upstream, "html"), cache)
        assert source.tile(zoom, x, y) is None
        assert source.failures == 1
        assert cache_files(cache) == []
    finally:
        upstream.stop()


def test_a_stale_cached_tile_is_refetched_when_upstream_is_up(
    upstream: HttpServer, upstream_dir: Path, tmp_path: Path
) -> None:
    """In: a tile cached, then changed upstream. Out: while the cached file is fresh the
    old bytes are served; once its mtime is older than CACHE_FRESH_S the new bytes are
    fetched, served and written to the cache."""
    cache = tmp_path / "cache"
    source = XyzTiles(xyz_template(upstream), cache)
    zoom, x, y = york_tiles(12)[5]
    original = source.tile(zoom, x, y)
    assert original is not None
    redrawn = tile_png(zoom, x + 1, y)  # another picture, still a PNG
    (upstream_dir / str(zoom) / str(x) / f"{y}.png").write_bytes(redrawn)
    fresh = source.tile(zoom, x, y)
    assert fresh is not None
    assert fresh.data == original.data
    cached = cache / str(zoom) / str(x) / str(y)
    old = time.time() - map_tiles.CACHE_FRESH_S - 60
    os.utime(cached, (old, old))
    refetched = source.tile(zoom, x, y)
    assert refetched is not None
    assert refetched.data == redrawn
    assert cached.read_bytes() == redrawn
    assert time.time() - cached.stat().st_mtime < 60
    assert source.fetched == 2


@pytest.mark.parametrize(
    "setting",
    [
        "https://tiles.force.internal/{z}/{x}.png",
        "https://tiles.force.internal/{x}/{y}.png",
        "ftp://tiles.force.internal/{z}/{x}/{y}.png",
        "file:///srv/tiles/{z}/{x}/{y}.png",
        "tiles.force.internal/{z}/{x}/{y}.png",
        "https://viewer:hunter2@tiles.force.internal/{z}/{x}/{y}.png",
        "https://viewer@tiles.force.internal/{z}/{x}/{y}.png",
        "https://{s}.tiles.force.internal/{z}/{x}/{y}.png",
        "https://tiles.force.internal/{z}/{x}/{y}.png?key={apikey}",
        "mbtiles:",
    ],
)
def test_check_setting_refuses_unusable_sources(setting: str) -> None:
    """In: a template lacking {y} or {z}, a non-http scheme, no scheme, a user name or
    password, a placeholder other than {z}/{x}/{y}, an empty mbtiles path. Out: a reason
    (never echoing the password), and XyzTiles/open_tiles refuse it with MapTilesError."""
    problem = check_setting(setting)
    assert problem
    assert "hunter2" not in problem
    if not setting.startswith("mbtiles:"):
        with pytest.raises(MapTilesError):
            open_tiles(setting, Path("/nonexistent-cache"))


@pytest.mark.parametrize(
    "setting",
    [
        "mbtiles:/srv/maps/county.mbtiles",
        "https://tiles.force.internal/{z}/{x}/{y}.png",
        "http://10.1.2.3:8080/osm/{z}/{x}/{y}.jpg",
    ],
)
def test_check_setting_accepts_usable_sources(setting: str) -> None:
    """In: an mbtiles path, an https and an http template. Out: no reason given."""
    assert check_setting(setting) is None


# -- MapService -------------------------------------------------------------------------


def test_no_map_section_means_a_grid_and_a_note(tmp_path: Path) -> None:
    """In: a config without [map]. Out: no tile url, the no-tiles note, no error, no
    centre (the map shows all the feeds once they report); start() and close() do
    nothing harmful."""
    service = MapService(parse("").map, BaseDir(tmp_path))
    service.start()
    view = service.view()
    assert view.tile_url == ""
    assert view.note == NO_TILES
    assert "No map tiles configured" in view.note
    assert view.centre is None
    assert view.zoom == MapSettings.zoom
    assert service.status() == {"tiles": None, "error": None}
    service.close()


def test_a_missing_mbtiles_file_is_named_in_the_note_and_status(tmp_path: Path) -> None:
    """In: [map] tiles naming an MBTiles file that does not exist. Out: nothing raises; no
    tile url; the note and status()["error"] name the file."""
    missing = tmp_path / "gone.mbtiles"
    service = MapService(MapSettings(tiles=f"mbtiles:{missing}"), BaseDir(tmp_path))
    service.start()
    view = service.view()
    assert view.tile_url == ""
    assert "gone.mbtiles" in view.note
    assert "coordinate grid" in view.note
    error = service.status()["error"]
    assert error
    assert "gone.mbtiles" in error
    assert service.status()["tiles"] == f"mbtiles:{missing}"
    service.close()


def test_a_good_mbtiles_file_is_served_on_loopback(county: Path, tmp_path: Path) -> None:
    """In: [map] tiles = mbtiles:county.mbtiles, no centre. Out: tile_url
    http://127.0.0.1:PORT/tiles/ serving the file's tiles, the centre and attribution from
    the file's metadata, no note; status counts the tile; close() stops the server."""
    settings = parse(f'[map]\ntiles = "mbtiles:{county}"\nzoom = 12\n').map
    service = MapService(settings, BaseDir(tmp_path))
    service.start()
    try:
        view = service.view()
        assert service.server is not None
        port = service.server.port
        assert view.tile_url == f"http://127.0.0.1:{port}/tiles/"
        assert view.note == ""
        assert view.attribution == "Test tiles drawn by the suite"
        assert view.centre == pytest.approx(YORK)
        assert view.zoom == 12.0
        zoom, x, y = york_tiles(12)[4]
        status, content_type, body = get(port, f"/tiles/{zoom}/{x}/{y}.png")
        assert (status, content_type, body) == (200, "image/png", tile_png(zoom, x, y))
        state = service.status()
        assert (state["error"], state["served"], state["source"]) == (None, 1, "Test county")
    finally:
        service.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((LOOPBACK, port), timeout=2).close()


def test_the_configured_centre_beats_the_files(county: Path, tmp_path: Path) -> None:
    """In: a good MBTiles file and [map] centre = [51.5, -0.12]. Out: the view's centre is
    the configured one."""
    settings = MapSettings(tiles=f"mbtiles:{county}", centre=(51.5, -0.12))
    service = MapService(settings, BaseDir(tmp_path))
    try:
        assert service.view().centre == (51.5, -0.12)
    finally:
        service.close()


def test_an_xyz_template_is_served_through_the_cache_under_the_base_dir(
    upstream: HttpServer, tmp_path: Path
) -> None:
    """In: [map] tiles = the upstream's template. Out: a loopback tile url whose tiles come
    from upstream and land in the base dir's map-cache; the source is upstream's host."""
    base = tmp_path / "base"
    service = MapService(MapSettings(tiles=xyz_template(upstream)), BaseDir(base))
    service.start()
    try:
        assert service.server is not None
        zoom, x, y = york_tiles(12)[6]
        status, _, body = get(service.server.port, f"/tiles/{zoom}/{x}/{y}.png")
        assert (status, body) == (200, tile_png(zoom, x, y))
        assert (base / "map-cache" / "tiles" / str(zoom) / str(x) / str(y)).is_file()
        assert service.status()["source"] == LOOPBACK
        assert service.view().note == ""
    finally:
        service.close()

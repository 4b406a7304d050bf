"""The config: a good file reads into feeds; each mistake names the file, the line and the key."""

from pathlib import Path

import pytest

from app.config import ConfigError, load, parse
from media.live.feed import FeedKind, RtspTransport

GOOD = """\
[wall]
layout = "1+5"

[gateway]
listen = "0.0.0.0:8443"

[[feeds]]
name = "BWV-4521"
kind = "bodycam"
url = "rtsp://127.0.0.1:8554/live"
username = "viewer"

[[feeds]]
name = "Roof"
url = "udp://127.0.0.1:5000"
rtsp_transport = "udp"
"""


def test_good_config_reads_feeds_and_layout(tmp_path: Path) -> None:
    path = tmp_path / "vigil.toml"
    path.write_text(GOOD)
    config = load(path)
    assert config.layout == "1+5"
    assert [f.name for f in config.feeds] == ["BWV-4521", "Roof"]
    assert config.feeds[0].kind is FeedKind.BODYCAM
    assert config.feeds[0].username == "viewer"
    assert config.feeds[1].kind is FeedKind.CAMERA, "kind defaults to camera"
    assert config.feeds[1].rtsp_transport is RtspTransport.UDP


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        (
            '[wall]\nlayout = "3x3"\n[[feeds]]\nname = "A"\nurl = "rtsp://u:hunter2@127.0.0.1/x"\n',
            5,
            "feeds[1].url",
            "keyring set vigil feed:A",
        ),
        (
            '[[feeds]]\nname = "A"\nkind = "helicopter"\nurl = "udp://127.0.0.1:1"\n',
            3,
            "feeds[1].kind",
            "'helicopter' is not one of",
        ),
        (
            '[[feeds]]\nname = "A"\nurl = "udp://127.0.0.1:1"\n\n[[feeds]]\nname = "B"\n',
            5,
            "feeds[2].url",
            "needs a url",
        ),
        (
            '[[feeds]]\nname = "A"\nurl = "udp://127.0.0.1:1"\n[[feeds]]\nname = "A"\nurl = "udp://127.0.0.1:2"\n',
            5,
            "feeds[2].name",
            "unique",
        ),
        ('[wall]\n\nlayout = "7+1"\n', 3, "wall.layout", "unknown layout"),
        ("[wall]\nscreens = 0\n", 2, "wall.screens", '"all"'),
        ('[wall]\nscreens = "both"\n', 2, "wall.screens", "1 to 16"),
        ("[wall]\nscreen = 2\n", 2, "wall.screen", "unknown wall setting"),
        (
            '[[feeds]]\nname = "A"\nurl = "udp://127.0.0.1:1"\nrul = "typo"\n',
            4,
            "feeds[1].rul",
            "unknown",
        ),
        ('[walls]\nlayout = "auto"\n', 1, "walls", "unknown setting"),
        ('[wall]\nlayout = "auto\n', 2, "syntax", ""),
        (
            '[[feeds]]\nname = "A"\nurl = "udp://127.0.0.1:1"\nloop = "yes"\n',
            4,
            "feeds[1].loop",
            "true or false",
        ),
    ],
)
def test_each_mistake_names_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, words: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    error = caught.value
    assert (error.path, error.line, error.key) == (path, line, key)
    assert str(error).startswith(f"{path}:{line}: {key}: ")
    assert words in str(error)


def test_a_password_in_a_url_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        parse('[[feeds]]\nname = "A"\nurl = "rtsp://u:hunter2@127.0.0.1/x"\n')
    assert "hunter2" not in str(caught.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No such file"):
        load(tmp_path / "absent.toml")


# -- [map] ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tiles",
    [
        "mbtiles:/srv/maps/north-yorkshire.mbtiles",
        "https://tiles.force.internal/{z}/{x}/{y}.png",
        "http://10.1.2.3:8080/osm/{z}/{x}/{y}.jpg",
    ],
)
def test_map_tiles_accepts_an_mbtiles_file_or_an_xyz_template(tiles: str) -> None:
    """In: [map] tiles as an mbtiles: path or an http(s) template, with centre and zoom.
    Out: MapSettings holding them as given (centre as floats)."""
    config = parse(f'[map]\ntiles = "{tiles}"\ncentre = [53.959, -1]\nzoom = 15\n')
    assert config.map.tiles == tiles
    assert config.map.centre == (53.959, -1.0)
    assert config.map.zoom == 15.0


def test_no_map_section_means_no_tiles() -> None:
    """In: a config without [map]. Out: no tiles, no centre, the default zoom."""
    from app.config import MapSettings

    settings = parse('[wall]\nlayout = "auto"\n').map
    assert (settings.tiles, settings.centre, settings.zoom) == (None, None, MapSettings.zoom)


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        ('[map]\ntiles = "ftp://tiles.example/{z}/{x}/{y}.png"\n', 2, "map.tiles", "http(s)"),
        (
            '[wall]\nlayout = "auto"\n\n[map]\nzoom = 12\ntiles = "https://t.internal/{z}/{x}.png"\n',
            6,
            "map.tiles",
            "lacks {y}",
        ),
        ('[map]\ntiles = "mbtiles:"\n', 2, "map.tiles", "needs a file path"),
        ('[map]\ntiles = "https://{s}.t.internal/{z}/{x}/{y}.png"\n', 2, "map.tiles", "{s}"),
        ("[map]\ntiles = 7\n", 2, "map.tiles", "must be text"),
        (
            '[map]\n\ntiles = "https://u:hunter2@t.internal/{z}/{x}/{y}.png"\n',
            3,
            "map.tiles",
            "user name or password",
        ),
        ("[map]\ncentre = [91, 0]\n", 2, "map.centre", "[latitude, longitude]"),
        ("[map]\nzoom = 12\ncentre = [53.9, -181]\n", 3, "map.centre", "[latitude, longitude]"),
        ("[map]\ncentre = [53.9]\n", 2, "map.centre", "[latitude, longitude]"),
        ('[map]\ncentre = "53.9,-1.08"\n', 2, "map.centre", "[latitude, longitude]"),
        ("[map]\ncentre = [true, 0]\n", 2, "map.centre", "[latitude, longitude]"),
        ("[map]\nzoom = 0\n", 2, "map.zoom", "from 1"),
        ("[map]\nzoom = true\n", 2, "map.zoom", "from 1"),
        ('[map]\nzoom = "14"\n', 2, "map.zoom", "a number"),
        ("[map]\nzoom = 14\ncenter = [53.9, -1.08]\n", 3, "map.center", "unknown map setting"),
    ],
)
def test_each_map_mistake_names_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, words: str
) -> None:
    """In: a [map] with a bad tiles source, centre out of range or not a pair, zoom 0 or
    true or text, an unknown key. Out: ConfigError naming the file, the line and map.KEY."""
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    error = caught.value
    assert (error.path, error.line, error.key) == (path, line, key)
    assert str(error).startswith(f"{path}:{line}: {key}: ")
    assert words in str(error)
    assert "hunter2" not in str(error)


def test_map_must_be_a_table() -> None:
    """In: map = "york". Out: ConfigError on key map."""
    with pytest.raises(ConfigError) as caught:
        parse('map = "york"\n')
    assert (caught.value.key, caught.value.line) == ("map", 1)


def test_wall_screens_all_a_number_or_one_by_default() -> None:
    """`[wall] screens`: "all" → None (every screen), 3 → 3, absent → 1 (the primary)."""
    assert parse('[wall]\nscreens = "all"\n').screens is None
    assert parse("[wall]\nscreens = 3\n").screens == 3
    assert parse('[wall]\nlayout = "auto"\n').screens == 1

"""The config: a good file reads into feeds; each mistake names the file, the line and the key."""

from pathlib import Path

import pytest

from app.config import ConfigError, load, parse
from media.feed import FeedKind, RtspTransport

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

"""A feed's `substream_url` in the config: read as the README writes it, and each mistake
refused naming the key, without echoing a password."""

from __future__ import annotations

import pytest

from app.config import ConfigError, parse

FEED = '[[feeds]]\nname = "Gate"\nurl = "rtsp://10.1.2.3:554/live"\nusername = "viewer"\n'


def test_a_substream_url_is_read_with_the_feed() -> None:
    """In: a feed with url, username and substream_url (as in the README). Out: its spec
    holds the sub-stream's URL; a feed without one has None."""
    config = parse(FEED + 'substream_url = "rtsp://10.1.2.3:554/sub"\n')
    assert config.feeds[0].substream_url == "rtsp://10.1.2.3:554/sub"
    assert config.feeds[0].username == "viewer"
    assert parse(FEED).feeds[0].substream_url is None


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('""', "sub-stream's URL"),
        ("5", "sub-stream's URL"),
        ('"rtsp://viewer:hunter2@10.1.2.3/sub"', "keyring"),
        ('"srt://10.1.2.3:9000"', "network stream"),
        ('"/srv/clips/gate.ts"', "network stream"),
    ],
)
def test_a_bad_substream_url_is_refused_naming_the_key(value: str, says: str) -> None:
    """In: an empty or non-text substream_url, one with a password, an SRT one and a file.
    Out: ConfigError on feeds[0].substream_url saying what to do; no password echoed."""
    with pytest.raises(ConfigError) as caught:
        parse(FEED + f"substream_url = {value}\n")
    message = str(caught.value)
    assert "substream_url" in message
    assert says in message
    assert "hunter2" not in message

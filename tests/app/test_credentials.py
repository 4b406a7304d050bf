"""Feed passwords: from the keyring (service "vigil", user "feed:NAME") to the camera, and
nowhere else.

The keyring is a private Secret Service (dbus-daemon and gnome-keyring-daemon started in a
temporary folder by the `secret_service` fixture), the camera a GStreamer RTSP server on
loopback that demands basic authentication.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
import secretstorage

from app.config import Config, ConfigError, parse
from app.feeds.service import with_password
from app.feeds.status import feed_status
from app.instance import Instance
from app.logs import setup_logging
from app.paths import BaseDir
from media.live.feed import FeedState
from tests.servers import RtspServer, wait_for

FEED = "CAM-1"
USER = "viewer"
PASSWORD = "c0rrect:horse@b#tt/ery 5taple%"
"""Characters a URL must escape, so a leak in either form would show."""
SECRET_FORMS = (PASSWORD, urllib.parse.quote(PASSWORD, safe=""), urllib.parse.quote(PASSWORD))


def config_for(url: str, *, username: str | None = USER) -> Config:
    user_line = f'username = "{username}"\n' if username else ""
    return parse(
        f'[[feeds]]\nname = "{FEED}"\nkind = "bodycam"\nurl = "{url}"\n{user_line}'
        'rtsp_transport = "tcp"\n'
    )


def assert_no_secret(text: str, where: str) -> None:
    for form in SECRET_FORMS:
        assert form not in text, f"the password appears in {where}"


@pytest.fixture(scope="module")
def camera() -> Iterator[RtspServer]:
    """An RTSP camera on loopback that answers only viewer / PASSWORD."""
    with RtspServer(user=USER, password=PASSWORD) as server:
        yield server


@pytest.fixture
def instance_logging(tmp_path: Path) -> Iterator[BaseDir]:
    """A base dir under tmp with the instance's own logging into it (DEBUG, to log the most),
    undone afterwards so later tests see the logging they had."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    hooks = sys.excepthook, threading.excepthook
    base = BaseDir(tmp_path / "base").ensure()
    setup_logging(base, verbose=True)
    yield base
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    sys.excepthook, threading.excepthook = hooks


def test_password_comes_from_the_keyring_into_the_spec_only(secret_service) -> None:
    """In: a password stored with keyring under ("vigil", "feed:CAM-1"); a config with a
    username and no password.
    Out: with_password gives the FeedSpec that password; neither the config nor the
    spec's repr shows it."""
    keyring.set_password("vigil", f"feed:{FEED}", PASSWORD)
    config = config_for("rtsp://127.0.0.1:8554/live")
    spec = with_password(config.feeds[0])
    assert (spec.username, spec.password) == (USER, PASSWORD)
    assert spec.url == "rtsp://127.0.0.1:8554/live"
    assert_no_secret(repr(spec), "the spec's repr")
    assert_no_secret(repr(config), "the config's repr")
    # It really is in the private Secret Service, where keyring put it.
    assert os.environ["DBUS_SESSION_BUS_ADDRESS"].startswith(f"unix:path={secret_service.root}")
    connection = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(connection)
        items = list(collection.search_items({"service": "vigil", "username": f"feed:{FEED}"}))
        assert [item.get_secret() for item in items] == [PASSWORD.encode()]
    finally:
        connection.close()


@pytest.mark.network
def test_feed_with_its_keyring_password_goes_live_and_the_secret_leaks_nowhere(
    secret_service, camera: RtspServer, instance_logging: BaseDir, caplog
) -> None:
    """In: the camera's password in the keyring, a config naming only the user, and an
    instance run with a base dir under tmp and DEBUG logging into it.
    Out: the feed is LIVE; the password is in none of: the spec's repr, feed_status and
    the instance's status JSON, the log records, any file under the base dir."""
    caplog.set_level(logging.DEBUG)
    keyring.set_password("vigil", f"feed:{FEED}", PASSWORD)
    config = config_for(camera.url)
    instance = Instance(config, demo=False, base=instance_logging)
    feed = instance.feeds.feeds[0]
    instance.start()
    try:
        wait_for(lambda: feed.state() is FeedState.LIVE, 8, f"LIVE (is {feed.connection})")
        wait_for(lambda: feed.stats.frames >= 5, 3, "frames")
        assert feed.spec.password == PASSWORD
        status = feed_status(feed)
        assert status["state"] == "live"
        assert (status["width"], status["height"], status["codec"]) == (320, 240, "h264")
        assert_no_secret(repr(feed.spec), "the spec's repr")
        assert_no_secret(repr(feed), "the feed's repr")
        assert_no_secret(json.dumps(status), "feed_status")
        assert_no_secret(json.dumps(instance.status()), "the instance status")
    finally:
        instance.stop()
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert caplog.records, "the instance logged nothing: this test would prove nothing"
    for record in caplog.records:
        assert_no_secret(record.getMessage(), f"the log record {record.getMessage()!r}")
    files = [path for path in instance_logging.root.rglob("*") if path.is_file()]
    assert any(path.name == "vigil.log" and path.stat().st_size for path in files)
    for path in files:
        assert_no_secret(path.read_bytes().decode("utf-8", "replace"), str(path))


@pytest.mark.network
@pytest.mark.parametrize("stored", ["wrong-password", None], ids=["wrong", "missing"])
def test_wrong_or_missing_password_is_refused_by_the_camera(
    secret_service, camera: RtspServer, start_feed, caplog, stored: str | None
) -> None:
    """In: a wrong password in the keyring, or none at all, for a feed with a username.
    Out: never LIVE; RECONNECTING with a 401 / unauthorized error (which FFmpeg raises with
    the URL, credentials and all: the wrong password must not reach the logs either); when
    none is stored, a warning names the feed and the command that stores one."""
    caplog.set_level(logging.DEBUG)
    if stored is not None:
        keyring.set_password("vigil", f"feed:{FEED}", stored)
    spec = with_password(config_for(camera.url).feeds[0])
    assert spec.password == stored
    source = start_feed(spec, open_timeout_s=2.0)
    feed = source.feed
    wait_for(lambda: feed.state() is FeedState.RECONNECTING, 5, f"refusal ({feed.connection})")
    error = (feed.connection.error or "").lower()
    assert "401" in error or "unauthorized" in error, feed.connection
    assert feed.stats.frames == 0
    if stored is None:
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert any(FEED in m and f"keyring set vigil feed:{FEED}" in m for m in warnings)
    else:
        assert stored not in caplog.text
        assert stored not in (feed.connection.error or "")


def test_a_config_url_holding_a_password_is_refused_with_the_keyring_command() -> None:
    """In: a config whose feed URL carries user:password on line 4.
    Out: parse raises ConfigError naming line 4 and feeds[1].url, telling to use
    `keyring set vigil feed:CAM-1`, without repeating the password."""
    text = (
        "[wall]\n"
        'layout = "auto"\n'
        "[[feeds]]\n"
        f'url = "rtsp://{USER}:hunter2@127.0.0.1:8554/live"\n'
        f'name = "{FEED}"\n'
    )
    with pytest.raises(ConfigError) as raised:
        parse(text, Path("vigil.toml"))
    message = str(raised.value)
    assert raised.value.line == 4
    assert message.startswith("vigil.toml:4: feeds[1].url: ")
    assert f"keyring set vigil feed:{FEED}" in message
    assert "hunter2" not in message

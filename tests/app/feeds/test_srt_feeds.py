"""SRT feeds as the application sets them up: the config's URL check, the passphrase from
the keyring, and the refusal on a machine without srt-live-transmit.

The keyring is the private Secret Service of the `secret_service` fixture; the sender is
ffmpeg's own libsrt output on loopback (tests/servers.py's `SrtSender`).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import keyring
import pytest

from app.config import ConfigError, parse
from app.feeds.service import FeedService, with_password
from app.feeds.status import feed_status
from media.live import FeedState
from tests.servers import SrtSender, free_port, wait_for

PASSPHRASE = "drone-4521-secret"


def feed_config(url: str, name: str = "DRONE-1") -> str:
    return f'[[feeds]]\nname = "{name}"\nkind = "drone"\nurl = "{url}"\n'


@pytest.mark.parametrize(
    ("url", "said"),
    [
        (f"srt://10.1.2.3:9000?passphrase={PASSPHRASE}", "keyring set vigil feed:DRONE-1"),
        ("srt://10.1.2.3", "needs a port"),
        ("srt://10.1.2.3:9000?mode=rendezvous", "use mode=caller or mode=listener"),
        ("srt://:9000?mode=caller", "a caller needs the sender's host"),
    ],
    ids=["passphrase-in-url", "no-port", "rendezvous", "caller-without-host"],
)
def test_the_config_check_refuses_a_bad_srt_url(url: str, said: str) -> None:
    """In: a [[feeds]] url that is srt:// but holds the passphrase, has no port, asks for a
    mode other than caller or listener, or is a caller with no host.
    Out: ConfigError at feeds[1].url saying what to do; the passphrase is not echoed."""
    with pytest.raises(ConfigError) as caught:
        parse(feed_config(url))
    message = str(caught.value)
    assert "feeds[1].url" in message, message
    assert said in message, message
    assert PASSPHRASE not in message


@pytest.mark.parametrize(
    "url", ["srt://10.1.2.3:9000", "srt://:9000?mode=listener", "srt://:9000?latency=200"]
)
def test_the_config_check_accepts_caller_and_listener(url: str) -> None:
    """In: srt:// URLs for caller and listener modes, with SRT options.
    Out: parsed as written (the URL is kept as it is, for the relay and `vigil status`)."""
    assert parse(feed_config(url)).feeds[0].url == url


def test_without_srt_live_transmit_an_srt_feed_is_refused_with_the_reason(
    monkeypatch, tmp_path: Path, caplog
) -> None:
    """In: a machine with no srt-live-transmit on PATH; an srt:// feed beside a udp:// one.
    Out: the SRT feed is FAILED at once with "apt-get install srt-tools", in `vigil status`
    and the log; it is never tried; the other feed's source is made and started as usual."""
    monkeypatch.setenv("PATH", str(tmp_path))
    config = parse(
        feed_config("srt://127.0.0.1:9000") + feed_config("udp://127.0.0.1:9", name="CAM-1")
    )
    with caplog.at_level(logging.ERROR, logger="app.feeds.service"):
        service = FeedService(config.feeds)
    drone, camera = service.feeds
    try:
        service.start()
        status = feed_status(drone)
        assert status["state"] == "failed"
        assert "apt-get install srt-tools" in drone.connection.error
        assert "apt-get install srt-tools" in caplog.text
        assert camera.state() is not FeedState.FAILED
    finally:
        service.stop()
    assert drone.state() is FeedState.FAILED


def test_no_passphrase_stored_means_an_unencrypted_link_and_no_warning(
    secret_service, caplog
) -> None:
    """In: an srt:// feed with nothing in the keyring under feed:NAME.
    Out: with_password gives no passphrase and logs no warning (many SRT links have none)."""
    spec = parse(feed_config("srt://127.0.0.1:9000")).feeds[0]
    with caplog.at_level(logging.WARNING):
        assert with_password(spec).password is None
    assert not caplog.records


def test_the_passphrase_comes_from_the_keyring_and_the_feed_goes_live(
    secret_service, caplog
) -> None:
    """In: the passphrase stored with keyring under ("vigil", "feed:DRONE-1"); a config
    whose feed is `srt://127.0.0.1:PORT` with no passphrase in it; an SRT sender listening
    there that demands that passphrase.
    Out: the service's feed goes live; its `vigil status` url is the configured one, and
    the passphrase is in neither the status nor the log (DEBUG)."""
    if shutil.which("srt-live-transmit") is None:  # make test installs it: fail, never skip
        pytest.fail("srt-live-transmit is not installed (make test installs srt-tools)")
    caplog.set_level(logging.DEBUG)
    keyring.set_password("vigil", "feed:DRONE-1", PASSPHRASE)
    port = free_port()
    sender = SrtSender(port, "listener", PASSPHRASE).start()
    service = FeedService([with_password(spec) for spec in parse(feed_config(
        f"srt://127.0.0.1:{port}")).feeds])  # fmt: skip
    feed = service.feeds[0]
    feed.set_display_size(320, 180)
    try:
        service.start()
        wait_for(lambda: feed.state() is FeedState.LIVE and feed.stats.frames > 5, 15.0, "live")
        status = feed_status(feed)
        assert status["url"] == f"srt://127.0.0.1:{port}"
        assert PASSPHRASE not in repr(status)
        assert PASSPHRASE not in caplog.text
    finally:
        service.stop()
        sender.stop()

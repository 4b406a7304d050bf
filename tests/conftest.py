"""Fixtures shared by the whole suite.

Qt runs on the offscreen platform (set before any Qt import) with two virtual screens side
by side (tests/screens.json), so the supervisor's wall can be tested across screens; pytest-qt
supplies one session-wide QApplication, and Qt warnings fail tests (pyproject.toml lists the
ignored ones).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

SCREENS = Path(__file__).with_name("screens.json")
"""Two 1920x1080 screens, WALL-1 (primary, at 0,0) and WALL-2 to its right."""
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={SCREENS}"
# The map is a Qt Quick scene: with no GPU, Qt Quick renders in software.
os.environ.setdefault("QT_QUICK_BACKEND", "software")


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temporary folder with a short path: a Unix socket path must stay under 104 bytes."""
    path = Path(tempfile.mkdtemp(prefix="vigil-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# Real servers on loopback and a private Secret Service (helpers in tests/servers.py).
# Imports stay inside the fixtures so this block is self-contained and costs nothing to
# tests that do not use it.
# ---------------------------------------------------------------------------------------


@pytest.fixture
def start_feed():
    """A factory: `start_feed(url, **spec_fields, open_timeout_s=2, read_timeout_s=2)` (or
    `start_feed(spec)`) starts a `FeedSource` (its feed shown at 320x180, so pictures are
    made) and returns it; every source is stopped after the test, and a decode thread that
    does not end fails it."""
    from media.live.backoff import Backoff
    from media.live.feed import Feed, FeedKind, FeedSpec
    from media.live.source import FeedSource

    sources: list[FeedSource] = []

    def start(
        url_or_spec: str | FeedSpec,
        *,
        name: str | None = None,
        open_timeout_s: float = 2.0,
        read_timeout_s: float = 2.0,
        backoff: Backoff | None = None,
        display: tuple[int, int] = (320, 180),
        **spec: object,
    ) -> FeedSource:
        if isinstance(url_or_spec, FeedSpec):
            feed = Feed(url_or_spec)
        else:
            name = name or f"TEST-{len(sources) + 1}"
            feed = Feed(FeedSpec(name, FeedKind.CAMERA, url_or_spec, **spec))
        feed.set_display_size(*display)
        source = FeedSource(
            feed, open_timeout_s=open_timeout_s, read_timeout_s=read_timeout_s, backoff=backoff
        )
        sources.append(source)
        source.start()
        return source

    yield start
    for source in sources:
        source.stop(timeout_s=0)
    for source in sources:
        source.stop(timeout_s=6.0)
    hung = [source.feed.name for source in sources if source.running]
    assert not hung, f"decode threads still running after stop(): {hung}"


@pytest.fixture(scope="session")
def rtsp_server():
    """One GStreamer RTSP server for the session: rtsp://127.0.0.1:PORT/live, H.264 320x240
    at 15 fps over TCP or UDP. Tests that stop or break a server start their own."""
    from tests.servers import RtspServer

    with RtspServer() as server:
        yield server


@pytest.fixture(scope="session")
def secret_service_daemons():
    """dbus-daemon and gnome-keyring-daemon of our own, in a temporary folder, for the
    session. Nothing here changes this process's environment; `secret_service` does."""
    from tests.servers import SecretService

    root = Path(tempfile.mkdtemp(prefix="vigil-ss-", dir="/tmp"))  # a bus socket path is short
    service = SecretService(root).start()
    yield service
    service.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def secret_service(secret_service_daemons, monkeypatch):
    """For one test: keyring talks to the private Secret Service and nothing else.

    The bus address and the XDG folders point into the private folder, and keyring's
    backend is set explicitly (no discovery, so the user's own keyring is never asked).
    Afterwards the environment and keyring's backend are as before and what the test stored
    is deleted."""
    import keyring
    import keyring.core
    from keyring.backends.SecretService import Keyring as SecretServiceKeyring

    for name, value in secret_service_daemons.env.items():
        monkeypatch.setenv(name, value)
    # keyring keeps its backend in a module global; record it so monkeypatch puts it back.
    monkeypatch.setattr(keyring.core, "_keyring_backend", keyring.core._keyring_backend)
    keyring.set_keyring(SecretServiceKeyring())
    yield secret_service_daemons
    import secretstorage

    connection = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(connection)
        for item in collection.search_items({"service": "vigil"}):
            item.delete()
    finally:
        connection.close()

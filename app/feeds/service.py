"""The feeds an instance shows: from the config (or the demo), and callers as they come.

`FeedService` owns the sources (decode threads, WebRTC receivers); the window only reads
the `Feed` models, and hears through `added` and `removed` when the set changes.

An srt:// feed is refused here, not in the config check, while srt-live-transmit is not
installed: the config file is shared by `vigil run`, `vigil server`, desks and every command,
and must read the same on each, but only the machine that pulls the feed needs the tool.
The refusal costs that one feed (FAILED, with the reason on its tile, in `vigil status` and
in the log), never the wall: the other feeds still come up.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from typing import Protocol

import keyring
import keyring.errors

from app.config import SECRET_SERVICE, secret_user
from app.credentials import feed_password
from media.live import Connection, Feed, FeedSource, FeedSpec, FeedState, is_srt, srt_missing

log = logging.getLogger(__name__)


def with_password(spec: FeedSpec) -> FeedSpec:
    """The configured feed, with its password from the keyring when it has a username, or
    its SRT passphrase (the same keyring entry) when it is an srt:// feed."""
    if is_srt(spec.url):
        return dataclasses.replace(spec, password=srt_passphrase(spec.name))
    if not spec.username:
        return spec
    return dataclasses.replace(spec, password=feed_password(spec.name))


def srt_passphrase(feed_name: str) -> str | None:
    """The SRT feed's passphrase, or None for an unencrypted one. Asked quietly: many SRT
    links have no passphrase, and one that needs it says so on the tile when refused."""
    try:
        secret: str | None = keyring.get_password(SECRET_SERVICE, secret_user(feed_name))
    except keyring.errors.KeyringError as exc:
        log.error("feed %s: the keyring could not be read (%s)", feed_name, type(exc).__name__)
        return None
    return secret


class _Refused:
    """The source of a feed this machine cannot pull: it never starts."""

    def start(self) -> None:
        pass

    def stop(self, timeout_s: float = 0) -> None:
        pass


class Source(Protocol):
    def start(self) -> None: ...

    def stop(self, timeout_s: float = ...) -> None: ...


class FeedService:
    def __init__(self, specs: Iterable[FeedSpec] = ()) -> None:
        self.feeds: list[Feed] = []
        self._sources: dict[Feed, Source] = {}
        self._running = False
        self.added: list[Callable[[Feed], None]] = []
        """Called with each feed added after construction (callers)."""
        self.removed: list[Callable[[Feed], None]] = []
        for number, spec in enumerate(specs, start=1):
            feed = Feed(spec, feed_id=f"feed-{number}")
            self.feeds.append(feed)
            refused = srt_missing() if is_srt(spec.url) else None
            if refused is not None:
                log.error("feed %s refused: %s", spec.name, refused)
                feed.set_connection(Connection(FeedState.FAILED, refused))
                self._sources[feed] = _Refused()
                continue
            self._sources[feed] = FeedSource(feed)

    def start(self) -> None:
        self._running = True
        for source in self._sources.values():
            source.start()
        log.info("started %d feeds", len(self._sources))

    def stop(self) -> None:
        self._running = False
        for source in self._sources.values():
            source.stop(timeout_s=0)
        for source in self._sources.values():
            source.stop(timeout_s=0.5)

    def find(self, feed_id: str) -> Feed | None:
        return next((feed for feed in self.feeds if feed.id == feed_id), None)

    def source(self, feed: Feed) -> Source | None:
        """The feed's source (recording taps a WebRTC source's frames)."""
        return self._sources.get(feed)

    def add(self, feed: Feed, source: Source) -> None:
        """Show a new feed, started at once if the service runs."""
        self.feeds.append(feed)
        self._sources[feed] = source
        if self._running:
            source.start()
        log.info("feed %s added (%s)", feed.name, feed.kind.value)
        for listener in self.added:
            listener(feed)

    def remove(self, feed: Feed) -> None:
        """Stop a feed's source and drop it (an ended caller the operator has dismissed)."""
        source = self._sources.pop(feed, None)
        if source is None:
            return
        self.feeds.remove(feed)
        source.stop(timeout_s=0.5)
        log.info("feed %s removed", feed.name)
        for listener in self.removed:
            listener(feed)

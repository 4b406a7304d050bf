"""The feeds an instance shows: built from the config (or the demo), each with its source.

`FeedService` owns the decode threads; the window only reads the `Feed` models.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable

from app.credentials import feed_password
from media.feed import Feed, FeedSpec
from media.source import FeedSource

log = logging.getLogger(__name__)


def with_password(spec: FeedSpec) -> FeedSpec:
    """The configured feed, with its password from the keyring when it has a username."""
    if not spec.username:
        return spec
    return dataclasses.replace(spec, password=feed_password(spec.name))


class FeedService:
    def __init__(self, specs: Iterable[FeedSpec]) -> None:
        self.feeds: list[Feed] = []
        self._sources: list[FeedSource] = []
        for number, spec in enumerate(specs, start=1):
            feed = Feed(spec, feed_id=f"feed-{number}")
            self.feeds.append(feed)
            self._sources.append(FeedSource(feed))

    def start(self) -> None:
        for source in self._sources:
            source.start()
        log.info("started %d feeds", len(self._sources))

    def stop(self) -> None:
        for source in self._sources:
            source.stop(timeout_s=0)
        for source in self._sources:
            source.stop(timeout_s=0.5)

"""Evidence recording for a running instance: every feed's packets into closed, hashed,
chained segments under `<base>/recordings/<feed>/`.

At start it first accounts for what a crash left (app/recovery.py: partial segments to
quarantine, closed ones entered, the newest entries re-checked), then gives each feed a
`Recorder` (media/recorder.py) whose closed segments go into the ledger
(app/ledger.py) as they close. The ledger is written from the recorders' own threads,
each with its own SQLite connection: nothing here runs on the GUI thread.

WebRTC callers reach the wall as decoded frames, not packets, so they are not recorded
yet (they need an encode; see the evidence issue).
"""

from __future__ import annotations

import functools
import logging
import threading
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlite_utils

from app.custody import CustodyLog
from app.database import open_database
from app.ledger import SegmentLedger
from app.paths import BaseDir
from app.recovery import RecoveryReport, recover
from media.feed import Feed, FeedKind
from media.recorder import Recorder
from media.segment import SegmentInfo

log = logging.getLogger(__name__)

RECORDED_KINDS = frozenset(
    {FeedKind.BODYCAM, FeedKind.OFFICER, FeedKind.DRONE, FeedKind.CAMERA, FeedKind.CALLER}
)


def feed_folder(feed_name: str) -> str:
    """The folder a feed's segments go in: its name, percent-encoded so any name is one
    safe path component and recovery can read the name back (`unquote`)."""
    return urllib.parse.quote(feed_name, safe=" -_.,()·")


class RecordingService:
    def __init__(
        self,
        base: BaseDir,
        feeds: Callable[[], list[Feed]],
        *,
        kinds: frozenset[FeedKind] = RECORDED_KINDS,
    ) -> None:
        self.base = base
        self.root = base.recordings
        self._feeds = feeds
        self._kinds = kinds
        self._recorders: dict[Feed, Recorder] = {}
        self._local = threading.local()
        self._errors: list[str] = []
        self._lock = threading.Lock()
        self.recovery: RecoveryReport | None = None

    def start(self) -> None:
        """Recover what a crash left, then record every feed of a recorded kind."""
        self.root.mkdir(parents=True, exist_ok=True)
        db = open_database(self.base.database)
        try:
            ledger = SegmentLedger(db, self.root)
            self.recovery = recover(self.root, ledger, custody=CustodyLog(db))
        finally:
            db.close()
        for feed in self._feeds():
            self.add(feed)

    def add(self, feed: Feed) -> None:
        if feed.kind not in self._kinds or feed in self._recorders:
            return
        if feed.spec.url.startswith("webrtc:"):
            return  # decoded frames only: nothing to stream-copy
        recorder = Recorder(
            self.root / feed_folder(feed.name),
            feed.name,
            on_closed=self._closed,
            on_error=functools.partial(self._failed, feed.name),
        )
        recorder.attach(feed)
        self._recorders[feed] = recorder

    def remove(self, feed: Feed) -> None:
        recorder = self._recorders.pop(feed, None)
        if recorder is not None:
            recorder.stop()

    def stop(self) -> None:
        for recorder in self._recorders.values():
            recorder.stop(timeout_s=0.5)
        self._recorders.clear()

    def _ledger(self) -> SegmentLedger:
        # One connection per recorder thread: sqlite3 connections belong to their thread.
        ledger: SegmentLedger | None = getattr(self._local, "ledger", None)
        if ledger is None:
            db: sqlite_utils.Database = open_database(self.base.database)
            ledger = SegmentLedger(db, self.root)
            self._local.ledger = ledger
        return ledger

    def _closed(self, info: SegmentInfo) -> None:
        try:
            self._ledger().add(
                info.feed,
                info.sequence,
                info.path,
                info.started_at,
                info.ended_at,
                duration_s=info.duration_s,
                note="; ".join(info.notes) or None,
                expected_sha256=info.sha256,
            )
        except Exception as exc:  # the segment is on disk; recovery enters it next start
            self._failed(info.feed, f"could not enter {Path(info.path).name} in the ledger: {exc}")

    def _failed(self, feed_name: str, message: str) -> None:
        log.error("recording %s stopped: %s", feed_name, message)
        with self._lock:
            self._errors.append(f"{feed_name}: {message}")

    def status(self) -> dict[str, Any]:
        feeds = {}
        for feed, recorder in list(self._recorders.items()):
            stats = recorder.stats()
            feeds[feed.name] = {
                "recording": stats.recording,
                "segments": stats.segments_closed,
                "bytes": stats.bytes_written,
                "behind_s": round(stats.behind_s, 2),
                "dropped": stats.packets_dropped,
                "error": stats.last_error,
            }
        with self._lock:
            errors = list(self._errors)
        return {
            "folder": str(self.root),
            "feeds": feeds,
            "errors": errors,
            "recovery": self.recovery.summary() if self.recovery else None,
        }

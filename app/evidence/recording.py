"""Evidence recording for a running instance: every recorded feed into closed, hashed,
chained segments under `<base>/recordings/<feed>/`, and old ones retired.

At start it first accounts for what a crash left (app/evidence/recovery.py: partial segments to
quarantine, closed ones entered, the newest entries re-checked), then gives each feed
whose kind the policy records (app/config/recording.py) a `Recorder`
(media/recording/recorder.py) whose closed segments go into the ledger (app/evidence/ledger.py) as
they close. The ledger is written from the recorders' own threads, each with its own SQLite
connection: nothing here runs on the GUI thread. Retention (app/evidence/retention.py) then runs on
its own thread, at start and hourly.

A PyAV source hands its recorder packets. A WebRTC caller's source has only decoded
frames, so its recorder is fed by an encoder (media/recording/caller_recorder.py) tapping the
source's frames; frames only flow once the caller has agreed (app/callers/gateway/desk.py refuses
the media session before), so nothing of a caller is recorded before consent.

`status()` says for each feed whether it is recorded, and if not, why; a recorder that a
passing I/O error interrupted (the process out of file descriptors) says `retrying` and
records again from the next key frame, while a full disk stops it for good (`error`).
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

from app.config import RecordingPolicy
from app.database import open_database
from app.evidence.custody import CustodyLog
from app.evidence.ledger import SegmentLedger
from app.evidence.recovery import RecoveryReport, recover
from app.evidence.retention import RetentionService
from app.paths import BaseDir
from media.live import Feed
from media.live.webrtc import WebRtcSource
from media.recording import CallerRecorder, Recorder, SegmentInfo

log = logging.getLogger(__name__)

WEBRTC_SCHEME = "webrtc:"


def feed_folder(feed_name: str) -> str:
    """The folder a feed's segments go in: its name, percent-encoded so any name is one
    safe path component and recovery can read the name back (`unquote`)."""
    return urllib.parse.quote(feed_name, safe=" -_.,()·")


class RecordingService:
    """Records the feeds `feeds()` lists and those `add`ed later, as `policy` says.
    `sources(feed)` finds a feed's source, so a WebRTC caller's frames can be tapped; a
    WebRTC feed whose source it cannot find is not recordable."""

    def __init__(
        self,
        base: BaseDir,
        feeds: Callable[[], list[Feed]],
        *,
        policy: RecordingPolicy | None = None,
        sources: Callable[[Feed], object | None] | None = None,
    ) -> None:
        self.base = base
        self.root = base.recordings
        self.policy = policy or RecordingPolicy()
        self._feeds = feeds
        self._sources = sources
        self._recorders: dict[Feed, Recorder] = {}
        self._encoders: dict[Feed, tuple[CallerRecorder, WebRtcSource]] = {}
        self._not_recorded: dict[Feed, str] = {}
        self._local = threading.local()
        self._errors: list[str] = []
        self._lock = threading.Lock()
        self.recovery: RecoveryReport | None = None
        self.retention = RetentionService(base, self.policy.keep_days)

    def start(self) -> None:
        """Recover what a crash left, record every feed the policy names, start retention."""
        self.root.mkdir(parents=True, exist_ok=True)
        db = open_database(self.base.database)
        try:
            ledger = SegmentLedger(db, self.root)
            self.recovery = recover(self.root, ledger, custody=CustodyLog(db))
        finally:
            db.close()
        for feed in self._feeds():
            self.add(feed)
        self.retention.start()  # after recovery: orphans are in the ledger by now

    def add(self, feed: Feed) -> None:
        if feed in self._recorders or feed in self._not_recorded:
            return
        if not self.policy.records(feed.kind):
            self._not_recorded[feed] = f"not recorded: [recording] kinds leaves out {feed.kind}"
            return
        tap: WebRtcSource | None = None
        if feed.spec.url.startswith(WEBRTC_SCHEME):
            source = self._sources(feed) if self._sources is not None else None
            if not isinstance(source, WebRtcSource):
                self._not_recorded[feed] = "not recordable: its decoded frames cannot be reached"
                return
            tap = source
        recorder = Recorder(
            self.root / feed_folder(feed.name),
            feed.name,
            segment_s=self.policy.segment_s,
            on_closed=self._closed,
            on_error=functools.partial(self._failed, feed.name),
        )
        if tap is None:
            recorder.attach(feed)
        else:  # a caller: frames in, encoded once, packets into the recorder
            recorder.attach(feed, packets=False)
            encoder = CallerRecorder(recorder)
            tap.frame_sink = encoder
            self._encoders[feed] = (encoder, tap)
        self._recorders[feed] = recorder

    def remove(self, feed: Feed) -> None:
        self._not_recorded.pop(feed, None)
        recorder = self._recorders.pop(feed, None)
        encoding = self._encoders.pop(feed, None)
        if encoding is not None:
            encoder, source = encoding
            if source.frame_sink is encoder:
                source.frame_sink = None
            encoder.stop()  # flushes the encoder, then stops its recorder
        elif recorder is not None:
            recorder.stop()

    def stop(self) -> None:
        self.retention.stop()
        for encoder, source in self._encoders.values():
            source.frame_sink = None
            encoder.stop(timeout_s=0.5)
        for feed, recorder in self._recorders.items():
            if feed not in self._encoders:
                recorder.stop(timeout_s=0.5)
        self._recorders.clear()
        self._encoders.clear()

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
        feeds: dict[str, dict[str, Any]] = {}
        for feed, reason in list(self._not_recorded.items()):
            feeds[feed.name] = {"recorded": False, "why_not": reason, "recording": False}
            feeds[feed.name].update(segments=0, bytes=0)
        for feed, recorder in list(self._recorders.items()):
            stats = recorder.stats()
            feeds[feed.name] = {
                "recorded": True,
                "why_not": None,
                "recording": stats.recording,
                "segments": stats.segments_closed,
                "bytes": stats.bytes_written,
                "behind_s": round(stats.behind_s, 2),
                "dropped": stats.packets_dropped,
                "error": stats.last_error,
                # An error that may pass (out of descriptors): it retries at each key frame.
                "retrying": stats.retrying,
                "interruptions": stats.interruptions,
                "last_interruption": stats.last_interruption,
            }
            encoding = self._encoders.get(feed)
            if encoding is not None:
                feeds[feed.name]["encoder"] = encoder_status(encoding[0])
        with self._lock:
            errors = list(self._errors)
        return {
            "folder": str(self.root),
            "policy": {
                "kinds": sorted(k.value for k in self.policy.kinds),
                "segment_seconds": self.policy.segment_s,
                "keep_days": self.policy.keep_days,
            },
            "feeds": feeds,
            "errors": errors,
            "recovery": self.recovery.summary() if self.recovery else None,
            "retention": self.retention.status(),
        }


def encoder_status(encoder: CallerRecorder) -> dict[str, Any]:
    """A caller's encoder as `vigil status` shows it: what it took, shed and cost."""
    stats = encoder.stats()
    return {
        "size": f"{stats.width}x{stats.height}" if stats.width else None,
        "frames_in": stats.frames_in,
        "frames_encoded": stats.frames_encoded,
        "frames_shed": stats.frames_shed,
        "frames_invalid": stats.frames_invalid,
        "sessions": stats.sessions,
        "cpu_s": round(stats.encode_cpu_s, 3),
        "cpu_per_video_s": round(stats.encode_cpu_s / stats.encoded_s, 4)
        if stats.encoded_s > 0
        else None,
        "error": stats.last_error,
    }

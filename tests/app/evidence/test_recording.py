"""The recording service under a policy: which feeds it records and why not, and a WebRTC
caller's frames (a real aiortc track through the real WebRtcSource and FeedService)
encoded into hashed segments in the ledger, which then verifies clean."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiortc.mediastreams import VideoStreamTrack

from app.config.recording import RecordingPolicy
from app.database import open_database
from app.evidence.custody import CustodyLog
from app.evidence.ledger import SegmentLedger
from app.evidence.recording import RecordingService
from app.feeds.service import FeedService
from app.paths import BaseDir
from media.live.feed import Feed, FeedKind, FeedSpec
from media.live.webrtc import WebRtcSource
from tests.descriptors import run_child
from tests.media.recording.test_recorder import encode_ts
from tests.servers import wait_for


def feed(name: str, kind: FeedKind, url: str = "udp://127.0.0.1:9") -> Feed:
    return Feed(FeedSpec(name, kind, url))


def test_the_policy_decides_and_the_status_says_why_not(tmp_path: Path) -> None:
    """In: a policy leaving out drones; a camera, a drone, and a WebRTC caller whose
    source the service cannot reach. Out: the camera is recorded (its source's packets go
    to a recorder cutting 6 s segments); the drone is not, "[recording] kinds leaves out
    drone"; the caller is not recordable, and status says so; retention runs with the
    policy's days."""
    camera, drone = feed("Roof", FeedKind.CAMERA), feed("Eye", FeedKind.DRONE)
    caller = feed("Jane", FeedKind.CALLER, "webrtc:abc")
    policy = RecordingPolicy(
        frozenset({FeedKind.CALLER, FeedKind.OFFICER, FeedKind.CAMERA}), 6.0, keep_days=7
    )
    service = RecordingService(
        BaseDir(tmp_path).ensure(), lambda: [camera, drone, caller], policy=policy
    )
    service.start()
    try:
        status = service.status()
        feeds = status["feeds"]
        assert feeds["Roof"]["recorded"] is True
        assert camera.packet_sink is not None
        assert camera.packet_sink.segment_s == 6.0  # type: ignore[attr-defined]
        assert feeds["Eye"] == {
            "recorded": False,
            "why_not": "not recorded: [recording] kinds leaves out drone",
            "recording": False,
            "segments": 0,
            "bytes": 0,
        }
        assert drone.packet_sink is None
        assert feeds["Jane"]["why_not"].startswith("not recordable")
        assert status["policy"] == {
            "kinds": ["caller", "camera", "officer"],
            "segment_seconds": 6.0,
            "keep_days": 7,
        }
        assert status["retention"]["keep_days"] == 7
    finally:
        service.stop()
    assert camera.packet_sink is None


def test_a_callers_frames_are_encoded_into_the_ledger(tmp_path: Path) -> None:
    """In: a caller feed added while the service runs (as the gateway adds one), its
    WebRtcSource fed a real aiortc track (640x480, 30 fps) until its first 2 s segment is
    written, and then ended.
    Out: the caller's feed shows REC while its segments are written; its segments are in
    the ledger under the feed's name, hashed as written, decodable H.264; the ledger and
    custody chains verify clean; status shows what the encoder took and cost."""
    base = BaseDir(tmp_path).ensure()
    feeds = FeedService()
    service = RecordingService(
        base,
        lambda: list(feeds.feeds),
        policy=RecordingPolicy(segment_s=2.0),
        sources=feeds.source,
    )
    feeds.added.append(service.add)
    service.start()
    feeds.start()
    caller = feed("Jane Doe", FeedKind.CALLER, "webrtc:link-1")
    source = WebRtcSource(caller)
    feeds.add(caller, source)

    def segments() -> int:
        return int(service.status()["feeds"]["Jane Doe"]["segments"])

    async def call() -> None:
        """The track runs until the feed shows REC with a first segment written, then ends."""
        track = VideoStreamTrack()
        source.attach(track)
        async with asyncio.timeout(30):
            while not (caller.recording and segments() >= 1):
                await asyncio.sleep(0.02)
        track.stop()
        await asyncio.wait_for(source.track_ended.wait(), 10)

    try:
        asyncio.run(call())
        wait_for(lambda: segments() >= 2, 30, "the caller's last segment to be written")
        status = service.status()["feeds"]["Jane Doe"]
    finally:
        feeds.stop()
        service.stop()
    assert status["recorded"] is True
    encoder = status["encoder"]
    assert encoder["size"] == "640x480"
    assert encoder["frames_in"] == encoder["frames_encoded"] > 50
    assert encoder["frames_shed"] == 0
    assert encoder["cpu_s"] > 0
    db = open_database(base.database)
    try:
        ledger = SegmentLedger(db, base.recordings)
        entries = ledger.entries("Jane Doe")
        assert len(entries) >= 2
        assert ledger.verify() == []
        assert CustodyLog(db).verify() is None
    finally:
        db.close()


SERVICE_CHILD = """
import json, sys
from pathlib import Path
from app.config.recording import RecordingPolicy
from app.evidence.recording import RecordingService
from app.paths import BaseDir
from media.live.feed import Feed, FeedKind, FeedSpec
from tests.descriptors import limit_open_files, record_through_exhaustion

source, base_dir, limit = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
limit_open_files(limit)
camera = Feed(FeedSpec("Roof", FeedKind.CAMERA, "udp://127.0.0.1:9"))
service = RecordingService(BaseDir(base_dir).ensure(), lambda: [camera],
                           policy=RecordingPolicy(segment_s=2.0))
service.start()
_, during, after, _ = record_through_exhaustion(camera.packet_sink, source, service.status)
service.stop()
print(json.dumps({"during": during, "after": after}))
"""


def test_status_says_a_recorder_is_retrying_and_then_recording_again(tmp_path: Path) -> None:
    """In: a child process with a soft RLIMIT_NOFILE of 128 runs the recording service for a
    camera whose recorder gets 4 s of the drone file (2 s segments); then the child takes
    every descriptor left while the next 4 s arrive, then frees them for the last 4 s.
    Out: while out of descriptors, `vigil status`'s recording entry for the feed says
    `retrying` true, `recording` false, an `error` naming "Too many open files", and the
    interruptions counted; the service's `errors` (recordings stopped for good) stay empty;
    afterwards `retrying` is false, `error` null, the interruption still counted and named
    in `last_interruption`, and the segments recorded after it are in the ledger."""
    drone = encode_ts(tmp_path / "drone.ts", 12.0)
    report = run_child(SERVICE_CHILD, drone, tmp_path / "base", 128)
    during, after = report["during"]["feeds"]["Roof"], report["after"]["feeds"]["Roof"]
    assert during["retrying"] is True
    assert during["recording"] is False
    assert "Too many open files" in during["error"]
    assert during["interruptions"] >= 3
    assert report["during"]["errors"] == []
    assert (after["retrying"], after["error"]) == (False, None)
    assert after["interruptions"] == during["interruptions"]
    assert "Too many open files" in after["last_interruption"]
    assert after["segments"] > during["segments"] >= 1
    assert report["after"]["errors"] == []
    db = open_database(BaseDir(tmp_path / "base").database)
    try:
        ledger = SegmentLedger(db, BaseDir(tmp_path / "base").recordings)
        entries = ledger.entries("Roof")
        assert len(entries) == after["segments"]
        assert any("follows an interruption" in (entry.note or "") for entry in entries)
        assert ledger.verify() == []
    finally:
        db.close()

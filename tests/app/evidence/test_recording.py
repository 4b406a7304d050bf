"""The recording service under a policy: which feeds it records and why not, and a WebRTC
caller's frames (a real aiortc track through the real WebRtcSource and FeedService)
encoded into hashed segments in the ledger, which then verifies clean."""

from __future__ import annotations

import asyncio
import time
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
    WebRtcSource fed about 2.5 s of a real aiortc track (640x480, 30 fps) and then ended.
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
    recording_seen: list[bool] = []

    async def call() -> None:
        track = VideoStreamTrack()
        source.attach(track)
        for _ in range(25):
            await asyncio.sleep(0.1)
            recording_seen.append(caller.recording)
        track.stop()
        await asyncio.wait_for(source.track_ended.wait(), 2)

    try:
        asyncio.run(call())
        deadline = time.monotonic() + 10
        while service.status()["feeds"]["Jane Doe"]["segments"] < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        status = service.status()["feeds"]["Jane Doe"]
    finally:
        feeds.stop()
        service.stop()
    assert any(recording_seen)
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

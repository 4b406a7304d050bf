"""The room server publishes every feed it pulls into its Janus, once, decoding nothing
(app/room/publish.py): the feed's own H.264 is packed as RTP by an aiortc peer and Janus
forwards it to every subscriber.

The first test uses real parts in a network namespace the test makes (tests/netns.py):
`RoomServer` with its managed Janus pulling looping clips, and aiortc subscribers
(tests/room_publish.py). The rest need no network."""

from __future__ import annotations

import asyncio
import json
import sys
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import av
import pytest

from app.room import publish
from app.room.publish import FeedPublisher, PacketTrack, _Video, nal_types
from media.live import Feed, FeedKind, FeedSpec
from tests.netns import in_namespace
from tests.room_publish import write_clip

SPS, PPS, IDR, SLICE = 7, 8, 5, 1


@pytest.mark.network
def test_feeds_are_published_into_janus_and_again_after_it_is_killed(tmp_path: Path) -> None:
    """In: a room server (managed Janus) pulling a looping 320x240 30 fps H.264 clip (an MP4,
    a key frame a second, 3 s long, so its source reconnects every 3 s) as "Drone-1" and as
    "Officer-1", and an MPEG-4 Part 2 clip as "Cam-2"; "Officer-1" removed; an aiortc
    subscriber of "Drone-1" through Room.subscribe; Janus killed with SIGKILL; a second
    subscriber after it is back.
    Out: both H.264 feeds "published" in `vigil status`'s "sfu" and listed by Janus under
    their names; "Cam-2" "not published" saying its video is mpeg4; once "Officer-1" is
    removed Janus lists only "Drone-1"; the subscriber decodes 150 frames, all 320x240,
    across the source's reconnections on one publication; after the kill Janus runs again
    and "Drone-1" is published again (a second publication) and listed; the new subscriber
    decodes 30 frames at 320x240; the server decoded nothing (frames 0, decoding none).
    Prints the server's CPU with the feed published and unpublished (the figure for a 720p
    feed is `python -m tests.room_publish DIR bench N SECONDS`, in a namespace)."""
    done = in_namespace(
        sys.executable, "-m", "tests.room_publish", str(tmp_path), "room", timeout=90
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps({k: result.get(k) for k in ("cpu", "republished_after_s")}))
    status = result["status"]
    assert status["Drone-1"]["sfu"] == "published", status["Drone-1"]
    assert status["Officer-1"]["sfu"] == "published", status["Officer-1"]
    assert status["Cam-2"]["sfu"] == "not published: its video is mpeg4; the room takes H.264"
    assert result["publishers"] == ["Drone-1", "Officer-1"]
    assert result["removed"]["publishers"] == ["Drone-1"], result["removed"]
    viewer = result["viewer"]
    assert viewer["frames"] >= 150, viewer
    assert viewer["sizes"] == [[320, 240]]
    assert result["connects"] >= 2, "the source did not reconnect while watched"
    assert result["publications"] == 1, "a source's reconnection made a new publisher"
    assert result["janus_restarts"] == 1
    assert result["republished_after_s"] is not None, result
    assert result["publishers_after_restart"] == ["Drone-1"]
    second = result["second_viewer"]
    assert second["frames"] >= 30, second
    assert second["sizes"] == [[320, 240]]
    for name in ("Drone-1", "Officer-1", "Cam-2"):
        assert (status[name]["frames"], status[name]["decoding"]) == (0, "none"), name
    assert (result["final"]["frames"], result["final"]["state"]) == (0, "live")
    assert result["publishers_unpublished"] == []


def test_an_mp4s_h264_becomes_annex_b_with_its_parameter_sets_before_each_key_frame(
    tmp_path: Path,
) -> None:
    """In: an MP4 of H.264 (length-prefixed NAL units, SPS and PPS in its avcC) with a key
    frame every 10 frames. Out: every access unit begins with a start code; each key frame
    carries SPS, PPS and an IDR slice; the others carry no SPS; times in seconds as the
    clip's."""
    clip = tmp_path / "clip.mp4"
    write_clip(clip, seconds=1, gop=10)
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.extradata or b"")[:1] == b"\x01"  # avcC
        video = _Video(stream)
        units = [u for p in container.demux(stream) for u in video.convert(p)]
    assert len(units) == 30
    keys = [u for u in units if u[2]]
    assert len(keys) == 3
    for data, _, key in units:
        assert data.startswith((b"\x00\x00\x00\x01", b"\x00\x00\x01"))
        types = nal_types(data)
        assert (SPS in types and PPS in types and IDR in types) == key, types
    assert [float(u[1]) for u in units[:3]] == [0.0, 1 / 30, 2 / 30]


def test_parameter_sets_given_out_of_band_are_put_before_key_frames_that_lack_them() -> None:
    """In: an Annex-B stream whose SPS and PPS come only in the extradata (as an RTSP
    camera's sprop-parameter-sets), a key frame without them, a key frame with them, and a
    P-frame. Out: the first key frame gets the extradata in front; the one that has its own
    sets and the P-frame are passed unchanged."""
    sets = b"\x00\x00\x00\x01\x67\x42\xc0\x1e" + b"\x00\x00\x00\x01\x68\xce\x3c\x80"
    stream = SimpleNamespace(index=0, codec_context=SimpleNamespace(extradata=sets))
    video = _Video(stream)  # type: ignore[arg-type]
    bare_key = b"\x00\x00\x00\x01\x65\x88\x84\x00"
    own_key = sets + bare_key
    p_frame = b"\x00\x00\x00\x01\x41\x9a\x02\x00"
    out = []
    for data, key in ((bare_key, True), (own_key, True), (p_frame, False)):
        packet = av.Packet(data)
        packet.pts, packet.time_base, packet.is_keyframe = 0, Fraction(1, 90000), key
        out.extend(video.convert(packet))
    assert [u[0] for u in out] == [sets + bare_key, own_key, p_frame]


def test_rtp_time_runs_on_across_a_sources_reconnection_and_clock_reset() -> None:
    """In: a feed's units at 30 fps from source time 10 s; the source reconnects 2 s later
    with its clock starting again at 0; later a jump forward of an hour within a connection.
    Out: RTP time starts at 0, rises a frame (3000 ticks) at a time, resumes after the gap
    at the time that passed (2 s on), and continues a frame on after the jump, never back."""
    feed = Feed(FeedSpec("Drone-1", FeedKind.DRONE, "udp://x"))
    loop = asyncio.new_event_loop()
    publisher = FeedPublisher(feed, lambda: None, loop)

    def unit(pts: float, now: float) -> int:  # as put() does
        ticks = publisher._ticks(pts, now)
        publisher._last_at = now
        return ticks

    assert [unit(10 + i / 30, 100 + i / 30) for i in range(3)] == [0, 3000, 6000]
    publisher._origin = None  # what begin() does at a new connection
    now = 100 + 2 / 30 + 2.0
    assert unit(0.0, now) == 6000 + 2 * 90_000
    assert unit(1 / 30, now + 1 / 30) == 9000 + 2 * 90_000
    assert unit(3600.0, now + 2 / 30) == 12_000 + 2 * 90_000
    assert unit(3600 + 1 / 30, now + 3 / 30) == 15_000 + 2 * 90_000
    loop.close()


async def _drain(track: PacketTrack) -> list[int]:
    got: list[int] = []
    while track._queue:
        got.append((await track.recv()).pts or 0)
    return got


def test_the_track_starts_at_the_latest_key_frame_and_skips_to_the_next_when_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In: units pushed before aiortc asks (P, key, P, key, P), then, once asked, more than
    `MAX_QUEUED_BYTES` of P-frames, then a key frame. Out: the first sent is the latest key
    frame and what followed it; once too far behind, the queue is dropped and sending
    resumes at the next key frame (the P-frames after the drop are never sent)."""

    async def run() -> None:
        monkeypatch.setattr(publish, "MAX_QUEUED_BYTES", 100)
        track = PacketTrack()
        for ticks, key in ((1, False), (2, True), (3, False), (4, True), (5, False)):
            track.push(b"x" * 10, ticks, key)
        assert await _drain(track) == [4, 5]
        for ticks in range(6, 20):
            track.push(b"x" * 10, ticks, False)
        track.push(b"x" * 10, 20, True)
        track.push(b"x" * 10, 21, False)
        sent = await _drain(track)
        assert sent[-2:] == [20, 21]
        assert all(t < 16 or t >= 20 for t in sent), sent
        assert track.dropped > 0
        track.stop()

    asyncio.run(run())

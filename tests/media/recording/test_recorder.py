"""Recorder: live feeds stream-copied into whole, self-contained MPEG-TS segments.

The tests make their own media with PyAV (H.264 with a 1 s GOP, AAC and MISB KLV, as
Vigil's drones send), write real files under tmp_path, and read every segment back with
PyAV: it must open alone, start at a key frame and decode without an error. Faults (a full
disk, a stalled disk, a kill -9) are made for real at the file layer or in a child process.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.logging
import pytest

from media.demo import AUDIO_RATE, YORK, CallerVoice, Orbit, TsUdpSender, run_senders
from media.live.feed import FeedState
from media.recording.recorder import Recorder, replay
from media.recording.segment import SegmentInfo, segment_name
from media.telemetry.klv import encode_packet
from media.testcard import TestCard
from tests.servers import RtmpPublisher, free_port, wait_for

network = pytest.mark.network

FPS = 15
SIZE = (320, 240)

# -- media made by the tests -------------------------------------------------------------


def encode_ts(
    path: Path,
    seconds: float,
    *,
    gop_s: float = 1.0,
    video: bool = True,
    audio: bool = True,
    klv: bool = True,
) -> Path:
    """An MPEG-TS file as a drone or a caller sends it: H.264 (key frame every `gop_s`),
    AAC and KLV telemetry five times a second, muxed by PyAV."""
    keyint = round(gop_s * FPS)
    with av.open(str(path), "w", format="mpegts") as out:
        vstream = out.add_stream("libx264", rate=FPS) if video else None
        if vstream is not None:
            vstream.width, vstream.height = SIZE
            vstream.pix_fmt = "yuv420p"
            vstream.codec_context.time_base = Fraction(1, FPS)
            vstream.codec_context.options = {
                "preset": "ultrafast",
                "tune": "zerolatency",
                "x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0",
            }
        kstream = out.add_data_stream("klv") if klv else None
        astream = out.add_stream("aac", rate=AUDIO_RATE, layout="mono") if audio else None
        card, voice, orbit = TestCard("REC", *SIZE, (90, 160, 255)), CallerVoice(180), Orbit(YORK)
        clock = dt.datetime(2026, 11, 21, 14, 15, tzinfo=dt.UTC)
        for n in range(round(seconds * FPS)):
            if vstream is not None:
                frame = av.VideoFrame.from_ndarray(card.render(n, clock), format="rgb24")
                frame.pts, frame.time_base = n, Fraction(1, FPS)
                out.mux(vstream.encode(frame))
            if kstream is not None and n % 3 == 0:
                packet = av.Packet(encode_packet(orbit.at(n / FPS, clock.timestamp() + n / FPS)))
                packet.stream = kstream
                packet.pts = packet.dts = round(n / FPS * 90_000)
                packet.time_base = Fraction(1, 90_000)
                out.mux(packet)
            while astream is not None and voice.samples < (n + 1) * AUDIO_RATE / FPS:
                out.mux(astream.encode(voice.next_frame()))
        if vstream is not None:
            out.mux(vstream.encode())
        if astream is not None:
            out.mux(astream.encode())
    return path


@pytest.fixture(scope="module")
def drone_ts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s of H.264 (1 s GOP) + AAC + KLV in MPEG-TS."""
    return encode_ts(tmp_path_factory.mktemp("media") / "drone.ts", 12.0)


Packets = dict[str, list[tuple[bytes, int | None, int | None, bool]]]


def read_packets(path: Path) -> Packets:
    """Every packet of a file by stream kind: bytes, pts, dts, key flag, in order."""
    found: Packets = {}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.size:
                kind = packet.stream.type if packet.stream.type != "data" else "klv"
                found.setdefault(kind, []).append(
                    (bytes(packet), packet.pts, packet.dts, packet.is_keyframe)
                )
    return found


def assert_plays_alone(path: Path) -> int:
    """The file opens by itself, its first video packet is a key frame, and every video
    and audio packet decodes with no error from FFmpeg. Returns the pictures decoded."""
    pictures = 0
    previous = av.logging.get_level()
    av.logging.set_level(av.logging.ERROR)
    try:
        with av.logging.Capture() as logs, av.open(str(path)) as container:
            first_video = True
            for packet in container.demux():
                if not packet.size:
                    continue
                if packet.stream.type == "video":
                    if first_video:
                        assert packet.is_keyframe, f"{path.name} starts with a non-key frame"
                        first_video = False
                    pictures += len(packet.decode())
                elif packet.stream.type == "audio":
                    packet.decode()
            for stream in container.streams.video:
                pictures += len(stream.decode(None))
    finally:
        av.logging.set_level(previous)
    errors = [entry for entry in logs if entry[0] <= av.logging.ERROR]
    assert not errors, f"{path.name}: {errors}"
    return pictures


def closed_segments(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.ts"))


@pytest.fixture
def recorders() -> Iterator[Callable[..., Recorder]]:
    """A factory for recorders; each is stopped after the test (and must stop)."""
    made: list[Recorder] = []

    def make(folder: Path, name: str = "TEST", **options: Any) -> Recorder:
        recorder = Recorder(folder, name, **options)
        made.append(recorder)
        return recorder

    yield make
    stuck = [r.feed_name for r in made if not r.stop(timeout_s=5.0)]
    assert not stuck, f"recorder writers still running after stop(): {stuck}"


class LiveSender:
    """Vigil's demo encoder (H.264 1 s GOP, AAC voice, KLV orbit) sending MPEG-TS over
    UDP to 127.0.0.1:port in a thread, in real time, until stopped."""

    def __init__(self, port: int, name: str = "LIVE") -> None:
        card = TestCard(name, *SIZE, (110, 220, 140))
        self.sender = TsUdpSender(card, port, FPS, voice=CallerVoice(200), orbit=Orbit(YORK))
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=run_senders, args=([self.sender], FPS, self._stop), daemon=True
        )

    def __enter__(self) -> LiveSender:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sender.close()


# -- stream copy ---------------------------------------------------------------------------


def test_segments_are_a_stream_copy_of_the_input(
    tmp_path: Path, drone_ts: Path, recorders: Callable[..., Recorder]
) -> None:
    """In: a 12 s MPEG-TS file (H.264 with a key frame every second, AAC, KLV), demuxed and
    handed packet by packet to a Recorder with 4 s segments. Out: three `.ts` segments, no
    `.part`; each 2-10 s long, opens alone, starts at a key frame and decodes cleanly; per
    stream, the segments' packets put end to end are the input's, byte for byte, with the
    same timestamps and key flags, KLV included; the names sort by time and sequence, and
    on_closed described each one truly (size, SHA-256, packet counts)."""
    closed: list[SegmentInfo] = []
    recorder = recorders(tmp_path / "rec", "DRONE-1", on_closed=closed.append)
    given = replay(recorder, str(drone_ts))
    assert recorder.stop()

    segments = closed_segments(tmp_path / "rec")
    assert [info.path for info in closed] == segments
    assert not list((tmp_path / "rec").glob("*.part"))
    assert len(segments) == 3
    original = read_packets(drone_ts)
    joined: Packets = {}
    for info in closed:
        assert 2.0 <= info.duration_s <= 10.0 or info is closed[-1], info
        assert info.starts_with_key_frame
        assert_plays_alone(info.path)
        data = info.path.read_bytes()
        assert info.bytes == len(data)
        assert info.sha256 == hashlib.sha256(data).hexdigest()
        for kind, packets in read_packets(info.path).items():
            joined.setdefault(kind, []).extend(packets)
            assert info.packets[kind if kind != "klv" else "klv"] == len(packets)
    assert set(original) == {"video", "audio", "klv"}
    for kind in original:
        assert joined[kind] == original[kind], f"{kind} differs after recording"
    assert sum(len(p) for p in original.values()) == given
    assert [round(i.duration_s) for i in closed] == [4, 4, 4]
    # Segments line up end to end: each one's pictures begin where the one before's ended.
    video = [read_packets(info.path)["video"] for info in closed]
    for before, after in itertools.pairwise(video):
        assert after[0][1] == before[-1][1] + 90_000 // FPS
    assert [info.sequence for info in closed] == [1, 2, 3]
    assert sorted(s.name for s in segments) == [s.name for s in segments]
    stats = recorder.stats()
    assert (stats.segments_closed, stats.packets_written) == (3, given)
    assert stats.bytes_written == sum(i.bytes for i in closed)
    assert (stats.packets_dropped, stats.packets_invalid, stats.last_error) == (0, 0, None)
    assert not stats.recording


def test_segment_names_say_the_utc_start_and_sort_by_time() -> None:
    """In: start times a millisecond apart and a day apart, with sequence numbers. Out:
    names like 20261121T141500.123Z-000042.ts, in time order when sorted."""
    start = dt.datetime(2026, 11, 21, 14, 15, 0, 123_000, tzinfo=dt.UTC).timestamp()
    assert segment_name(start, 42) == "20261121T141500.123Z-000042.ts"
    names = [segment_name(start + offset, n) for n, offset in enumerate((0, 0.001, 86_400), 1)]
    assert sorted(names) == names


def test_rare_key_frames_are_still_cut_at_a_key_frame_and_noted(
    tmp_path: Path, recorders: Callable[..., Recorder]
) -> None:
    """In: 13 s of H.264 with a key frame only every 11 s, recorded in 2 s segments. Out:
    a first segment of 11 s (the next key frame), noted as cut late because key frames are
    rarer than 10 s, then one of 2 s; both start with a key frame and decode."""
    source = encode_ts(tmp_path / "long-gop.ts", 13.0, gop_s=11.0, audio=False, klv=False)
    closed: list[SegmentInfo] = []
    recorder = recorders(tmp_path / "rec", segment_s=2.0, on_closed=closed.append)
    replay(recorder, str(source))
    assert recorder.stop()
    assert [round(info.duration_s) for info in closed] == [11, 2]
    assert any("key frames rarer than 10 s" in note for note in closed[0].notes)
    for info in closed:
        assert_plays_alone(info.path)


def test_audio_only_and_klv_only_feeds_are_cut_on_time(
    tmp_path: Path, recorders: Callable[..., Recorder]
) -> None:
    """In: 9 s of AAC alone, and 9 s of KLV alone, each recorded in 4 s segments. Out: for
    each, segments of 4, 4 and about 1 s whose packets are the input's in order."""
    for kind, options in (("audio", {"klv": False}), ("klv", {"audio": False})):
        source = encode_ts(tmp_path / f"{kind}.ts", 9.0, video=False, **options)
        closed: list[SegmentInfo] = []
        recorder = recorders(tmp_path / kind, on_closed=closed.append)
        replay(recorder, str(source))
        assert recorder.stop()
        assert [round(info.duration_s) for info in closed[:2]] == [4, 4], kind
        assert len(closed) == 3, kind
        joined = [p for info in closed for p in read_packets(info.path)[kind]]
        assert joined == read_packets(source)[kind]


def test_bad_timestamps_are_dropped_and_counted_never_raised(
    tmp_path: Path, drone_ts: Path, recorders: Callable[..., Recorder]
) -> None:
    """In: the drone file's packets, with a KLV packet that has no timestamps, a sound
    packet given twice (its decoding time no longer after the one before), and then the
    whole file again on the same connection (the source's clock goes back to the start).
    Out: nothing raised; the bad packets counted as invalid; the clock going back starts a
    new segment at its key frame, noted; every segment plays alone."""
    closed: list[SegmentInfo] = []
    recorder = recorders(tmp_path / "rec", on_closed=closed.append)
    with av.open(str(drone_ts)) as container:
        streams = [*container.streams.video, *container.streams.audio, *container.streams.data]
        recorder.begin(streams)
        packets = [p for p in container.demux(streams) if p.size]
        for packet in packets:
            recorder.put(packet)
        untimed = next(p for p in packets if p.stream.type == "data")
        untimed.pts = untimed.dts = None
        recorder.put(untimed)
        sound = next(p for p in reversed(packets) if p.stream.type == "audio")
        recorder.put(sound)
        recorder.put(sound)
        with av.open(str(drone_ts)) as again:
            for packet in again.demux():
                if packet.size:
                    recorder.put(packet)
        recorder.end()
    assert recorder.stop()
    stats = recorder.stats()
    assert stats.packets_invalid >= 3
    assert stats.last_error is None
    went_back = [i for i in closed if any("went back" in n for n in i.notes)]
    assert len(went_back) == 1
    assert went_back[0].starts_with_key_frame
    assert len(closed) == 6
    for info in closed:
        assert_plays_alone(info.path)


def test_segment_length_must_be_2_to_10_s(tmp_path: Path) -> None:
    """In: segment_s of 1 and 11. Out: ValueError, before any thread starts."""
    for bad in (1.0, 11.0):
        with pytest.raises(ValueError, match="segment_s"):
            Recorder(tmp_path, "X", segment_s=bad)


# -- through the real source -------------------------------------------------------------


@network
def test_live_udp_feed_is_recorded_while_live(
    start_feed, tmp_path: Path, recorders: Callable[..., Recorder]
) -> None:
    """In: a live UDP MPEG-TS feed (H.264 1 s GOP, AAC, KLV) opened by the real FeedSource,
    a Recorder with 2 s segments attached while it is live. Out: within a few seconds two
    closed segments that each play alone and hold video, sound and KLV (KLV comes three
    times a second, so the last, cut short, may have none); `feed.recording`
    true while they are written; after `stop()` the last segment is closed too (no `.part`
    left), `feed.recording` is false, and the feed goes on decoding."""
    port = free_port(socket.SOCK_DGRAM)
    closed: list[SegmentInfo] = []
    with LiveSender(port):
        source = start_feed(f"udp://127.0.0.1:{port}")
        feed = source.feed
        recorder = recorders(tmp_path / "rec", feed.name, segment_s=2.0, on_closed=closed.append)
        recorder.attach(feed)
        wait_for(lambda: len(closed) >= 2, 30, "two closed segments")
        assert feed.recording
        assert recorder.stats().recording
        assert recorder.stop()
        assert not feed.recording
        frames = feed.stats.frames
        wait_for(lambda: feed.stats.frames > frames + 5, 30, "the feed to go on decoding")
    assert not list((tmp_path / "rec").glob("*.part"))
    segments = closed_segments(tmp_path / "rec")
    assert segments == [info.path for info in closed]
    assert len(segments) >= 3
    for info in closed:
        assert info.feed == feed.name
        assert info.starts_with_key_frame
        assert assert_plays_alone(info.path) > 0
        assert info.started_at <= info.ended_at <= time.time()
    for info in closed[:-1]:  # the last was cut short by stop(): it may hold no KLV yet
        assert 1.9 <= info.duration_s <= 10.0, info
        assert set(read_packets(info.path)) == {"video", "audio", "klv"}
    assert recorder.stats().last_error is None


def test_packets_recorded_are_those_demuxed_before_decoding(
    start_feed, tmp_path: Path, drone_ts: Path, recorders: Callable[..., Recorder]
) -> None:
    """In: the 12 s drone file played by the real FeedSource (which decodes every packet
    after handing it on), a Recorder attached while it plays, stopped after two segments.
    Out: the segments' packets are a contiguous run of the file's, per stream, byte for byte
    with the same timestamps: decoding did not change what was recorded."""
    source = start_feed(str(drone_ts))
    closed: list[SegmentInfo] = []
    recorder = recorders(tmp_path / "rec", segment_s=2.0, on_closed=closed.append)
    recorder.attach(source.feed)
    wait_for(lambda: len(closed) >= 2, 30, "two closed segments")
    assert recorder.stop()
    original = read_packets(drone_ts)
    joined: Packets = {}
    for info in closed:
        for kind, packets in read_packets(info.path).items():
            joined.setdefault(kind, []).extend(packets)
    for kind, packets in joined.items():
        start = original[kind].index(packets[0])
        assert packets == original[kind][start : start + len(packets)], kind
    assert set(joined) == {"video", "audio", "klv"}


@network
@pytest.mark.parametrize("protocol", ["rtsp", "rtmp"])
def test_rtsp_and_rtmp_feeds_are_recorded(
    start_feed, tmp_path: Path, recorders: Callable[..., Recorder], request, protocol: str
) -> None:
    """In: a live H.264 feed over RTSP (GStreamer's server) or RTMP (ffmpeg publishing FLV,
    whose H.264 is length-prefixed, not Annex B) opened by the real FeedSource and recorded
    in 2 s segments. Out: two closed segments of about 2 s, each starting with a key frame
    and decoding all its 30 pictures; no error."""
    if protocol == "rtsp":
        url = request.getfixturevalue("rtsp_server").url
    else:
        publisher = RtmpPublisher().start()
        request.addfinalizer(publisher.stop)
        url = publisher.url
    closed: list[SegmentInfo] = []
    source = start_feed(url, open_timeout_s=3.0, read_timeout_s=3.0)
    recorder = recorders(tmp_path / "rec", protocol, segment_s=2.0, on_closed=closed.append)
    recorder.attach(source.feed)
    wait_for(lambda: len(closed) >= 2, 30, f"two closed segments of the {protocol} feed")
    for info in closed[:2]:
        assert info.duration_s == pytest.approx(2.0, abs=0.1)
        assert info.starts_with_key_frame
        assert assert_plays_alone(info.path) == info.packets["video"] == 30
    assert recorder.stats().last_error is None


@network
def test_reconnect_starts_a_new_segment_for_the_new_stream(
    start_feed, tmp_path: Path, recorders: Callable[..., Recorder]
) -> None:
    """In: a live UDP feed recorded in 2 s segments; its sender stops until the source gives
    up reading (1 s) and reconnects, then a new encoder (timestamps from zero again) sends on
    the same port. Out: the open segment is closed when the first connection ends and REC
    goes out; a second connection's segments follow, each playing alone; no error."""
    port = free_port(socket.SOCK_DGRAM)
    closed: list[SegmentInfo] = []
    source = start_feed(f"udp://127.0.0.1:{port}", open_timeout_s=1.0, read_timeout_s=1.0)
    feed = source.feed
    recorder = recorders(tmp_path / "rec", feed.name, segment_s=2.0, on_closed=closed.append)
    recorder.attach(feed)
    with LiveSender(port, "FIRST"):
        wait_for(lambda: closed, 30, "a closed segment from the first connection")
    wait_for(lambda: feed.state() is FeedState.RECONNECTING, 30, "the source to reconnect")
    wait_for(lambda: not feed.recording, 30, "REC to go out")
    first = len(closed)
    assert closed[-1].session == 1
    with LiveSender(port, "SECOND"):
        wait_for(lambda: any(i.session == 2 for i in closed), 30, "a segment of the 2nd connection")
        assert feed.recording
    assert recorder.stop()
    assert closed[first - 1].session == 1
    assert {info.session for info in closed} == {1, 2}
    assert [info.sequence for info in closed] == list(range(1, len(closed) + 1))
    for info in closed:
        assert_plays_alone(info.path)
    stats = recorder.stats()
    assert (stats.sessions, stats.last_error) == (2, None)
    assert not list((tmp_path / "rec").glob("*.part"))


# -- faults --------------------------------------------------------------------------------


class FillingDisk:
    """Opens segment files that fail with ENOSPC once `space` bytes more have been written
    (None: unlimited), as a disk that fills up does: the last write is cut short."""

    def __init__(self) -> None:
        self.space: int | None = None
        self.failures = 0

    def open(self, path: Path) -> _FillingFile:
        return _FillingFile(self, open(path, "xb"))


class _FillingFile:
    def __init__(self, disk: FillingDisk, file: Any) -> None:
        self.disk, self.file = disk, file

    def write(self, data: bytes) -> int:
        space = self.disk.space
        if space is not None and len(data) > space:
            self.file.write(data[:space])
            self.disk.space = 0
            self.disk.failures += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        if space is not None:
            self.disk.space = space - len(data)
        return int(self.file.write(data))

    def flush(self) -> None:
        self.file.flush()

    def fileno(self) -> int:
        return int(self.file.fileno())

    def close(self) -> None:
        self.file.close()


@network
def test_disk_full_stops_recording_cleanly_and_spares_what_is_written(
    start_feed, tmp_path: Path, recorders: Callable[..., Recorder]
) -> None:
    """In: a live UDP feed recorded in 2 s segments onto a disk that fills up (ENOSPC at
    the file layer) after two segments have closed. Out: recording stops with "No space
    left on device" in stats and through on_error, once; REC goes out; the closed segments
    are untouched (their SHA-256 as reported) and still play alone; the broken segment is
    left as the only `.part` for the recovery pass; the feed stays live and decoding."""
    port = free_port(socket.SOCK_DGRAM)
    disk = FillingDisk()
    closed: list[SegmentInfo] = []
    errors: list[str] = []
    with LiveSender(port):
        source = start_feed(f"udp://127.0.0.1:{port}")
        feed = source.feed
        recorder = recorders(
            tmp_path / "rec",
            feed.name,
            segment_s=2.0,
            on_closed=closed.append,
            on_error=errors.append,
            opener=disk.open,
        )
        recorder.attach(feed)
        wait_for(lambda: len(closed) >= 2, 30, "two closed segments")
        disk.space = 20_000
        wait_for(lambda: errors, 30, "the recorder to report the full disk")
        frames = feed.stats.frames
        wait_for(lambda: feed.stats.frames > frames + 10, 30, "the feed to go on decoding")
        assert feed.state() is FeedState.LIVE
        assert not feed.recording
    stats = recorder.stats()
    assert not stats.recording
    assert stats.last_error is not None
    assert "No space left on device" in stats.last_error
    assert errors == [stats.last_error]
    assert feed.recording_stopped == stats.last_error  # what the tile and the alerts show
    assert disk.failures == 1
    assert closed_segments(tmp_path / "rec") == [info.path for info in closed]
    for info in closed:
        assert hashlib.sha256(info.path.read_bytes()).hexdigest() == info.sha256
        assert_plays_alone(info.path)
    parts = list((tmp_path / "rec").glob("*.part"))
    assert len(parts) == 1
    assert parts[0].stat().st_size > 0
    assert parts[0].name in stats.last_error


def test_a_stalled_disk_never_blocks_the_decode_thread(
    tmp_path: Path, drone_ts: Path, recorders: Callable[..., Recorder]
) -> None:
    """In: a Recorder allowed to fall 0.5 s behind, whose file writes hang, given the drone
    file's first half at 5x real time as a decode thread would; then the disk recovers and
    the second half follows. Out: every `put` returned while the writer hung (the half was
    all given before the disk recovered: a put that waited for the writer would never have
    come back); stats showed it behind, refusing packets and not recording; after recovery
    a segment starts at a key frame with the gap noted; every segment plays alone; each
    packet given is counted as written, refused or skipped (video before a key frame)."""
    gate = threading.Event()

    class HangingFile:
        def __init__(self, path: Path) -> None:
            self.file = open(path, "xb")  # noqa: SIM115 - the recorder closes it

        def write(self, data: bytes) -> int:
            gate.wait()
            return int(self.file.write(data))

        def flush(self) -> None:
            self.file.flush()

        def fileno(self) -> int:
            return int(self.file.fileno())

        def close(self) -> None:
            self.file.close()

    closed: list[SegmentInfo] = []
    recorder = recorders(
        tmp_path / "rec", segment_s=2.0, on_closed=closed.append, opener=HangingFile,
        max_behind_s=0.5,
    )  # fmt: skip
    with av.open(str(drone_ts)) as container:
        streams = [*container.streams.video, *container.streams.audio, *container.streams.data]
        packets = [p for p in container.demux(streams) if p.size]
        recorder.begin(streams)
        for half in (packets[: len(packets) // 2], packets[len(packets) // 2 :]):
            started = time.monotonic()
            first_s = float(half[0].pts * half[0].time_base)
            for packet in half:
                due = started + (float(packet.pts * packet.time_base) - first_s) / 5
                time.sleep(max(0.0, due - time.monotonic()))  # a decode thread's pace
                recorder.put(packet)
            if not gate.is_set():
                stalled = recorder.stats()
                gate.set()
                wait_for(lambda: recorder.stats().queued_bytes == 0, 30, "the writer to catch up")
        recorder.end()
    assert recorder.stop()
    assert stalled.behind_s > 0.5
    assert stalled.packets_dropped > 0
    assert not stalled.recording
    assert any("follows a gap" in note for info in closed for note in info.notes)
    for info in closed:
        assert info.starts_with_key_frame
        assert_plays_alone(info.path)
    stats = recorder.stats()
    assert stats.packets_written + stats.packets_dropped + stats.packets_skipped == len(packets)
    assert (stats.packets_invalid, stats.last_error) == (0, None)


FSIZE_CHILD = """
import resource, signal, sys
from pathlib import Path
from media.recording.recorder import Recorder, replay

# The kernel's own fault: writes past the limit fail with EFBIG (SIGXFSZ ignored).
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), resource.RLIM_INFINITY))
errors = []
recorder = Recorder(Path(sys.argv[2]), "FSIZE", on_error=errors.append)
replay(recorder, sys.argv[1])
recorder.stop()
stats = recorder.stats()
print(stats.recording, stats.segments_closed, errors == [stats.last_error], stats.last_error)
"""


def test_a_real_write_error_from_the_kernel_stops_recording_cleanly(
    tmp_path: Path, drone_ts: Path
) -> None:
    """In: a child process whose files may not grow past 64 KiB (RLIMIT_FSIZE, so the
    kernel fails the write with EFBIG) recording the drone file. Out: the child ends
    normally (nothing raised into the packet feeder); recording stopped with "File too
    large" reported once through on_error and in stats; no `.ts`, one `.part` of exactly
    the limit left for the recovery pass."""
    root = Path(__file__).resolve().parents[3]
    folder = tmp_path / "rec"
    done = subprocess.run(
        [sys.executable, "-c", FSIZE_CHILD, str(drone_ts), str(folder), str(64 * 1024)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        timeout=30,
        check=True,
    )
    recording, closed, reported, error = done.stdout.decode().strip().split(" ", 3)
    assert (recording, closed, reported) == ("False", "0", "True")
    assert "File too large" in error
    assert not closed_segments(folder)
    parts = list(folder.glob("*.part"))
    assert len(parts) == 1
    assert parts[0].stat().st_size == 64 * 1024
    assert parts[0].name in error


CHILD = """
import sys, time
from pathlib import Path
from media.live.feed import Feed, FeedKind, FeedSpec
from media.recording.recorder import Recorder
from media.live.source import FeedSource

port, folder = int(sys.argv[1]), Path(sys.argv[2])
feed = Feed(FeedSpec("CRASH", FeedKind.DRONE, f"udp://127.0.0.1:{port}"))
def closed(info):
    print("CLOSED", info.path.name, info.sha256, flush=True)
Recorder(folder, "CRASH", segment_s=2.0, on_closed=closed).attach(feed)
FeedSource(feed).start()
while not feed.recording:
    time.sleep(0.01)
print("RECORDING", flush=True)
time.sleep(60)
"""


@network
def test_kill_9_at_random_moments_leaves_only_whole_segments(tmp_path: Path) -> None:
    """In: child processes recording two live UDP feeds (2 s segments), each into its own
    folder, each killed with SIGKILL at a random moment 0-3.5 s after its first segment
    opened; five rounds of two (so ten kills), each new child resuming its feed's folder as
    a restarted program would. Out: every `.ts` plays to its end with PyAV without an error
    and starts with a key frame, and those a child reported closed hold exactly the bytes it
    hashed; each run left at most one `.part` (the segment it had open); in a folder,
    sequence numbers never repeat."""
    ports = [free_port(socket.SOCK_DGRAM) for _ in range(2)]
    folders = [tmp_path / "a", tmp_path / "b"]
    rng = random.Random(4521)
    reported: dict[Path, str] = {}
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(root)}
    with LiveSender(ports[0], "A"), LiveSender(ports[1], "B"):
        for _ in range(5):
            children = [
                subprocess.Popen(
                    [sys.executable, "-c", CHILD, str(port), str(folder)],
                    cwd=root,
                    stdout=subprocess.PIPE,
                    env=env,
                )
                for port, folder in zip(ports, folders, strict=True)
            ]
            parts_before = [len(list(f.glob("*.part"))) for f in folders]
            try:
                for child in children:
                    assert child.stdout is not None
                    assert child.stdout.readline().strip() == b"RECORDING"
                started = time.monotonic()
                for child, kill_at in zip(
                    children, sorted(rng.uniform(0, 3.5) for _ in children), strict=True
                ):
                    time.sleep(max(0.0, started + kill_at - time.monotonic()))
                    child.send_signal(signal.SIGKILL)
            finally:
                for child in children:
                    child.kill()
            for child, folder, before in zip(children, folders, parts_before, strict=True):
                for line in child.communicate(timeout=5)[0].decode().splitlines():
                    _, name, sha256 = line.split()
                    reported[folder / name] = sha256
                assert len(list(folder.glob("*.part"))) - before <= 1
    segments = [s for folder in folders for s in closed_segments(folder)]
    assert len(segments) >= 2, "too few segments closed in ten runs to mean anything"
    for segment in segments:
        assert assert_plays_alone(segment) > 0
    for path, sha256 in reported.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    for folder in folders:
        sequences = [int(p.name.split("-")[1].split(".")[0]) for p in folder.iterdir()]
        assert len(sequences) == len(set(sequences))

"""FeedSource against real servers on loopback: what an operator would see on the wall.

Each test starts what it needs (tests/servers.py), opens the feed with short timeouts so
failures show within seconds, and waits by polling with deadlines. Feeds are shown at
320x180 so pictures are made, and every source is stopped by the `start_feed` fixture.
"""

from __future__ import annotations

import datetime as dt
import math
import socket
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import pytest

from media.demo import YORK, Orbit
from media.live.backoff import Backoff
from media.live.feed import Connection, Feed, FeedState, RtspTransport
from media.live.source import FeedSource
from media.testcard import TestCard
from tests.servers import (
    BlackHoleServer,
    HlsPublisher,
    HttpServer,
    RtmpPublisher,
    RtpTsSender,
    RtspServer,
    UdpRelay,
    UdpTsSender,
    free_port,
    wait_for,
)

network = pytest.mark.network


def wait_state(feed: Feed, *states: FeedState, timeout_s: float) -> FeedState:
    def reached() -> FeedState | None:
        state = feed.state()
        return state if state in states else None

    return wait_for(
        reached,
        timeout_s,
        f"{feed.name} to be {'/'.join(s.value for s in states)} (is {feed.connection})",
    )


def wait_frames(feed: Feed, count: int, timeout_s: float) -> None:
    wait_for(
        lambda: feed.stats.frames >= count,
        timeout_s,
        f"{feed.name} to decode {count} frames (has {feed.stats.frames}, {feed.connection})",
    )


def assert_live_picture(feed: Feed, width: int, height: int, codec: str = "h264") -> None:
    """The feed is live with the stream's size and codec, and its slot holds a picture
    converted to fit the 320x180 tile."""
    assert feed.state() is FeedState.LIVE, feed.connection
    assert (feed.stats.width, feed.stats.height) == (width, height)
    assert feed.stats.codec == codec
    picture = feed.slot.peek()
    assert picture is not None
    assert (picture.source_width, picture.source_height) == (width, height)
    assert picture.width <= 320
    assert picture.height <= 180
    assert picture.pixels.shape[0] == picture.height
    assert picture.pixels.shape[2] == 4  # BGRA


def assert_picture_size(feed: Feed, width: int, height: int) -> None:
    picture = feed.slot.peek()
    assert picture is not None
    assert (picture.source_width, picture.source_height) == (width, height)


class StateLog:
    """Records every connection change of a feed (polled every 5 ms) with when it was seen."""

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.seen: list[tuple[float, FeedState, Connection]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> StateLog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(1)

    def _run(self) -> None:
        last: tuple[FeedState, Connection] | None = None
        while not self._stop.is_set():
            now = time.monotonic()
            current = (self.feed.state(now), self.feed.connection)
            if current != last:
                self.seen.append((now, *current))
                last = current
            self._stop.wait(0.005)

    def states(self) -> list[FeedState]:
        return [state for _, state, _ in self.seen]


class RecordingBackoff(Backoff):
    """The source's real backoff, keeping each delay it handed out (0.0 marks a reset)."""

    def __init__(self) -> None:
        super().__init__()
        self.given: list[float] = []

    def next_delay(self) -> float:
        delay = super().next_delay()
        self.given.append(delay)
        return delay

    def reset(self) -> None:
        super().reset()
        self.given.append(0.0)


# -- each protocol reaches LIVE ---------------------------------------------------------


@network
@pytest.mark.parametrize("transport", [RtspTransport.TCP, RtspTransport.UDP])
def test_rtsp_feed_goes_live_over_the_chosen_transport(start_feed, transport) -> None:
    """In: an RTSP server (GStreamer, H.264 320x240 at 15 fps) that offers only `transport`,
    and a feed set to that transport.
    Out: LIVE within 5 s, pictures at about 15 fps, stats say 320x240 h264."""
    with RtspServer(protocols=transport.value) as server:
        feed = start_feed(server.url, rtsp_transport=transport).feed
        wait_state(feed, FeedState.LIVE, timeout_s=5)
        wait_frames(feed, 20, timeout_s=5)
        assert_live_picture(feed, 320, 240)
        assert 11 <= feed.stats.current_fps() <= 19
        assert feed.stats.bitrate_bps > 0
        assert feed.connection.error is None


def assert_goes_live(feed: Feed, within_s: float = 5) -> None:
    """The feed turns LIVE in time, decodes ten frames, and shows a 320x240 h264 picture."""
    wait_state(feed, FeedState.LIVE, timeout_s=within_s)
    wait_frames(feed, 10, timeout_s=5)
    assert_live_picture(feed, 320, 240)


@network
def test_rtmp_feed_goes_live(start_feed) -> None:
    """In: ffmpeg publishing H.264 320x240 at 15 fps as an RTMP server on loopback.
    Out: the feed is LIVE within 5 s with pictures, 320x240 h264."""
    publisher = RtmpPublisher().start()
    source = start_feed(publisher.url)
    try:
        assert_goes_live(source.feed)
    finally:
        source.stop()  # first, while data still comes, so its read returns at once
        publisher.stop()


@network
def test_rtp_mpegts_feed_goes_live(start_feed) -> None:
    """In: ffmpeg sending H.264 320x240 at 15 fps as MPEG-TS over RTP to a UDP port.
    Out: the feed on rtp://127.0.0.1:PORT is LIVE within 5 s with pictures, 320x240 h264."""
    port = free_port(socket.SOCK_DGRAM)
    while port % 2:  # RTP takes an even port, RTCP the next one
        port = free_port(socket.SOCK_DGRAM)
    source = start_feed(f"rtp://127.0.0.1:{port}")
    sender = RtpTsSender(port).start()
    try:
        assert_goes_live(source.feed)
    finally:
        source.stop()
        sender.stop()


@network
def test_udp_mpegts_feed_goes_live(start_feed) -> None:
    """In: Vigil's demo encoder sending H.264 320x240 at 15 fps as MPEG-TS to a UDP port.
    Out: the feed on udp://127.0.0.1:PORT is LIVE within 5 s with pictures, 320x240 h264."""
    port = free_port(socket.SOCK_DGRAM)
    source = start_feed(f"udp://127.0.0.1:{port}")
    sender = UdpTsSender(port).start()
    try:
        assert_goes_live(source.feed)
    finally:
        source.stop()
        sender.stop()
    assert sender.error is None


@network
def test_hls_feed_goes_live(start_feed, tmp_path: Path) -> None:
    """In: ffmpeg writing a live HLS playlist with 1 s segments, served over HTTP on loopback.
    Out: the feed on the playlist's URL is LIVE within 8 s with pictures, 320x240 h264."""
    publisher = HlsPublisher(tmp_path).start()
    source = start_feed(publisher.url, open_timeout_s=4, read_timeout_s=4)
    try:
        assert_goes_live(source.feed, within_s=8)
    finally:
        source.stop()
        publisher.stop()


# -- local files ------------------------------------------------------------------------


def write_video_file(
    path: Path,
    *,
    seconds: float,
    fps: int = 15,
    size: tuple[int, int] = (320, 240),
    b_frames: bool = False,
) -> int:
    """Encode the moving test card to an H.264 file (MP4, TS, ... by extension); returns the
    number of frames written. With `b_frames` the decoder holds frames back for reordering
    and hands the last ones out only when the end of the file drains it, as with most
    camera and phone recordings."""
    card = TestCard(path.stem, size[0], size[1], (200, 150, 80))
    count = round(seconds * fps)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = fps
        params = f"keyint={fps}:min-keyint={fps}:scenecut=0"
        params += ":bframes=2:b-pyramid=none" if b_frames else ":bframes=0"
        stream.codec_context.options = {"preset": "ultrafast", "x264-params": params}
        clock = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        for number in range(count):
            frame = av.VideoFrame.from_ndarray(card.render(number, clock), format="rgb24")
            frame.pts = number
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return count


def test_local_file_plays_at_its_own_pace_then_ends(start_feed, tmp_path: Path) -> None:
    """In: a 2 s, 15 fps H.264 file with B-frames (30 frames).
    Out: every frame is shown, taking at least 1.6 s (its own pace, not as fast as it
    decodes; how much longer a busy machine takes is not this test's business), then the
    feed is ENDED with "end of file" and its thread has finished."""
    path = tmp_path / "clip.ts"
    count = write_video_file(path, seconds=2, b_frames=True)
    started = time.monotonic()
    source = start_feed(str(path))
    feed = source.feed
    wait_state(feed, FeedState.ENDED, timeout_s=30)
    took = time.monotonic() - started
    assert feed.connection.error == "end of file"
    assert feed.stats.frames == count, "frames held back by the decoder are drained at the end"
    assert took >= 1.6, f"played in {took:.2f} s: faster than the file's own 2 s"
    wait_for(lambda: not source.running, 30, "the decode thread to end")
    assert_picture_size(feed, 320, 240)


def test_local_file_with_loop_plays_again_from_the_start(start_feed, tmp_path: Path) -> None:
    """In: a 1 s file (15 frames) opened with loop=True.
    Out: after it has played more than twice the feed is still LIVE, has opened the file
    again each time (connects >= 3) and never showed ENDED."""
    path = tmp_path / "loop.mp4"
    count = write_video_file(path, seconds=1)
    feed = start_feed(str(path), loop=True).feed
    with StateLog(feed) as log:
        wait_frames(feed, 2 * count + 3, timeout_s=6)
    assert feed.state() is FeedState.LIVE
    assert feed.stats.connects >= 3
    assert FeedState.ENDED not in log.states()
    assert FeedState.FAILED not in log.states()


def test_missing_local_file_fails_naming_the_path(start_feed, tmp_path: Path) -> None:
    """In: a path to a file that does not exist.
    Out: FAILED (no retrying) with an error that names the path; the thread ends."""
    path = tmp_path / "no-such-clip.mp4"
    source = start_feed(str(path))
    wait_state(source.feed, FeedState.FAILED, timeout_s=3)
    error = source.feed.connection.error or ""
    assert str(path) in error
    assert "No such file" in error
    wait_for(lambda: not source.running, 2, "the decode thread to end")


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [(".ts", FeedState.ENDED), (".mp4", FeedState.FAILED)],
    ids=["ts-plays-until-the-cut", "mp4-without-its-index-fails"],
)
def test_file_cut_mid_gop_ends_or_fails_cleanly(
    start_feed, tmp_path: Path, suffix: str, expected: FeedState
) -> None:
    """In: a 2 s file cut at 60 % of its bytes, in the middle of a GOP and of a packet.
    Out: a TS plays the frames before the cut and is ENDED; an MP4 (its index was at the
    end) is FAILED naming the path. Either way no exception escapes and the thread ends."""
    path = tmp_path / f"cut{suffix}"
    count = write_video_file(path, seconds=2)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6) + 77])
    source = start_feed(str(path))
    feed = source.feed
    wait_state(feed, FeedState.ENDED, FeedState.FAILED, timeout_s=6)
    assert feed.state() is expected, feed.connection
    if expected is FeedState.ENDED:
        assert 0 < feed.stats.frames < count
    else:
        assert str(path) in (feed.connection.error or "")
        assert feed.stats.frames == 0
    wait_for(lambda: not source.running, 2, "the decode thread to end")


# -- the link breaks --------------------------------------------------------------------


@network
def test_hung_rtsp_server_goes_stalled_then_reconnecting_then_live_again(start_feed) -> None:
    """In: a live RTSP feed whose server then freezes (SIGSTOP: sockets open, nothing sent),
    is then stopped, and is started again on the same port.
    Out: STALLED about 2 s after the last frame, then RECONNECTING with an error text and a
    next attempt time in the future, then LIVE again with new frames.

    (In between it may show LIVE once more: at the read timeout FFmpeg's RTSP demuxer hands
    out the last frame it still held, and the stall clock starts again from there.)"""
    server = RtspServer().start()
    try:
        feed = start_feed(server.url, open_timeout_s=1.0, read_timeout_s=2.5).feed
        wait_frames(feed, 5, timeout_s=5)
        server.hang()
        wait_state(feed, FeedState.STALLED, timeout_s=4)
        wait_state(feed, FeedState.RECONNECTING, timeout_s=8)
        connection = feed.connection
        assert connection.error
        assert connection.next_attempt_at is not None
        assert connection.next_attempt_at > time.monotonic() - 0.1
        server.stop()
        server = RtspServer(port=server.port).start()
        frames = feed.stats.frames
        wait_state(feed, FeedState.LIVE, timeout_s=10)
        wait_frames(feed, frames + 5, timeout_s=3)
        assert feed.connection.error is None
    finally:
        server.stop()


@network
def test_rtsp_server_that_goes_away_is_retried_with_backoff_until_back(start_feed) -> None:
    """In: a live RTSP feed whose server is stopped, then restarted on the same port after
    three reconnect attempts were scheduled; then stopped again.
    Out: RECONNECTING with an error each time; the source's backoff handed out 0.5 s, 1 s
    and 1 s in turn, and each attempt was scheduled at least that long after the one
    before it failed; the retries are refused; LIVE again after the restart, which resets
    the backoff, so the new break waits 0.5 s again. (Delays come from the backoff the
    source used, not from reading clocks on a busy machine.)"""
    server = RtspServer().start()
    backoff = RecordingBackoff()
    try:
        feed = start_feed(server.url, open_timeout_s=1.0, read_timeout_s=2.0, backoff=backoff)
        feed = feed.feed
        wait_frames(feed, 5, timeout_s=10)
        assert backoff.given == [0.0]  # reset as it went live
        with StateLog(feed) as log:
            server.stop()
            wait_for(
                lambda: sum(s is FeedState.RECONNECTING for s in log.states()) >= 3,
                timeout_s=30,
                what="three reconnect attempts to be scheduled",
            )
            server = RtspServer(port=server.port).start()
            wait_state(feed, FeedState.LIVE, timeout_s=30)
        assert backoff.given[:4] == [0.0, 0.5, 1.0, 1.0], backoff.given
        assert backoff.given[-1] == 0.0, "going live again resets the backoff"
        scheduled = [
            (c.next_attempt_at, c.error)
            for _, state, c in log.seen
            if state is FeedState.RECONNECTING and c.next_attempt_at is not None
        ]
        assert all(error for _, error in scheduled)
        assert any("refused" in (error or "").lower() for _, error in scheduled[1:]), scheduled
        times = [at for at, _ in scheduled[:3]]
        for before, after, delay in zip(times, times[1:], (1.0, 1.0), strict=False):
            assert after - before >= delay, (times, backoff.given)
        # Once live, a new break waits 0.5 s again.
        given = len(backoff.given)
        server.stop()
        wait_state(feed, FeedState.RECONNECTING, timeout_s=30)
        assert backoff.given[given] == 0.5, backoff.given
    finally:
        server.stop()


@network
@pytest.mark.parametrize("scheme", ["rtsp", "rtmp"])
def test_closed_port_reconnects_with_connection_refused_and_never_goes_live(
    start_feed, scheme: str
) -> None:
    """In: a feed pointing at a port on 127.0.0.1 where nothing listens.
    Out: RECONNECTING with a "Connection refused" error and a next attempt scheduled;
    never LIVE, no frames, over the first two attempts."""
    port = free_port()
    feed = start_feed(f"{scheme}://127.0.0.1:{port}/live/x").feed
    with StateLog(feed) as log:
        wait_state(feed, FeedState.RECONNECTING, timeout_s=10)
        first = feed.connection
        assert "refused" in (first.error or "").lower(), first
        assert first.next_attempt_at is not None
        # The second attempt fails the same way: a new attempt is scheduled after it.
        wait_for(
            lambda: feed.connection.next_attempt_at not in (None, first.next_attempt_at),
            timeout_s=30,
            what="a second failed attempt",
        )
        assert "refused" in (feed.connection.error or "").lower(), feed.connection
    assert FeedState.LIVE not in log.states()
    assert feed.stats.frames == 0
    assert feed.stats.connects == 0


@network
def test_web_page_is_not_video(start_feed, tmp_path: Path) -> None:
    """In: an HTTP server on loopback answering with an HTML page.
    Out: over two attempts the feed never goes LIVE; it is RECONNECTING with an error
    saying the data is not valid media."""
    (tmp_path / "index.html").write_text(
        "<!doctype html><html><head><title>Camera login</title></head>"
        "<body><form><input name=user><input type=password></form></body></html>\n" * 40,
        encoding="utf-8",
    )
    http = HttpServer(tmp_path).start()
    try:
        feed = start_feed(http.url("index.html")).feed
        with StateLog(feed) as log:
            wait_state(feed, FeedState.RECONNECTING, timeout_s=10)
            first = feed.connection.next_attempt_at
            wait_for(
                lambda: feed.connection.next_attempt_at not in (None, first),
                timeout_s=30,
                what="a second failed attempt",
            )
        assert FeedState.LIVE not in log.states()
        assert feed.stats.frames == 0
        error = (feed.connection.error or "").lower()
        assert "invalid data" in error or "no video" in error, feed.connection
    finally:
        http.stop()


# -- damaged and changing streams -------------------------------------------------------


@network
def test_udp_garbage_before_the_stream_then_valid_ts_goes_live(start_feed) -> None:
    """In: a UDP feed that first receives random bytes (a misconfigured sender), then a
    valid MPEG-TS stream on the same port.
    Out: no crash; the feed reaches LIVE with 320x240 pictures (reopening if it must)."""
    port = free_port(socket.SOCK_DGRAM)
    relay = UdpRelay(port).start()
    source = start_feed(f"udp://127.0.0.1:{port}", open_timeout_s=1.0, read_timeout_s=1.0)
    feed = source.feed
    sender = None
    try:
        for _ in range(20):
            relay.send_garbage(10)
            time.sleep(0.02)
        sender = UdpTsSender(relay.port).start()
        wait_state(feed, FeedState.LIVE, timeout_s=8)
        wait_frames(feed, 10, timeout_s=4)
        assert_live_picture(feed, 320, 240)
        assert source.running
    finally:
        source.stop()
        if sender is not None:
            sender.stop()
        relay.stop()


@network
def test_udp_stream_damaged_mid_stream_counts_decode_errors_and_recovers(start_feed) -> None:
    """In: a live UDP MPEG-TS feed whose datagrams are damaged (video payload overwritten,
    random datagrams mixed in) until the decoder has counted errors, then clean again.
    Out: decode_errors > 0, no crash, and pictures keep coming at about the stream's rate
    once the damage stops; the feed is LIVE."""
    port = free_port(socket.SOCK_DGRAM)
    relay = UdpRelay(port).start()
    source = start_feed(f"udp://127.0.0.1:{port}")
    feed = source.feed
    sender = UdpTsSender(relay.port).start()
    try:
        wait_frames(feed, 10, timeout_s=30)
        relay.damaging.set()
        wait_for(
            lambda: relay.damaged_packets > 0 and feed.stats.decode_errors > 0,
            30,
            "the damage to reach the decoder",
        )
        relay.damaging.clear()
        frames = feed.stats.frames
        wait_frames(feed, frames + 20, timeout_s=30)
        assert feed.stats.decode_errors > 0
        assert feed.state() is FeedState.LIVE
        assert source.running
    finally:
        source.stop()
        sender.stop()
        relay.stop()
    assert sender.error is None


@network
def test_resolution_change_mid_stream_is_followed(start_feed) -> None:
    """In: a live UDP MPEG-TS feed at 320x240 whose sender switches to 640x360.
    Out: stats width/height become 640x360, pictures keep coming, and they are still
    scaled to fit the 320x180 tile (now exactly 320x180, the new aspect ratio)."""
    port = free_port(socket.SOCK_DGRAM)
    source = start_feed(f"udp://127.0.0.1:{port}")
    feed = source.feed
    sender = UdpTsSender(port).start()
    try:
        wait_frames(feed, 5, timeout_s=5)
        assert_live_picture(feed, 320, 240)
        sender.resize(640, 360)
        wait_for(
            lambda: (feed.stats.width, feed.stats.height) == (640, 360),
            timeout_s=4,
            what="the new size in the stats",
        )
        frames = feed.stats.frames
        wait_frames(feed, frames + 10, timeout_s=3)
        assert_live_picture(feed, 640, 360)
        picture = feed.slot.peek()
        assert picture is not None
        assert (picture.width, picture.height) == (320, 180)
    finally:
        source.stop()
        sender.stop()
    assert sender.error is None


# -- one feed never holds up another ----------------------------------------------------


@network
def test_dead_feeds_do_not_slow_a_live_one(start_feed, rtsp_server: RtspServer) -> None:
    """In: three dead feeds (a server that accepts and never answers, for RTSP and for HTTP,
    and a closed port) opened next to one live RTSP feed at 15 fps.
    Out: while the dead ones keep failing and retrying, the live one goes LIVE and never
    loses its connection and decodes 30 frames more while the silent server
    holds two or more of their connections; the dead ones have no frames. (How fast it
    decodes beside them is a benchmark's figure: tests/benchmarks.)"""
    hole = BlackHoleServer().start()
    try:
        dead: list[FeedSource] = [
            start_feed(f"rtsp://127.0.0.1:{hole.port}/live", open_timeout_s=1.0),
            start_feed(f"http://127.0.0.1:{hole.port}/live.m3u8", open_timeout_s=1.0),
            start_feed(f"rtsp://127.0.0.1:{free_port()}/live", open_timeout_s=1.0),
        ]
        live = start_feed(rtsp_server.url, name="LIVE").feed
        with StateLog(live) as log:
            wait_frames(live, 5, timeout_s=10)
            before = live.stats.frames
            # 30 frames (2 s of the stream) decoded while the dead feeds were retried:
            # at least two connections made to the silent server, and still hanging.
            wait_for(
                lambda: live.stats.frames - before >= 30 and hole.connections >= 2,
                timeout_s=30,
                what="frames of the live feed while the dead ones hang",
            )
            assert live.state() is FeedState.LIVE
        lost = {FeedState.RECONNECTING, FeedState.FAILED, FeedState.ENDED}
        assert not lost & set(log.states()), log.seen
        for source in dead:
            assert source.feed.state() in (FeedState.CONNECTING, FeedState.RECONNECTING)
            assert source.feed.stats.frames == 0
    finally:
        hole.stop()


@network
def test_drone_klv_gives_the_feed_its_position(start_feed) -> None:
    """In: a drone stream on UDP: H.264 plus a KLV data stream (MISB ST 0601 local sets,
    muxed with PyAV's add_data_stream("klv")) from a drone circling York.
    Out: once live, the feed's location comes and is where the orbit puts the drone
    at the stamped time (to within a few metres of tag quantisation), with its heading;
    the telemetry carries the frame centre and four corners; the KLV reader counts good
    local sets and drops none."""
    port = free_port(socket.SOCK_DGRAM)
    orbit = Orbit(YORK)
    source = start_feed(f"udp://127.0.0.1:{port}")
    sender = UdpTsSender(port, orbit=orbit).start()
    try:
        assert_goes_live(source.feed)
        wait_for(lambda: source.feed.location is not None, timeout_s=30, what="a KLV fix")
        location, telemetry = source.feed.location, source.feed.telemetry
    finally:
        source.stop()
        sender.stop()
    assert location is not None
    assert telemetry is not None
    # The orbit is 400 m from York's centre; the fix must lie on it.
    north = (location.lat - YORK[0]) * 111_320
    east = (location.lon - YORK[1]) * 111_320 * math.cos(math.radians(YORK[0]))
    assert math.hypot(north, east) == pytest.approx(400, abs=5)
    assert location.heading_deg is not None
    assert 0 <= location.heading_deg <= 360
    assert telemetry.frame_centre_lat == pytest.approx(YORK[0], abs=1e-5)
    assert telemetry.corners is not None
    assert len(telemetry.corners) == 4
    assert source.feed.klv is not None
    assert source.feed.klv.good >= 1
    assert source.feed.klv.bad_checksum == source.feed.klv.truncated == 0

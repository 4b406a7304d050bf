"""SRT feeds read through Debian's srt-live-transmit, against a real SRT sender.

The sender is ffmpeg's own libsrt output (tests/servers.py's `SrtSender`): a live H.264
MPEG-TS at 320x240, 15 fps, over SRT on loopback, as a listener that Vigil calls or as a
caller that calls Vigil's listener, with or without a passphrase. Vigil's side is the real
`FeedSource`, with its srt-live-transmit relay.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import time

import pytest

from media.live.feed import FeedState
from media.live.source import FeedSource
from tests.servers import SrtSender, free_port, udp_bound, wait_for


@pytest.fixture(autouse=True)
def srt_tools() -> None:
    """A machine without srt-live-transmit fails these tests, never skips them: make test
    installs srt-tools, and an untested SRT path must not pass quietly."""
    if shutil.which("srt-live-transmit") is None:
        pytest.fail("srt-live-transmit is not installed (make test installs srt-tools)")


PASSPHRASE = "drone-4521-secret"
WRONG = "not-the-drone-secret"
LIVE_WITHIN_S = 15.0


def live_with_frames(source: FeedSource, more_than: int = 0) -> bool:
    feed = source.feed
    return feed.state() is FeedState.LIVE and feed.stats.frames > more_than


def no_secret_in(text: str) -> None:
    assert PASSPHRASE not in text, "the passphrase leaked"


def test_caller_mode_calls_the_senders_listener_and_goes_live(start_feed, caplog) -> None:
    """In: an SRT sender listening on 127.0.0.1:PORT; a feed `srt://127.0.0.1:PORT` (caller
    mode, no passphrase).
    Out: the feed goes live within 15 s with H.264 320x240 pictures, read from a relay whose
    UDP port is bound on 127.0.0.1 only; its stderr is logged at debug."""
    caplog.set_level(logging.DEBUG, logger="media.live.srt_relay")
    port = free_port()
    sender = SrtSender(port, "listener").start()
    try:
        source = start_feed(f"srt://127.0.0.1:{port}", name="DRONE-1")
        wait_for(lambda: live_with_frames(source, 5), LIVE_WITHIN_S, "the SRT feed live")
        stats = source.feed.stats
        assert (stats.codec, stats.width, stats.height) == ("h264", 320, 240)
        assert source.relay is not None
        assert source.relay.local_url.startswith("udp://127.0.0.1:")
        assert udp_bound(source.relay.port)
        assert source.relay.starts == 1
        assert "SRT source connected" in caplog.text
    finally:
        sender.stop()


def test_listener_mode_with_the_right_passphrase_goes_live(start_feed, caplog) -> None:
    """In: a feed `srt://127.0.0.1:PORT?mode=listener` with the passphrase; an SRT sender
    that calls it with the same passphrase.
    Out: live within 15 s; the passphrase is in no log line (the relay echoes its URI and
    libsrt's messages, both blanked)."""
    caplog.set_level(logging.DEBUG)
    port = free_port()
    source = start_feed(
        f"srt://127.0.0.1:{port}?mode=listener", name="DRONE-2", password=PASSPHRASE
    )
    wait_for(lambda: udp_bound(port), 5.0, "Vigil's SRT listener")
    sender = SrtSender(port, "caller", PASSPHRASE).start()
    try:
        wait_for(lambda: live_with_frames(source, 5), LIVE_WITHIN_S, "the SRT feed live")
        assert "passphrase=***" in caplog.text  # the echoed URI was logged, blanked
        no_secret_in(caplog.text)
        no_secret_in(repr(source.feed.spec))
    finally:
        sender.stop()


@pytest.mark.parametrize(
    ("vigil_mode", "vigil_secret", "sender_secret", "reason"),
    [
        ("caller", WRONG, PASSPHRASE, "Incorrect passphrase"),
        ("listener", PASSPHRASE, WRONG, "Incorrect passphrase"),
        ("caller", None, PASSPHRASE, "Password required or unexpected"),
    ],
    ids=["caller-wrong", "listener-wrong", "caller-none"],
)
def test_a_wrong_passphrase_is_never_live_and_says_why(
    start_feed, vigil_mode, vigil_secret, sender_secret, reason
) -> None:
    """In: Vigil and the sender with different passphrases (or Vigil with none), each way
    round.
    Out: over 8 s the feed never goes live and never shows a frame; it shows RECONNECTING
    with "SRT connection rejected: <libsrt's reason>"; a caller relay is started again and
    again with the backoff (not srt-live-transmit's own 10 ms retry loop)."""
    port = free_port()
    if vigil_mode == "caller":
        sender = SrtSender(port, "listener", sender_secret).start()
        url = f"srt://127.0.0.1:{port}"
    else:
        url = f"srt://127.0.0.1:{port}?mode=listener"
    source = start_feed(url, name="DRONE-3", password=vigil_secret)
    if vigil_mode == "listener":
        wait_for(lambda: udp_bound(port), 5.0, "Vigil's SRT listener")
        sender = SrtSender(port, "caller", sender_secret).start()
    try:
        said = f"SRT connection rejected: {reason}"
        wait_for(lambda: source.feed.connection.error == said, 10.0, f"the reason {said!r}")
        deadline = time.monotonic() + 8.0
        while time.monotonic() < deadline:
            assert source.feed.state() is not FeedState.LIVE
            assert source.feed.stats.frames == 0
            time.sleep(0.1)
        assert source.feed.state() is FeedState.RECONNECTING
        assert source.feed.connection.error == said
        assert source.relay is not None
        if vigil_mode == "caller":
            assert 3 <= source.relay.starts <= 20, source.relay.starts
    finally:
        sender.stop()


def test_a_sender_that_dies_and_comes_back_is_live_again(start_feed) -> None:
    """In: a live caller-mode feed; its sender killed (SIGKILL, nothing said to Vigil), then
    started again on the same port 3 s later.
    Out: the feed leaves LIVE, and is live again with new frames within 15 s of the sender's
    return (SRT notices a silent peer after its 5 s idle timeout, then the relay calls
    again); the time it took is printed."""
    port = free_port()
    sender = SrtSender(port, "listener", PASSPHRASE).start()
    try:
        source = start_feed(f"srt://127.0.0.1:{port}", name="DRONE-4", password=PASSPHRASE)
        wait_for(lambda: live_with_frames(source, 5), LIVE_WITHIN_S, "the SRT feed live")
        sender.kill()
        wait_for(lambda: source.feed.state() is not FeedState.LIVE, 5.0, "the feed to leave LIVE")
        time.sleep(3.0)
        frames = source.feed.stats.frames
        sender.start()
        back = time.monotonic()
        wait_for(lambda: live_with_frames(source, frames + 5), LIVE_WITHIN_S, "live again")
        print(f"live again {time.monotonic() - back:.1f} s after the sender came back")
    finally:
        sender.stop()


def test_a_killed_relay_is_started_again_and_stop_ends_it(start_feed) -> None:
    """In: a live listener-mode feed whose srt-live-transmit is killed (SIGKILL); the sender,
    as encoders do, calls again when its connection breaks.
    Out: a new relay process on the same port, the feed live again with new frames; after
    `stop()` the relay process is gone (SIGTERM) and not started again."""
    port = free_port()
    source = start_feed(f"srt://127.0.0.1:{port}?mode=listener", name="DRONE-5")
    relay = source.relay
    assert relay is not None
    wait_for(lambda: udp_bound(port), 5.0, "Vigil's SRT listener")
    sender = SrtSender(port, "caller").start()
    try:
        wait_for(lambda: live_with_frames(source, 5), LIVE_WITHIN_S, "the SRT feed live")
        first = relay.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: relay.pid not in (None, first), 5.0, "a new relay")
        wait_for(lambda: udp_bound(port), 5.0, "Vigil's SRT listener again")
        sender.stop()  # its link broke: it calls again, as an encoder would
        frames = source.feed.stats.frames
        sender.start()
        wait_for(lambda: live_with_frames(source, frames + 5), LIVE_WITHIN_S, "live again")
        last = relay.pid
        assert last is not None
    finally:
        sender.stop()
    source.stop(timeout_s=3.0)
    assert relay.pid is None
    wait_for(lambda: not os.path.exists(f"/proc/{last}"), 3.0, "the relay process gone")
    starts = relay.starts
    time.sleep(1.5)
    assert relay.starts == starts, "a stopped relay was started again"

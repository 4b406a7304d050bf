"""A feed's shown state: live until no frame came for 2 s, then stalled; the source's state otherwise."""

from media.live.feed import STALL_AFTER_S, Connection, Feed, FeedKind, FeedSpec, FeedState


def make_feed() -> Feed:
    return Feed(FeedSpec("BWV-1", FeedKind.BODYCAM, "udp://127.0.0.1:1"))


def test_live_feed_turns_stalled_after_two_silent_seconds() -> None:
    feed = make_feed()
    feed.set_connection(Connection(FeedState.LIVE))
    feed.stats.on_frame(640, 360, 0.001, 100.0)
    assert feed.state(now=100.0 + STALL_AFTER_S - 0.1) is FeedState.LIVE
    assert feed.state(now=100.0 + STALL_AFTER_S) is FeedState.STALLED
    feed.stats.on_frame(640, 360, 0.001, 103.0)
    assert feed.state(now=103.1) is FeedState.LIVE, "a frame brings it back"


def test_other_states_pass_through() -> None:
    feed = make_feed()
    assert feed.state() is FeedState.CONNECTING
    feed.set_connection(Connection(FeedState.RECONNECTING, "Connection refused", 5.0))
    assert feed.state(now=1.0) is FeedState.RECONNECTING
    assert feed.connection.error == "Connection refused"


def test_password_never_in_repr() -> None:
    spec = FeedSpec("CAM", FeedKind.CAMERA, "rtsp://127.0.0.1/x", username="u", password="s3cret")
    assert "s3cret" not in repr(spec)
    assert "s3cret" not in repr(Feed(spec))

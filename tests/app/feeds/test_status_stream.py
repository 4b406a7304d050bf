"""What `vigil status` says of a feed's streams: `stream` (main | sub), `decoding`, and its
sub-stream's URL (credentials left out) and, when it is not used, why."""

from __future__ import annotations

from app.feeds.status import feed_status
from media.live import Decoding, Feed, FeedKind, FeedSpec, StreamRole


def test_status_says_which_stream_is_shown_and_what_is_decoded() -> None:
    """In: a feed with a sub-stream, first as it starts, then shown from its sub-stream
    while hidden (key frames), then with its sub-stream refused; and a feed without one.
    Out: stream main / decoding all; stream sub / decoding key frames; the problem in
    words; the sub-stream's URL never with its password; null where there is none."""
    spec = FeedSpec(
        "Gate",
        FeedKind.CAMERA,
        "rtsp://10.1.2.3/live",
        username="viewer",
        password="hunter2",
        substream_url="rtsp://viewer:hunter2@10.1.2.3/sub",
    )
    feed = Feed(spec)
    status = feed_status(feed)
    assert (status["stream"], status["decoding"]) == ("main", "all")
    assert status["substream_url"] == "rtsp://10.1.2.3/sub"
    assert status["substream_problem"] is None

    feed.stream, feed.decoding = StreamRole.SUB, Decoding.KEY_FRAMES
    status = feed_status(feed)
    assert (status["stream"], status["decoding"]) == ("sub", "key frames")

    feed.substream_problem = "sub-stream down: Connection refused"
    assert feed_status(feed)["substream_problem"] == "sub-stream down: Connection refused"

    plain = feed_status(Feed(FeedSpec("Roof", FeedKind.CAMERA, "udp://127.0.0.1:5000")))
    assert plain["stream"] == "main"
    assert plain["substream_url"] is None
    assert "hunter2" not in str(feed_status(feed))

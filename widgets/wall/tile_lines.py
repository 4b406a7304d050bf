"""What a tile's footer says about its picture, as text (painted by the tile, read by tests):
the stats line (SUB where the picture comes from the camera's sub-stream, its size, codec
and delay) and, where the sub-stream cannot be used, why."""

from __future__ import annotations

from media.live import Feed, FeedState, StreamRole


def stats_line(feed: Feed, state: FeedState, delay_ms: float | None) -> str:
    stats = feed.stats
    parts = []
    if feed.stream is StreamRole.SUB:
        parts.append("SUB")  # the camera's smaller stream: enough for this tile's size
    if stats.width:
        parts.append(f"{stats.width}×{stats.height}")
    if stats.codec:
        parts.append(stats.codec)
    if delay_ms is not None and state is FeedState.LIVE:
        parts.append(f"+{delay_ms:.0f} ms")
    return "  ·  ".join(parts)


def substream_line(feed: Feed) -> str | None:
    """Why the feed's sub-stream is not used (the main one is shown meanwhile), or None.
    Said, not hidden: the camera needs fixing though the tile looks fine."""
    problem = feed.substream_problem
    if problem is None:
        return None
    return problem[:1].upper() + problem[1:]

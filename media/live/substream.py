"""Which of a camera's two streams a feed is shown from: its main stream or its sub-stream.

A feed with a `substream_url` is read on two threads: the main stream's (always, since its
packets are the ones recorded) and the sub-stream's (`SubstreamSource`). `StreamSwitch` is
what the two share, and decides:

- **Which is wanted.** The smallest stream whose picture is at least as tall as it is shown
  in the tile, else the biggest: the sub-stream for small tiles (and hidden ones), the
  main one when spotlit or in a big cell. Hysteresis keeps a tile at the boundary from
  flapping: from main to sub only once the picture is shown at most 90% of the sub's
  height, back to main as soon as it is taller than the sub.
- **Make before break.** The stream switched to decodes from its next key frame while the
  one shown goes on as before; its first picture is what switches the tile. So the tile
  never goes black: the old stream's pictures last until the new stream's first one
  (within one key-frame interval), then the old stream stops being decoded.
- **Never a bad sub-stream.** One that is down, of another codec, of another shape, or not
  smaller than the main is not used, and why is said on the tile and in `vigil status`
  (`Feed.substream_problem`); the main stream is shown meanwhile.

The switch runs on the decode threads, at each packet: the wall only says the size it
shows a feed at (`Feed.set_display_size`) and how much to decode (`Feed.decoding`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from media.live.feed import STALL_AFTER_S, Connection, Decoding, Feed, FeedState, StreamRole
from media.live.stats import FeedStats

HYSTERESIS = 0.9
"""From main to sub only once the picture is shown at most this share of the sub's height."""
ASPECT_TOLERANCE = 0.03
"""Display aspect ratios this close (3%) are the same shape (1280x720 and 640x362 are)."""
NO_PICTURE = "sub-stream not used: no picture came from it"
GIVE_UP_S = 5.0
"""A sub-stream switched to that gives no picture in this long is not used (it has key
frames further apart than any camera's, or they do not decode)."""


@dataclass(frozen=True)
class StreamInfo:
    """What a stream's decoder says of it at connection."""

    codec: str
    width: int
    height: int
    sar: Fraction | None = None

    @property
    def aspect(self) -> float:
        """The display aspect ratio, width over height."""
        return self.width / self.height * (float(self.sar) if self.sar else 1.0)

    @property
    def size(self) -> str:
        return f"{self.width}×{self.height}"


def sub_problem(main: StreamInfo, sub: StreamInfo) -> str | None:
    """Why this sub-stream cannot stand in for this main one, in a few words; None if it can."""
    if sub.width <= 0 or sub.height <= 0:
        return "sub-stream not used: its picture size is unknown"
    if sub.codec != main.codec:
        return f"sub-stream not used: it is {sub.codec}, the main {main.codec}"
    if abs(sub.aspect / main.aspect - 1) > ASPECT_TOLERANCE:
        return f"sub-stream not used: {sub.size} is another shape than the main {main.size}"
    if sub.height >= main.height or sub.width >= main.width:
        return f"sub-stream not used: {sub.size} is not smaller than the main {main.size}"
    return None


def shown_height(main: StreamInfo, box: tuple[int, int]) -> int:
    """Device pixels tall the picture is shown at in a tile of `box`: the tile's height, or
    less where the tile is narrower than the picture's shape; 0 where it is not shown."""
    box_w, box_h = box
    if box_w <= 0 or box_h <= 0:
        return 0
    return min(box_h, round(box_w / main.aspect))


def choose(height: int, sub_height: int, current: StreamRole | None) -> StreamRole:
    """The stream to show a picture `height` pixels tall from, the size having chosen
    `current` last (None: nothing yet, or the sub-stream was not usable)."""
    if current is None:
        return StreamRole.SUB if height <= sub_height else StreamRole.MAIN
    if current is StreamRole.SUB:
        return StreamRole.SUB if height <= sub_height else StreamRole.MAIN
    return StreamRole.SUB if height <= sub_height * HYSTERESIS else StreamRole.MAIN


class StreamSwitch:
    """One feed's choice between its main stream and its sub-stream, shared by their two
    decode threads. The shown stream is `Feed.stream`; the wanted one is `target`."""

    def __init__(self, feed: Feed, *, give_up_s: float = GIVE_UP_S) -> None:
        self.feed = feed
        self.main: StreamInfo | None = None
        """The main stream as last connected (written by its thread)."""
        self.sub: StreamInfo | None = None
        """The sub-stream as last connected (written by its thread)."""
        self.sub_connection = Connection(FeedState.CONNECTING)
        self.sub_stats = FeedStats()
        """The sub-stream's packets, connections and decode errors; its shown pictures count
        in the feed's own stats, like the main stream's."""
        self.decoded = dict.fromkeys(StreamRole, 0)
        """Frames decoded of each stream, shown or not (each written by its own thread)."""
        self.target = StreamRole.MAIN
        self._give_up_s = give_up_s
        self._pending_since: float | None = None
        self._by_size = False
        """Whether `target` was chosen by the picture's size (so hysteresis applies)."""
        self._gave_up_at_connect: int | None = None
        self._lock = threading.Lock()

    # -- asked by each decode thread at every packet --------------------------------------

    def decoding(self, role: StreamRole) -> Decoding:
        """How much of `role`'s video to decode: what the feed wants of the stream shown and
        of the one switched to, nothing of the other."""
        if role is self.feed.stream or role is self.target:
            return self.feed.decoding
        return Decoding.NONE

    def wants(self, role: StreamRole) -> bool:
        """Whether a picture of `role` may still be shown (worth converting)."""
        return role is self.feed.stream or role is self.target

    def show(self, role: StreamRole, put: Callable[[], None] | None) -> bool:
        """Show a picture of `role` (`put` puts it in the slot; None: the tile is hidden)
        if it is the stream shown, or the one switched to, whose first picture switches the
        feed. False, and nothing put, if another stream is shown now. Under a lock, so the
        stream switched from never puts a picture after the new stream's first."""
        with self._lock:
            if role is not self.feed.stream:
                if role is not self.target:
                    return False
                self.feed.stream = role
                self._pending_since = None
            if put is not None:
                put()
            return True

    def update(self, now: float | None = None) -> None:
        """Decide the stream wanted now, from the size the feed is shown at and the health
        and shape of the sub-stream."""
        now = time.monotonic() if now is None else now
        feed = self.feed
        problem = self._problem(now)
        feed.substream_problem = problem
        with self._lock:
            main, sub = self.main, self.sub
            want = StreamRole.MAIN
            if problem is None and main is not None and sub is not None:
                last = self.target if self._by_size else None
                want = choose(shown_height(main, feed.display_size), sub.height, last)
                self._by_size = True
            else:
                self._by_size = False
            if want is not self.target:
                self.target = want
                self._pending_since = now
            if self.target is feed.stream:
                return
            if feed.decoding is Decoding.NONE:
                feed.stream = self.target  # nothing is shown: nothing to wait for
                self._pending_since = None
            elif (
                self.target is StreamRole.SUB
                and self._pending_since is not None
                and now - self._pending_since > self._give_up_s
            ):
                self._gave_up_at_connect = self.sub_stats.connects
                self.target = StreamRole.MAIN
                self._pending_since = None
                self._by_size = False
                feed.substream_problem = NO_PICTURE

    def _problem(self, now: float) -> str | None:
        connection = self.sub_connection
        if connection.state in (FeedState.RECONNECTING, FeedState.FAILED, FeedState.ENDED):
            return f"sub-stream down: {connection.error or connection.state.value}"
        if connection.state is FeedState.LIVE:
            quiet = self.sub_stats.last_packet_age(now)
            if quiet is not None and quiet >= STALL_AFTER_S:
                return f"sub-stream down: nothing for {quiet:.0f} s"
        if self.main is not None and self.sub is not None:
            mismatch = sub_problem(self.main, self.sub)
            if mismatch is not None:
                return mismatch
        if self._gave_up_at_connect is not None:
            if self._gave_up_at_connect == self.sub_stats.connects:
                return NO_PICTURE
            self._gave_up_at_connect = None  # reconnected since: try it again
        return None

"""What the alert list shows: feeds that stalled, lost their link, failed or stopped recording,
and callers who ended or declined, each raised once and kept until cleared.

`AlertWatcher` is the model, free of Qt: `check(feeds)` (the window's status timer, twice a
second) compares each feed's state with what it has already said and raises an alert on a
transition, never one per poll; the feed going live again resolves it ("recovered after
6 s"), and so does the feed leaving the wall. Events a feed's state cannot tell apart (a
caller declining looks like any other end) come in through `raise_alert`. Views listen
through `changed`.
"""

from __future__ import annotations

import enum
import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from media.live import Feed, FeedKind, FeedState

FIRST_CONNECT_GRACE_S = 30.0
"""A feed that has never been live raises nothing while it keeps trying (starting cameras
take a while); one still without a picture after this long is reported as reconnecting."""
MAX_ALERTS = 500
"""Past this, the oldest resolved alerts go first, then the oldest of all."""


class AlertKind(enum.StrEnum):
    STALLED = "stalled"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    CALLER_ENDED = "caller ended"
    CALLER_DECLINED = "caller declined"
    RECORDING_STOPPED = "recording stopped"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Severity(enum.IntEnum):
    NOTICE = 1
    """Worth knowing, nothing lost (a caller hanging up)."""
    WARNING = 2
    """Pictures are not arriving now."""
    CRITICAL = 3
    """Pictures or evidence are lost until someone acts."""


SEVERITY: dict[AlertKind, Severity] = {
    AlertKind.STALLED: Severity.WARNING,
    AlertKind.RECONNECTING: Severity.WARNING,
    AlertKind.FAILED: Severity.CRITICAL,
    AlertKind.CALLER_ENDED: Severity.NOTICE,
    AlertKind.CALLER_DECLINED: Severity.NOTICE,
    AlertKind.RECORDING_STOPPED: Severity.CRITICAL,
}

_LIVE_ENDS = (AlertKind.STALLED, AlertKind.RECONNECTING, AlertKind.FAILED, AlertKind.CALLER_ENDED)
"""The alerts a feed's picture coming back answers."""
_CALLER_ENDS = (AlertKind.CALLER_ENDED, AlertKind.CALLER_DECLINED)


@dataclass
class Alert:
    """One thing that went wrong with one feed. Mutable: acknowledged and resolved in place."""

    id: int
    at: float
    """Unix time it was raised."""
    feed: str
    """The feed's name, as its tile shows it."""
    kind: AlertKind
    severity: Severity
    text: str
    acknowledged: bool = False
    resolved_at: float | None = None
    """Unix time the condition ended; None while it lasts."""
    resolution: str | None = None
    """How it ended, in words: "recovered after 6 s"."""

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None


@dataclass
class _Track:
    """What the watcher remembers of one feed between polls."""

    first_seen: float
    ever_live: bool = False


class AlertWatcher:
    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._alerts: list[Alert] = []
        self._tracks: dict[str, _Track] = {}
        self._ids = itertools.count(1)
        self.changed: list[Callable[[Sequence[Alert]], None]] = []
        """Called after every change with the alerts it newly raised (often none)."""

    @property
    def alerts(self) -> tuple[Alert, ...]:
        """Oldest first."""
        return tuple(self._alerts)

    @property
    def unacknowledged(self) -> int:
        return sum(not alert.acknowledged for alert in self._alerts)

    def find(self, alert_id: int) -> Alert | None:
        return next((alert for alert in self._alerts if alert.id == alert_id), None)

    def now(self) -> float:
        """The watcher's Unix time (a view's "2 min ago" counts from it)."""
        return self._clock()

    # -- raising and resolving ---------------------------------------------------------

    def check(self, feeds: Iterable[Feed], now: float | None = None) -> list[Alert]:
        """Compare the feeds with what was already said; `now` is monotonic time, as
        `Feed.state` takes it. Returns the alerts newly raised."""
        now = time.monotonic() if now is None else now
        wall = self._clock()
        raised: list[Alert] = []
        resolved = 0
        present: set[str] = set()
        tracked: set[str] = set()
        for feed in feeds:
            present.add(feed.name)
            tracked.add(feed.id)
            track = self._tracks.setdefault(feed.id, _Track(first_seen=now))
            state = feed.state(now)
            if state is FeedState.LIVE:
                track.ever_live = True
                resolved += self._resolve(feed.name, _LIVE_ENDS, wall, "recovered")
            else:
                found = self._from_state(feed, state, track, now)
                if found is not None:
                    raised.append(self._add(wall, feed.name, *found))
            stopped = feed.recording_stopped
            if stopped is not None and not self._open(feed.name, AlertKind.RECORDING_STOPPED):
                raised.append(self._add(wall, feed.name, AlertKind.RECORDING_STOPPED, stopped))
            elif stopped is None:
                stops = (AlertKind.RECORDING_STOPPED,)
                resolved += self._resolve(feed.name, stops, wall, "recording again")
        for feed_id in self._tracks.keys() - tracked:
            del self._tracks[feed_id]
        # A feed taken off the wall (an ended caller dismissed) has nothing left to watch.
        for alert in self._alerts:
            if not alert.resolved and alert.feed not in present:
                alert.resolved_at, alert.resolution = wall, "taken off the wall"
                resolved += 1
        if raised or resolved:
            self._trim()
            self._tell(raised)
        return raised

    def raise_alert(self, kind: AlertKind, feed: str, text: str) -> Alert:
        """An alert the feeds' states cannot show (a caller declining to share video).
        It lasts until the feed leaves the wall, or its picture comes back."""
        alert = self._add(self._clock(), feed, kind, text)
        self._trim()
        self._tell([alert])
        return alert

    def _from_state(
        self, feed: Feed, state: FeedState, track: _Track, now: float
    ) -> tuple[AlertKind, str] | None:
        error = feed.connection.error
        if state is FeedState.STALLED:
            kind, text = AlertKind.STALLED, "no new picture"
        elif state is FeedState.RECONNECTING:
            kind, text = AlertKind.RECONNECTING, error or "connection lost"
            if not track.ever_live:
                if now - track.first_seen < FIRST_CONNECT_GRACE_S:
                    return None
                text = f"no picture since it started: {text}"
        elif state is FeedState.FAILED:
            kind, text = AlertKind.FAILED, error or "failed"
        elif state is FeedState.ENDED and _is_caller(feed):
            if any(self._open(feed.name, end) for end in _CALLER_ENDS):
                return None  # the desk already said why (declined), or nothing new
            kind, text = AlertKind.CALLER_ENDED, error or "ended"
        else:
            return None
        return None if self._open(feed.name, kind) else (kind, text)

    def _add(self, at: float, feed: str, kind: AlertKind, text: str) -> Alert:
        alert = Alert(next(self._ids), at, feed, kind, SEVERITY[kind], text)
        self._alerts.append(alert)
        return alert

    def _open(self, feed: str, kind: AlertKind) -> Alert | None:
        return next(
            (a for a in self._alerts if a.feed == feed and a.kind is kind and not a.resolved),
            None,
        )

    def _resolve(self, feed: str, kinds: Sequence[AlertKind], at: float, how: str) -> int:
        count = 0
        for alert in self._alerts:
            if alert.feed == feed and alert.kind in kinds and not alert.resolved:
                alert.resolved_at = at
                alert.resolution = f"{how} after {duration_text(at - alert.at)}"
                count += 1
        return count

    def _trim(self) -> None:
        excess = len(self._alerts) - MAX_ALERTS
        if excess <= 0:
            return
        resolved = {a.id for a in self._alerts if a.resolved}
        doomed = sorted(resolved)[:excess]
        if len(doomed) < excess:
            rest = [a.id for a in self._alerts if a.id not in resolved]
            doomed += rest[: excess - len(doomed)]
        gone = set(doomed)
        self._alerts = [a for a in self._alerts if a.id not in gone]

    # -- the operator's answers --------------------------------------------------------

    def acknowledge(self, alert_id: int) -> None:
        alert = self.find(alert_id)
        if alert is not None and not alert.acknowledged:
            alert.acknowledged = True
            self._tell([])

    def acknowledge_all(self) -> None:
        if self.unacknowledged:
            for alert in self._alerts:
                alert.acknowledged = True
            self._tell([])

    def clear_resolved(self) -> None:
        """Take resolved alerts off the list; what still lasts stays."""
        kept = [alert for alert in self._alerts if not alert.resolved]
        if len(kept) != len(self._alerts):
            self._alerts = kept
            self._tell([])

    def _tell(self, raised: Sequence[Alert]) -> None:
        for listener in self.changed:
            listener(raised)


def _is_caller(feed: Feed) -> bool:
    """A feed that came through a caller link (the control room can end it), or a caller."""
    return feed.can_end or feed.kind is FeedKind.CALLER


def duration_text(seconds: float) -> str:
    """ "6 s", "2 min 5 s", "1 h 4 min": how long something lasted."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def ago_text(seconds: float) -> str:
    """ "just now", "40 s ago", "2 min ago", "3 h ago": how long since it was raised."""
    whole = max(0, int(seconds))
    if whole < 10:
        return "just now"
    if whole < 60:
        return f"{whole} s ago"
    if whole < 3600:
        return f"{whole // 60} min ago"
    return f"{whole // 3600} h ago"


def clock_text(at: float) -> str:
    """Local wall-clock time, HH:MM:SS."""
    return time.strftime("%H:%M:%S", time.localtime(at))

"""The alert list: alerts raised once per transition from real `Feed` models, resolved when
the picture comes back, and a click away from their tile.

Time is the test's: feeds' states are read at a monotonic `now` the test passes, and the
watcher's Unix clock is a counter the test moves.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from media.live.feed import Connection, Feed, FeedKind, FeedSpec, FeedState
from tests.clock import Clock
from widgets.theme import apply_dark_theme
from widgets.wall.alert_list import AlertList
from widgets.wall.alerts import (
    FIRST_CONNECT_GRACE_S,
    AlertKind,
    AlertWatcher,
    Severity,
    ago_text,
    duration_text,
)

T0 = 1_700_000_000.0
"""The watcher's Unix time at the start of each test."""


def feed(name: str, kind: FeedKind = FeedKind.BODYCAM) -> Feed:
    return Feed(FeedSpec(name, kind, f"rtsp://10.0.0.1/{name}"))


def live(f: Feed, now: float) -> None:
    """A picture has just arrived."""
    f.set_connection(Connection(FeedState.LIVE))
    f.stats.last_frame_at = now


def kinds(watcher: AlertWatcher) -> list[tuple[str, AlertKind, bool]]:
    return [(a.feed, a.kind, a.resolved) for a in watcher.alerts]


def test_a_stall_raises_one_alert_and_recovery_resolves_it():
    """In: a live body cam polled every 0.5 s; its pictures stop for 6 s, then come back.
    Out: one STALLED alert (a warning) however many polls saw it stalled; once a picture
    arrives it is resolved "recovered after 6 s" and kept; a second stall is a new alert."""
    clock = Clock(T0)
    watcher = AlertWatcher(clock=clock)
    cam = feed("BWV-4521")
    live(cam, 100.0)
    assert watcher.check([cam], 100.0) == []
    for step in range(1, 13):  # no picture from 100.0: stalled from 102.0 on
        clock.now = T0 + step * 0.5
        watcher.check([cam], 100.0 + step * 0.5)
    assert kinds(watcher) == [("BWV-4521", AlertKind.STALLED, False)]
    stalled = watcher.alerts[0]
    assert stalled.severity is Severity.WARNING
    assert stalled.at == T0 + 2.0
    clock.now = T0 + 8.0
    live(cam, 108.0)
    watcher.check([cam], 108.0)
    assert kinds(watcher) == [("BWV-4521", AlertKind.STALLED, True)]
    assert stalled.resolution == "recovered after 6 s"
    clock.now = T0 + 20.0
    watcher.check([cam], 120.0)
    assert kinds(watcher)[-1] == ("BWV-4521", AlertKind.STALLED, False)
    assert len(watcher.alerts) == 2


def test_reconnecting_failed_and_ended_caller_each_raise_once_with_the_error():
    """In: a live camera goes RECONNECTING ("Connection refused") through two retry attempts
    (a new Connection each, CONNECTING between them); a drone FAILS; a live caller ENDS
    ("the caller ended the stream"); each polled several times. Out: exactly one alert of
    each, carrying the source's words; the ended caller is a notice, the failure critical."""
    watcher = AlertWatcher(clock=Clock(T0))
    cam, drone = feed("Gate 3", FeedKind.CAMERA), feed("Drone 1", FeedKind.DRONE)
    caller = feed("Caller 07700", FeedKind.CALLER)
    for f in (cam, drone, caller):
        live(f, 10.0)
    watcher.check([cam, drone, caller], 10.0)
    cam.set_connection(Connection(FeedState.RECONNECTING, "Connection refused", 12.0))
    drone.set_connection(Connection(FeedState.FAILED, "no video or audio in this stream"))
    caller.set_connection(Connection(FeedState.ENDED, "the caller ended the stream"))
    watcher.check([cam, drone, caller], 10.5)
    cam.set_connection(Connection(FeedState.CONNECTING))
    watcher.check([cam, drone, caller], 11.0)
    cam.set_connection(Connection(FeedState.RECONNECTING, "Connection timed out", 14.0))
    watcher.check([cam, drone, caller], 11.5)
    assert [(a.feed, a.kind, a.text, a.severity) for a in watcher.alerts] == [
        ("Gate 3", AlertKind.RECONNECTING, "Connection refused", Severity.WARNING),
        ("Drone 1", AlertKind.FAILED, "no video or audio in this stream", Severity.CRITICAL),
        ("Caller 07700", AlertKind.CALLER_ENDED, "the caller ended the stream", Severity.NOTICE),
    ]


def test_recording_stopped_is_raised_once():
    """In: a live feed whose recorder gives up ("disk full"), polled three times. Out: one
    critical RECORDING_STOPPED alert with the recorder's reason; the feed staying live does
    not resolve it."""
    watcher = AlertWatcher(clock=Clock(T0))
    cam = feed("BWV-1")
    live(cam, 1.0)
    cam.recording_stopped = "disk full"
    for now in (1.0, 1.5, 1.9):
        watcher.check([cam], now)
    assert [(a.kind, a.text, a.resolved) for a in watcher.alerts] == [
        (AlertKind.RECORDING_STOPPED, "disk full", False)
    ]
    assert watcher.alerts[0].severity is Severity.CRITICAL


def test_nothing_is_raised_while_feeds_first_connect():
    """In: a camera CONNECTING at start, then RECONNECTING after its first open fails, for
    less than the first-connect grace. Out: no alert; past the grace it is reported once as
    never having shown a picture."""
    watcher = AlertWatcher(clock=Clock(T0))
    cam = feed("Gate 9", FeedKind.CAMERA)
    watcher.check([cam], 0.0)
    cam.set_connection(Connection(FeedState.RECONNECTING, "Connection timed out", 5.0))
    watcher.check([cam], 3.0)
    watcher.check([cam], FIRST_CONNECT_GRACE_S - 1)
    assert watcher.alerts == ()
    watcher.check([cam], FIRST_CONNECT_GRACE_S)
    watcher.check([cam], FIRST_CONNECT_GRACE_S + 1)
    assert [(a.kind, a.text) for a in watcher.alerts] == [
        (AlertKind.RECONNECTING, "no picture since it started: Connection timed out")
    ]


def test_a_declined_caller_is_said_once_and_resolved_when_taken_off_the_wall():
    """In: a caller's feed (CONNECTING, waiting for the answer) ends because the caller
    declined; the app raises CALLER_DECLINED as the desk tells it, then the watcher polls.
    Out: only the declined alert, not a second "caller ended"; when the operator removes the
    tile it is resolved "taken off the wall"."""
    watcher = AlertWatcher(clock=Clock(T0))
    caller = feed("Caller 07700", FeedKind.CALLER)
    caller.can_end = True
    watcher.check([caller], 0.0)
    caller.set_connection(Connection(FeedState.ENDED, "the caller declined"))
    watcher.raise_alert(AlertKind.CALLER_DECLINED, "Caller 07700", "the caller declined")
    watcher.check([caller], 0.5)
    watcher.check([caller], 1.0)
    assert kinds(watcher) == [("Caller 07700", AlertKind.CALLER_DECLINED, False)]
    watcher.check([], 1.5)
    assert watcher.alerts[0].resolution == "taken off the wall"


def test_acknowledge_and_clear_resolved(qtbot):
    """In: two alerts, one resolved, shown in an AlertList. Out: the count signal says 2,
    then 0 after "Acknowledge all"; "Clear resolved" leaves only the open one."""
    watcher = AlertWatcher(clock=Clock(T0))
    a, b = feed("A"), feed("B")
    live(a, 0.0)
    live(b, 0.0)
    watcher.check([a, b], 0.0)
    view = AlertList(watcher, beep=lambda: None)
    qtbot.addWidget(view)
    counts: list[int] = []
    view.unacknowledged_changed.connect(counts.append)
    watcher.check([a, b], 3.0)  # both stalled
    live(a, 3.5)
    watcher.check([a, b], 3.5)
    assert counts == [2]
    assert view.summary.text() == "2 unacknowledged · 1 open"
    qtbot.mouseClick(view.acknowledge_button, Qt.MouseButton.LeftButton)
    assert counts == [2, 0]
    assert watcher.unacknowledged == 0
    qtbot.mouseClick(view.clear_button, Qt.MouseButton.LeftButton)
    assert kinds(watcher) == [("B", AlertKind.STALLED, False)]
    assert view.list.count() == 1


def test_a_click_or_enter_names_the_feed_newest_first(qtbot):
    """In: alerts for three feeds raised one after another. Out: the list shows the newest
    on top; clicking the bottom entry emits feed_activated with the oldest's feed name and
    acknowledges it; Enter on the top entry names the newest; the list never took focus
    from a click."""
    clock = Clock(T0)
    watcher = AlertWatcher(clock=clock)
    view = AlertList(watcher, beep=lambda: None)
    qtbot.addWidget(view)
    view.resize(420, 300)
    view.show()
    qtbot.waitExposed(view)
    for n, name in enumerate(("first", "second", "third")):
        clock.now = T0 + n
        watcher.raise_alert(AlertKind.CALLER_DECLINED, name, "the caller declined")
    rows = [view.list.item(row) for row in range(view.list.count())]
    assert [watcher.find(item.data(Qt.ItemDataRole.UserRole)).feed for item in rows] == [
        "third",
        "second",
        "first",
    ]
    centre = view.list.visualItemRect(rows[2]).center()
    with qtbot.waitSignal(view.feed_activated) as clicked:
        QTest.mouseClick(view.list.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert clicked.args == ["first"]
    assert [a.acknowledged for a in watcher.alerts] == [True, False, False]
    assert QApplication.focusWidget() is not view.list
    view.list.setCurrentItem(rows[0])
    with qtbot.waitSignal(view.feed_activated) as entered:
        QTest.keyClick(view.list, Qt.Key.Key_Return)
    assert entered.args == ["third"]


def test_sound_is_off_until_turned_on_then_beeps_for_warnings(qtbot):
    """In: an AlertList with a counting beep; a stall with sound off, then sound on and a
    second feed stalls, then a caller declines (a notice). Out: the sound box starts
    unticked; only the stall heard with sound on beeps, once."""
    beeps: list[int] = []
    watcher = AlertWatcher(clock=Clock(T0))
    view = AlertList(watcher, beep=lambda: beeps.append(1))
    qtbot.addWidget(view)
    assert not view.sound.isChecked()
    a, b = feed("A"), feed("B")
    live(a, 0.0)
    live(b, 1.0)
    watcher.check([a, b], 2.5)  # A stalled, sound off
    assert beeps == []
    view.set_sound(True)
    watcher.check([a, b], 3.5)  # B stalled
    watcher.check([a, b], 4.0)
    watcher.raise_alert(AlertKind.CALLER_DECLINED, "C", "the caller declined")
    assert beeps == [1]


def test_time_words():
    assert [duration_text(s) for s in (6.2, 125, 3600, 3900)] == [
        "6 s",
        "2 min 5 s",
        "1 h",
        "1 h 5 min",
    ]
    assert [ago_text(s) for s in (3, 40, 130, 7300)] == [
        "just now",
        "40 s ago",
        "2 min ago",
        "2 h ago",
    ]


@pytest.mark.skipif(not os.environ.get("VIGIL_SCREENSHOTS"), reason="writes docs/alerts.png")
def test_screenshot(qtbot):
    """Writes docs/alerts.png: alerts of every kind, some resolved, one acknowledged."""
    clock = Clock(T0)
    watcher = AlertWatcher(clock=clock)
    cams = [feed("BWV-4521"), feed("Gate 3", FeedKind.CAMERA), feed("Drone 1", FeedKind.DRONE)]
    caller = feed("Caller 07700 900123", FeedKind.CALLER)
    for f in (*cams, caller):
        live(f, 0.0)
    watcher.check([*cams, caller], 0.0)
    clock.now = T0 + 2
    watcher.check([*cams, caller], 2.0)  # all four stalled
    clock.now = T0 + 8
    for f in (*cams, caller):
        live(f, 8.0)
    watcher.check([*cams, caller], 8.0)
    watcher.acknowledge_all()
    clock.now = T0 + 60
    for f in (*cams, caller):
        live(f, 60.0)
    cams[1].set_connection(Connection(FeedState.RECONNECTING, "Connection refused", 70.0))
    cams[0].recording_stopped = "no space left on the recordings disk"
    watcher.check([*cams, caller], 60.0)
    clock.now = T0 + 95
    for f in (cams[0], caller):
        live(f, 95.0)
    caller.set_connection(Connection(FeedState.ENDED, "the caller ended the stream"))
    cams[2].set_connection(Connection(FeedState.FAILED, "no video or audio in this stream"))
    watcher.check([*cams, caller], 95.0)
    watcher.raise_alert(
        AlertKind.CALLER_DECLINED, "Caller 07911 555010", "did not agree to share video"
    )
    clock.now = T0 + 190
    apply_dark_theme(QApplication.instance())  # as the app does; this test runs alone
    view = AlertList(watcher, beep=lambda: None)
    qtbot.addWidget(view)
    view.resize(440, 560)
    view.show()
    qtbot.waitExposed(view)
    out = Path(__file__).resolve().parents[3] / "docs" / "alerts.png"
    assert view.grab().save(str(out))

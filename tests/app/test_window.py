"""The main window: layout and tile order persist between runs; F11 goes full screen and
back; the map beside the wall and the wall talk to each other."""

import socket
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

import app.window
from app.window import WallWindow
from media.demo import YORK, Orbit
from media.live.feed import Connection, Feed, FeedKind, FeedSpec, FeedState
from media.telemetry.geo import distance_m, offset
from tests.clock import Clock
from tests.maps import placed_feed, shows_kind, view_pixel
from tests.servers import UdpTsSender, free_port


def feeds() -> list[Feed]:
    return [
        Feed(FeedSpec(f"F{i}", FeedKind.CAMERA, f"udp://127.0.0.1:{9100 + i}")) for i in range(1, 6)
    ]


def open_window(qtbot: QtBot, state: Path) -> WallWindow:
    window = WallWindow(feeds(), state_file=state)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_layout_and_order_survive_a_restart(qtbot: QtBot, tmp_path: Path) -> None:
    state = tmp_path / "wall.json"
    first = open_window(qtbot, state)
    first.wall.set_layout("2+8")
    first.wall.swap(first.wall.tiles[0], first.wall.tiles[3])
    first.close()

    second = open_window(qtbot, state)
    assert second.wall.layout_name == "2+8"
    assert second.wall.order == ["F4", "F2", "F3", "F1", "F5"]


def press(
    qtbot: QtBot,
    window: WallWindow,
    key: Qt.Key,
    modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
) -> None:
    """A key pressed at the window: the offscreen platform activates a window only when
    asked, and the window's shortcuts fire only while it is active."""
    handle = window.windowHandle()
    assert handle is not None
    handle.requestActivate()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    qtbot.keyClick(window.wall, key, modifiers)


def test_f11_toggles_full_screen(qtbot: QtBot, tmp_path: Path) -> None:
    """In: F11 pressed twice on the window. Out: full screen, then back."""
    window = open_window(qtbot, tmp_path / "wall.json")
    assert not window.isFullScreen()
    press(qtbot, window, Qt.Key.Key_F11)
    qtbot.waitUntil(window.isFullScreen, timeout=5000)
    press(qtbot, window, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=5000)


def status_counts(window: WallWindow) -> str:
    """The status line's count of feeds (its first label)."""
    labels = [label.text() for label in window.statusBar().findChildren(QLabel)]
    return next(text for text in labels if " feeds" in text)


def test_status_line_counts_feeds_by_state(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In: seven feeds on the window's clock (t=100): two live (a frame at t=99.5), one
    stalled (last frame at t=90), one reconnecting, one failed, one ended and one still
    connecting; then the clock moves on 3 s with no frames. Out: the status line says
    "7 feeds · 2 live · 1 stalled · 1 reconnecting · 1 connecting · 1 failed · 1 ended";
    3 s later, "7 feeds · 3 stalled · …" (the live ones stalled too). Before any of it, with
    every feed connecting, "7 feeds · 7 connecting"."""
    clock = Clock(100.0)
    monkeypatch.setattr(app.window, "time", SimpleNamespace(monotonic=clock))
    names = ["Live 1", "Live 2", "Stalled", "Lost", "Failed", "Ended", "New"]
    window = WallWindow(
        [Feed(FeedSpec(n, FeedKind.CAMERA, "udp://127.0.0.1:9")) for n in names],
        state_file=tmp_path / "wall.json",
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    sep = "  ·  "
    assert status_counts(window) == sep.join(["7 feeds", "7 connecting"])
    feeds = {tile.feed.name: tile.feed for tile in window.wall.tiles}
    for name, last_frame in (("Live 1", 99.5), ("Live 2", 99.5), ("Stalled", 90.0)):
        feeds[name].set_connection(Connection(FeedState.LIVE))
        feeds[name].stats.on_frame(320, 180, 0.001, last_frame)
    feeds["Lost"].set_connection(Connection(FeedState.RECONNECTING, "refused", 105.0))
    feeds["Failed"].set_connection(Connection(FeedState.FAILED, "no such stream"))
    feeds["Ended"].set_connection(Connection(FeedState.ENDED, "the caller ended"))
    expected = sep.join(
        ["7 feeds", "2 live", "1 stalled", "1 reconnecting", "1 connecting", "1 failed", "1 ended"]
    )
    qtbot.waitUntil(lambda: status_counts(window) == expected, timeout=5000)
    clock.advance(3)
    expected = sep.join(
        ["7 feeds", "3 stalled", "1 reconnecting", "1 connecting", "1 failed", "1 ended"]
    )
    qtbot.waitUntil(lambda: status_counts(window) == expected, timeout=5000)


# -- the map beside the wall ------------------------------------------------------------


def test_tapping_a_marker_spotlights_its_tile_and_selecting_a_tile_centres_the_map(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """In: a wall of a caller and a body cam 500 m apart, both on the map. A tap on the
    body cam's marker; then the caller's tile selected on the wall.
    Out: the tap selects and spotlights the body cam's tile; selecting the caller's tile
    rings its marker and moves the map's centre onto the caller."""
    caller = placed_feed("Caller · Ana", FeedKind.CALLER, *offset(*YORK, 300, -300))
    officer = placed_feed("BWV-4600", FeedKind.BODYCAM, *offset(*YORK, -100, 150))
    window = WallWindow([caller, officer], state_file=tmp_path / "wall.json")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.map.refresh()
    at = view_pixel(window.map, officer.location.lat, officer.location.lon)  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: shows_kind(window.map, at, FeedKind.BODYCAM), timeout=10_000)

    QTest.mouseClick(window.map.view, Qt.MouseButton.LeftButton, pos=at)
    qtbot.waitUntil(lambda: window.wall.spotlight_tile is not None, timeout=3000)
    assert window.wall.spotlight_tile is not None
    assert window.wall.spotlight_tile.feed is officer
    assert window.wall.selected is window.wall.spotlight_tile

    window.wall.set_spotlight(None)
    window.wall.select(window.wall.tiles[0])
    root = window.map.root_object()
    assert root is not None

    def centre_to_caller() -> float:
        c = root.property("mapCentre")
        return distance_m(c.latitude(), c.longitude(), caller.location.lat, caller.location.lon)  # type: ignore[union-attr]

    qtbot.waitUntil(lambda: centre_to_caller() < 1.0, timeout=3000)


@pytest.mark.network
def test_a_drone_over_udp_appears_on_the_map_where_its_klv_puts_it(
    qtbot: QtBot, tmp_path: Path, start_feed
) -> None:
    """In: a drone stream on loopback UDP (H.264 and MISB ST 0601 KLV in MPEG-TS, muxed
    with PyAV's add_data_stream("klv")) circling York, shown on a wall with its map.
    Out: the feed's position comes from the KLV, and its marker is drawn at the pixel Web
    Mercator gives that position; the sensor footprint arrives with it."""
    port = free_port(socket.SOCK_DGRAM)
    source = start_feed(FeedSpec("Drone Echo", FeedKind.DRONE, f"udp://127.0.0.1:{port}"))
    sender = UdpTsSender(port, orbit=Orbit(YORK)).start()
    try:
        qtbot.waitUntil(lambda: source.feed.location is not None, timeout=10_000)
    finally:
        sender.stop()  # the drone's last fix stays put, so its marker can be found
    window = WallWindow([source.feed], state_file=tmp_path / "wall.json")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.map.refresh()
    fix = window.map.markers.location_of("Drone Echo")
    assert fix is not None
    assert distance_m(fix.lat, fix.lon, *YORK) == pytest.approx(400, abs=5)
    at = view_pixel(window.map, fix.lat, fix.lon)
    qtbot.waitUntil(lambda: shows_kind(window.map, at, FeedKind.DRONE), timeout=10_000)
    telemetry = source.feed.telemetry
    assert telemetry is not None
    assert telemetry.corners is not None
    assert len(telemetry.corners) == 4


def test_the_map_panel_stays_hidden_after_a_restart_once_closed(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """In: Ctrl+M pressed (View ▸ Map unticked), then the window closed and opened again.
    Out: the map panel is still hidden; ticking it shows it again, and that is kept too."""
    state = tmp_path / "wall.json"
    first = open_window(qtbot, state)
    assert first.map_dock.isVisible()
    press(qtbot, first, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not first.map_dock.isVisible(), timeout=5000)
    first.close()

    second = open_window(qtbot, state)
    assert not second.map_dock.isVisible()
    second.map_action.trigger()
    assert second.map_dock.isVisible()
    second.close()
    assert open_window(qtbot, state).map_dock.isVisible()


def test_a_stopped_recording_is_named_in_the_status_line(qtbot: QtBot, tmp_path: Path) -> None:
    """In: F2's recorder stopped on a full disk. Out: a red "Not recording: F2" in the
    status line, its reason in the tooltip; gone once no feed's recording is stopped."""
    window = open_window(qtbot, tmp_path / "wall.json")
    feed = window.wall.tiles[1].feed
    feed.recording_stopped = "recording stopped: No space left on device (x.ts.part)"
    window._update_status()
    assert window._alert.isVisible()
    assert window._alert.text() == "⚠ Not recording: F2"
    assert "No space left on device" in window._alert.toolTip()
    feed.recording_stopped = None
    window._update_status()
    assert not window._alert.isVisible()


def test_evidence_review_opens_one_review_window_and_closes_with_the_wall(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """In: Evidence ▸ Review clips… (Ctrl+R) triggered twice, then the wall closed. Out:
    one Review window of its own (a separate top-level window), shown and brought forward
    the second time, and closed with the wall."""
    from app.evidence.review import open_review
    from app.paths import BaseDir

    base = BaseDir(tmp_path / "base").ensure()
    window = WallWindow(
        feeds(),
        state_file=tmp_path / "wall.json",
        database=base.database,
        open_review=lambda parent, actor=None: open_review(base, parent, actor=actor),
    )
    qtbot.addWidget(window)
    window.show()
    assert window.review_action.shortcut() == QKeySequence("Ctrl+R")
    window.review_action.trigger()
    review = window.review
    assert review is not None
    qtbot.waitExposed(review)
    assert review.isWindow()
    window.review_action.trigger()
    assert window.review is review
    window.close()
    assert not review.isVisible()


def test_a_stalled_feed_raises_an_alert_that_leads_to_its_tile(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """In: F3 live, then nothing from it for 3 s; the status poll runs; the operator
    chooses the alert. Out: one STALLED alert for F3 in the Alerts dock (its title counts
    it); choosing it selects and spotlights F3's tile."""
    import time as clock

    from media.live.feed import Connection, FeedState
    from widgets.wall.alerts import AlertKind

    window = open_window(qtbot, tmp_path / "wall.json")
    feed = window.wall.tiles[2].feed
    feed.set_connection(Connection(FeedState.LIVE))
    feed.stats.on_frame(640, 360, 0.001, clock.monotonic())
    window._update_status()
    assert not window.alert_watcher.alerts
    feed.stats.last_frame_at = clock.monotonic() - 3
    window._update_status()
    (alert,) = window.alert_watcher.alerts
    assert (alert.feed, alert.kind) == ("F3", AlertKind.STALLED)
    assert window.alerts_dock.windowTitle() == "Alerts (1)"
    window.alerts.feed_activated.emit("F3")
    assert window.wall.selected is window.wall.tiles[2]
    assert window.wall.spotlight_tile is window.wall.tiles[2]

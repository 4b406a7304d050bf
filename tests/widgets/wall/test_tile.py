"""A tile paints its feed's picture, makes trouble (stalled, reconnecting) obvious, and says
which incident a caller belongs to and how old their position fix is."""

import sys
import time
from types import SimpleNamespace
from unittest.mock import patch

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

import widgets.wall.tile
from media.live.feed import Connection, Feed, FeedKind, FeedSpec, FeedState, Location
from tests.clock import Clock
from tests.pictures import solid_picture
from widgets import theme
from widgets.wall.tile import GpsLine, Tile, gps_line


def grab_array(tile: Tile) -> np.ndarray:
    image = tile.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    width, height = image.width(), image.height()
    data = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    # Copied: the view would outlive the QImage that owns the memory.
    return data.reshape(height, image.bytesPerLine() // 4, 4)[:, :width, :3].copy()  # BGR


@pytest.fixture
def tile(qtbot: QtBot) -> Tile:
    feed = Feed(FeedSpec("BWV-4521", FeedKind.BODYCAM, "udp://127.0.0.1:9"))
    widget = Tile(feed)
    widget.resize(480, 270)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_tile_asks_for_pictures_at_its_own_size(tile: Tile) -> None:
    assert tile.feed.display_size == (480, 270)
    tile.hide()
    assert tile.feed.display_size == (0, 0), "a hidden tile costs no colour conversion"


def test_live_picture_is_painted_centre_and_counted(tile: Tile) -> None:
    """A pure green 480x270 picture goes in the slot; the middle of the tile shows green."""
    tile.feed.set_connection(Connection(FeedState.LIVE))
    tile.feed.stats.on_frame(480, 270, 0.001, time.monotonic())
    tile.feed.slot.put(solid_picture(480, 270, (0, 200, 0)))
    tile.refresh(time.monotonic())
    pixels = grab_array(tile)
    b, g, r = pixels[135, 240]
    assert (b, g, r) == (0, 200, 0)
    assert tile.painted_frames == 1


def test_stalled_feed_dims_its_last_picture(tile: Tile) -> None:
    feed = tile.feed
    feed.set_connection(Connection(FeedState.LIVE))
    feed.stats.on_frame(480, 270, 0.001, time.monotonic())
    feed.slot.put(solid_picture(480, 270, (0, 200, 0)))
    tile.refresh(time.monotonic())
    live = grab_array(tile)[200, 60].astype(int)
    feed.stats.last_frame_at = time.monotonic() - 4.2  # nothing for 4.2 s
    assert feed.state() is FeedState.STALLED
    tile.refresh(time.monotonic() + 1)
    stalled = grab_array(tile)[200, 60].astype(int)
    assert stalled[1] < live[1] * 0.6, "the last picture is dimmed"


def test_reconnecting_without_picture_shows_text(tile: Tile) -> None:
    """No picture and RECONNECTING: the tile is not blank, it carries (red) text."""
    tile.feed.set_connection(
        Connection(FeedState.RECONNECTING, "Connection refused", time.monotonic() + 2)
    )
    tile.refresh(time.monotonic() + 1)
    pixels = grab_array(tile)
    red_text = (pixels[:, :, 2] > 180) & (pixels[:, :, 1] < 90)
    assert red_text[60:220].sum() > 100


def test_a_stopped_recording_is_marked_in_the_header(tile: Tile) -> None:
    """In: a live feed whose recorder reported a full disk. Out: the header's right side
    carries a filled dark-red REC STOPPED chip where the REC mark was; with the recording
    running again (feed.recording) the chip is gone."""
    feed = tile.feed
    feed.set_connection(Connection(FeedState.LIVE))
    feed.recording = True
    tile.refresh(time.monotonic())
    header = grab_array(tile)[2:24, 240:400]
    assert not ((header[:, :, 2] == 120) & (header[:, :, 1] == 0)).any()
    feed.recording = False
    feed.recording_stopped = "recording stopped: No space left on device (x.ts.part)"
    tile.refresh(time.monotonic() + 0.1)
    header = grab_array(tile)[2:24, 240:400].astype(int)
    dark_red = (header[:, :, 2] > 60) & (header[:, :, 2] < 140) & (header[:, :, 1] < 20)
    assert dark_red.sum() > 200, "a REC STOPPED chip in the header"


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12 on")
def test_painting_keeps_none_alive(tile: Tile) -> None:
    """PySide6 6.12.0 dropped a reference to None on each QPainter call, aborting 3.11 at
    exit; a few hundred paints must leave None's count where it was (allowing noise)."""
    tile.feed.set_connection(Connection(FeedState.LIVE))
    before = sys.getrefcount(None)
    for i in range(300):
        tile.feed.slot.put(solid_picture(480, 270, (i % 255, 0, 0), i))
        tile.refresh(time.monotonic())
        tile.repaint()
    assert sys.getrefcount(None) - before > -50


# -- a caller's details ---------------------------------------------------------------------

AMBER = theme.WARNING


@pytest.fixture
def caller_tile(qtbot: QtBot) -> Tile:
    feed = Feed(FeedSpec("Caller 0712", FeedKind.CALLER, "webrtc:", incident="INC-2231"))
    feed.set_connection(Connection(FeedState.LIVE))
    widget = Tile(feed)
    widget.resize(480, 270)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def near(pixels: np.ndarray, colour: QColor, tolerance: int = 40) -> np.ndarray:
    """Where the BGR pixels are within `tolerance` of `colour` on every channel."""
    target = np.array([colour.blue(), colour.green(), colour.red()])
    return (np.abs(pixels.astype(int) - target) <= tolerance).all(axis=2)


def test_caller_line_says_accuracy_and_age_of_the_fix(caller_tile: Tile) -> None:
    """In: a fix 8.4 m accurate, taken 3.2 s ago (Unix time). Out: "GPS ±8 m · 3 s ago",
    not stale, drawn in the bottom rows in the ordinary light text (no amber)."""
    caller_tile.feed.location = Location(51.5, -0.12, 8.4, time.time() - 3.2)
    line = caller_tile.gps_line()
    assert line is not None
    assert line.text == "GPS ±8 m · 3 s ago"
    assert not line.stale
    caller_tile.refresh(time.monotonic())
    footer = grab_array(caller_tile)[-30:, :300]
    assert near(footer, theme.TEXT).sum() > 50
    assert near(footer, AMBER).sum() == 0


def test_caller_line_goes_amber_when_the_fix_is_older_than_30_s(caller_tile: Tile) -> None:
    """In: the tile painted with a fresh fix, then the fix replaced by one taken 31 s ago and
    the tile refreshed. Out: the cached overlay is redrawn: "31 s ago", stale, amber text."""
    feed = caller_tile.feed
    feed.location = Location(51.5, -0.12, 8, time.time())
    caller_tile.refresh(time.monotonic())
    assert near(grab_array(caller_tile)[-30:, :300], AMBER).sum() == 0
    feed.location = Location(51.5, -0.12, 8, time.time() - 31)
    caller_tile.refresh(time.monotonic())
    line = caller_tile.gps_line()
    assert line == GpsLine("GPS ±8 m · 31 s ago", stale=True)
    assert near(grab_array(caller_tile)[-30:, :300], AMBER).sum() > 50


def test_the_age_ticks_on_while_nothing_else_changes(caller_tile: Tile) -> None:
    """In: one fix, the tile refreshed now and again 2 s later on the wall clock. Out: the
    overlay's state differs (so the cached text is redrawn) only by the age."""
    caller_tile.feed.location = Location(51.5, -0.12, 8, 1_000_000.0)
    now = time.monotonic()
    with patch("widgets.wall.tile.time.time", return_value=1_000_010.0):
        first = caller_tile._overlay_state(now)
    with patch("widgets.wall.tile.time.time", return_value=1_000_012.0):
        second = caller_tile._overlay_state(now)
    assert first != second
    assert [a for a, b in zip(first, second, strict=True) if a != b] == [
        GpsLine("GPS ±8 m · 10 s ago", stale=False)
    ]


@pytest.mark.parametrize(
    ("accuracy", "age", "text"),
    [
        (8.4, 0.2, "GPS ±8 m · 0 s ago"),
        (None, 12, "GPS · 12 s ago"),
        (1500, 75, "GPS ±1.5 km · 1 min ago"),
        (20, 7300, "GPS ±20 m · 2 h ago"),
        (5, -4, "GPS ±5 m · 0 s ago"),
    ],
)
def test_gps_line_wording(accuracy: float | None, age: float, text: str) -> None:
    """In: accuracy and age of a fix (negative: the phone's clock is ahead). Out: the words."""
    line = gps_line(Location(0.0, 0.0, accuracy, 1_000_000.0 - age), 1_000_000.0)
    assert line is not None
    assert line.text == text


def test_no_gps_line_for_a_feed_that_never_had_a_fix(tile: Tile, caller_tile: Tile) -> None:
    """In: a bodycam and a caller, neither with a location. Out: no GPS line for either (no
    'no fix yet' nagging), and no light text in the caller tile's bottom rows."""
    assert tile.gps_line() is None
    assert caller_tile.gps_line() is None
    caller_tile.refresh(time.monotonic())
    assert near(grab_array(caller_tile)[-30:, :300], theme.TEXT).sum() == 0


def test_the_incident_reference_sits_in_the_header(caller_tile: Tile, qtbot: QtBot) -> None:
    """In: a caller opened for INC-2231, and a bodycam with no incident. Out: the caller's
    header carries the incident chip's warm colour right of the name; the bodycam's none.
    The incident is also in the tooltip and the accessible name."""
    caller_tile.refresh(time.monotonic())
    header = grab_array(caller_tile)[:26, 70:]  # past the kind badge (white on orange)
    chip = near(header, theme.INCIDENT, 30)
    assert chip.sum() > 60
    assert np.nonzero(chip)[1].min() > 150 - 70, "after the number, kind badge and name"
    assert "INC-2231" in caller_tile.toolTip()
    assert "INC-2231" in caller_tile.accessibleName()
    plain = Tile(Feed(FeedSpec("BWV-1", FeedKind.BODYCAM, "udp://127.0.0.1:9")))
    plain.resize(480, 270)
    qtbot.addWidget(plain)
    plain.show()
    plain.refresh(time.monotonic())
    assert near(grab_array(plain)[:26, 70:], theme.INCIDENT, 30).sum() == 0


def test_a_narrow_tile_keeps_the_name_and_drops_the_incident(qtbot: QtBot) -> None:
    """In: a caller with a long name and an incident in a 200x112 tile. Out: no incident chip
    (the name needs the room); the header still carries the name's text."""
    feed = Feed(
        FeedSpec("Sarah Okonkwo-Whitfield", FeedKind.CALLER, "webrtc:", incident="INC-2231")
    )
    feed.set_connection(Connection(FeedState.LIVE))
    narrow = Tile(feed)
    narrow.resize(200, 112)
    qtbot.addWidget(narrow)
    narrow.show()
    narrow.refresh(time.monotonic())
    header = grab_array(narrow)[:20, 60:]  # past the kind badge (white on orange)
    assert near(header, theme.INCIDENT, 30).sum() == 0
    assert near(header, theme.TEXT, 30).sum() > 20


class PaintedWords:
    """The words a tile paints in its middle (its state, or a body cam's shutter), read where
    the tile composes them (`Tile._paint_centred`, which still paints), with the tile's
    clock (`time.monotonic` in widgets/wall/tile.py) replaced by the test's."""

    def __init__(self, tile: Tile, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tile = tile
        self.clock = clock
        self.seen: list[list[str]] = []
        paint_centred = Tile._paint_centred

        def spy(self_: Tile, painter, rect, lines, head, body) -> None:  # noqa: PLR0917
            if self_ is tile:
                self.seen.append(list(lines))
            paint_centred(self_, painter, rect, lines, head, body)

        monkeypatch.setattr(Tile, "_paint_centred", spy)
        monkeypatch.setattr(
            widgets.wall.tile, "time", SimpleNamespace(monotonic=clock, time=time.time)
        )

    def now(self) -> list[str]:
        """Refresh and paint the tile at the clock's time; the lines it painted (none: [])."""
        self.seen.clear()
        self.tile.refresh(self.clock())
        self.tile.grab()
        return self.seen[-1] if self.seen else []


def test_a_stalled_tile_says_so_with_its_age_counting(
    tile: Tile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In: a live feed whose last frame came at t=100 s (the tile's clock), painted at
    t=101, 104.2, 107.9 and 160. Out: nothing in the middle while live (1 s old); then
    "STALLED  4 s", "STALLED  8 s", "STALLED  60 s" (the age counting on, whole seconds),
    each with "no picture from this feed"."""
    clock = Clock(100.0)
    words = PaintedWords(tile, clock, monkeypatch)
    tile.feed.set_connection(Connection(FeedState.LIVE))
    tile.feed.stats.on_frame(480, 270, 0.001, clock())
    clock.advance(1)
    assert words.now() == []
    said = []
    for step in (3.2, 3.7, 52.1):
        clock.advance(step)
        said.append(words.now())
    assert said == [
        ["STALLED  4 s", "no picture from this feed"],
        ["STALLED  8 s", "no picture from this feed"],
        ["STALLED  60 s", "no picture from this feed"],
    ]


def test_a_lost_tile_says_when_it_tries_next(tile: Tile, monkeypatch: pytest.MonkeyPatch) -> None:
    """In: a feed RECONNECTING after "Connection refused", its next attempt due at t=505
    (the tile's clock), painted at t=500, 502.5 and 506; then RECONNECTING with no attempt
    due. Out: "RECONNECTING" over "next attempt in 5.0 s", then "2.5 s", then "0.0 s" (never
    negative), each with the reason; with nothing due, "trying now…"."""
    clock = Clock(500.0)
    words = PaintedWords(tile, clock, monkeypatch)
    refused = "Connection refused"
    tile.feed.set_connection(Connection(FeedState.RECONNECTING, refused, 505.0))
    said = [words.now()]
    clock.advance(2.5)
    said.append(words.now())
    clock.advance(3.5)
    said.append(words.now())
    assert said == [
        ["RECONNECTING", "next attempt in 5.0 s", refused],
        ["RECONNECTING", "next attempt in 2.5 s", refused],
        ["RECONNECTING", "next attempt in 0.0 s", refused],
    ]
    tile.feed.set_connection(Connection(FeedState.RECONNECTING))
    assert words.now() == ["RECONNECTING", "trying now…"]


def test_a_failed_body_cam_says_so_through_its_shutter(
    tile: Tile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In: the body cam's tile shuttered ("BODY CAM · CLOSED"), its feed live; then FAILED
    with "No such file or directory"; then RECONNECTING with an attempt due in 3 s; then
    live again. Out: live, the shutter's words alone; failed, "FAILED" and the reason with
    "BODY CAM · CLOSED" beneath (no picture either way); reconnecting, when it tries next,
    the same beneath; live again, the shutter alone."""
    clock = Clock(200.0)
    words = PaintedWords(tile, clock, monkeypatch)
    closed = ("BODY CAM · CLOSED", "Opened only for a stated reason")
    tile.set_shutter(closed)
    tile.feed.set_connection(Connection(FeedState.LIVE))
    tile.feed.stats.on_packet(1000, clock())
    assert words.now() == list(closed)
    tile.feed.set_connection(Connection(FeedState.FAILED, "No such file or directory"))
    assert words.now() == ["FAILED", "No such file or directory", "BODY CAM · CLOSED"]
    tile.feed.set_connection(Connection(FeedState.RECONNECTING, "Connection refused", 203.0))
    assert words.now() == [
        "RECONNECTING",
        "next attempt in 3.0 s",
        "Connection refused",
        "BODY CAM · CLOSED",
    ]
    tile.feed.set_connection(Connection(FeedState.LIVE))
    tile.feed.stats.on_packet(1000, clock())
    assert words.now() == list(closed)

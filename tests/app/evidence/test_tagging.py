"""Tagging on the wall: T and Shift+T make clips at once, the dialog adds the words, and
nothing of it waits on the GUI thread. Real window, real SQLite file, real custody log."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

import app.window
from app.access import ViewingLog
from app.database import open_database
from app.evidence.clips import ClipBook
from app.evidence.custody import CustodyAction, CustodyLog
from app.window import WallWindow
from media.live.feed import Feed, FeedKind, FeedSpec
from tests.clock import Clock
from widgets.evidence.tag_dialog import TagDialog

NOW = 1_795_000_000.0  # 2026-11-19 (a fixed clock: the tags' times are exact)


def book(db_path: Path) -> tuple[ClipBook, CustodyLog]:
    db = open_database(db_path)
    custody = CustodyLog(db)
    return ClipBook(db, custody, clock=lambda: NOW + 3600), custody


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path, db_path: Path) -> WallWindow:
    feeds = [
        Feed(FeedSpec("BWV-4521", FeedKind.BODYCAM, "udp://127.0.0.1:9", incident="INC-77")),
        Feed(FeedSpec("Drone Alpha", FeedKind.DRONE, "udp://127.0.0.1:9")),
    ]
    win = WallWindow(feeds, state_file=tmp_path / "wall.json", database=db_path, tag_seconds=45)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    assert win.tags is not None
    win.tags.clock = lambda: NOW
    return win


def open_dialog(qtbot: QtBot, window: WallWindow) -> TagDialog:
    assert window.tags is not None
    qtbot.waitUntil(lambda: bool(window.tags and window.tags.dialogs), timeout=5000)
    return window.tags.dialogs[-1]


def test_t_tags_the_selected_tiles_last_seconds_and_the_dialog_adds_words(
    qtbot: QtBot, window: WallWindow, db_path: Path
) -> None:
    """In: BWV-4521 selected, T (the menu's action; 45 s configured) at NOW, then tags
    "Weapon, vehicle", a note and a changed incident, Save. Out: one clip NOW-45..NOW of
    BWV-4521 (kind bodycam, the tile's incident at first), then edited to the dialog's
    words; custody holds tag_made then tag_edited; the dialog closes."""
    window.wall.select(window.wall.tiles[0])
    assert window.tag_action.text().startswith("&Tag last 45 s")
    window.tag_action.trigger()
    dialog = open_dialog(qtbot, window)
    clips, custody = book(db_path)
    (made,) = clips.search()
    assert (made.feed_name, made.start_utc, made.end_utc) == ("BWV-4521", NOW - 45, NOW)
    assert made.feed_kind is FeedKind.BODYCAM
    assert made.incident == "INC-77"
    assert dialog.moment.clip_id == made.id
    assert dialog.incident.text() == "INC-77"

    dialog.tags.setText("Weapon, vehicle")
    dialog.note.setPlainText("Knife seen at 14:02, passenger side")
    dialog.incident.setText("INC-78")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: not window.tags.dialogs, timeout=5000)  # type: ignore[union-attr]
    clip = clips.get(made.id)
    assert clip.tags == ("weapon", "vehicle")
    assert clip.note == "Knife seen at 14:02, passenger side"
    assert clip.incident == "INC-78"
    actions = [entry.action for entry in custody.entries(made.id)]
    assert actions == [CustodyAction.TAG_MADE, CustodyAction.TAG_EDITED]
    assert window.tags is not None
    assert window.tags.dialogs == []


def test_shift_t_marks_in_then_out(qtbot: QtBot, window: WallWindow, db_path: Path) -> None:
    """In: Shift+T on Drone Alpha at NOW, again 12.5 s later. Out: no clip after the
    first press (the status line says the in mark is set), one clip NOW..NOW+12.5 after
    the second."""
    assert window.tags is not None
    window.wall.select(window.wall.tiles[1])
    window.mark_action.trigger()
    assert window.tags.in_marks == {"Drone Alpha": NOW}
    assert "In mark on Drone Alpha" in window.statusBar().currentMessage()
    clips, _ = book(db_path)
    assert clips.search() == []
    window.tags.clock = lambda: NOW + 12.5
    window.mark_action.trigger()
    dialog = open_dialog(qtbot, window)
    (clip,) = clips.search()
    assert (clip.feed_name, clip.start_utc, clip.end_utc) == ("Drone Alpha", NOW, NOW + 12.5)
    assert dialog.moment.clip_id == clip.id
    assert window.tags.in_marks == {}


def test_esc_drops_an_in_mark(qtbot: QtBot, window: WallWindow) -> None:
    assert window.tags is not None
    window.wall.select(window.wall.tiles[1])
    window.mark_action.trigger()
    window.wall.escape_pressed.emit()
    assert window.tags.in_marks == {}
    assert "In mark dropped on Drone Alpha" in window.statusBar().currentMessage()


def test_nothing_selected_tags_nothing_and_says_so(window: WallWindow, db_path: Path) -> None:
    window.wall.select(None)
    window.tag_action.trigger()
    assert "Select a tile first" in window.statusBar().currentMessage()
    clips, _ = book(db_path)
    assert clips.search() == []


def test_withdraw_keeps_the_clip_marked_and_logged(
    qtbot: QtBot, window: WallWindow, db_path: Path
) -> None:
    """In: T, then "Withdraw tag" in the dialog. Out: the clip is kept but withdrawn (out
    of plain searches), with a delete_attempted entry saying so."""
    window.wall.select(window.wall.tiles[0])
    window.tag_action.trigger()
    dialog = open_dialog(qtbot, window)
    clip_id = dialog.moment.clip_id
    dialog.withdraw_button.click()
    qtbot.waitUntil(lambda: not window.tags.dialogs, timeout=5000)  # type: ignore[union-attr]
    clips, custody = book(db_path)
    assert clips.search() == []
    assert clips.get(clip_id).withdrawn
    last = custody.entries(clip_id)[-1]
    assert last.action == CustodyAction.DELETE_ATTEMPTED
    assert last.details_dict["outcome"] == "withdrawn"


def test_a_refused_edit_is_shown_and_keeps_what_was_typed(qtbot: QtBot, window: WallWindow) -> None:
    """In: a tag with a character tags may not hold ("knife!"). Out: the dialog stays
    open, names the problem in its message, and still holds the text; Save works again."""
    window.wall.select(window.wall.tiles[0])
    window.tag_action.trigger()
    dialog = open_dialog(qtbot, window)
    dialog.tags.setText("knife!")
    dialog.save_button.click()
    qtbot.waitUntil(dialog.save_button.isEnabled, timeout=5000)
    assert "knife!" in dialog.message.text()
    assert dialog.tags.text() == "knife!"
    assert dialog.isVisible()


def test_viewing_is_logged_from_tile_shown_to_tile_gone(
    qtbot: QtBot, tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In: a wall opened with three feeds (a body cam among them), a fourth added, the
    first taken off, then the window closed. Out: custody holds view_opened for each feed as
    its tile appeared (with kind, workstation and the OS user) and one view_closed each, with
    seconds watched by the viewing log's clock (Cam 7 10.0 s, shown at NOW and taken off at
    NOW+10; Drone Alpha 25.0 s and Caller 1, added at NOW+4, 21.0 s, closed with the window at
    NOW+25); the body cam, shuttered until opened for a reason, never had a viewing."""
    clock = Clock(NOW)
    monkeypatch.setattr(app.window, "ViewingLog", partial(ViewingLog, clock=clock))
    feeds = [
        Feed(FeedSpec("Cam 7", FeedKind.CAMERA, "udp://127.0.0.1:9")),
        Feed(FeedSpec("Drone Alpha", FeedKind.DRONE, "udp://127.0.0.1:9")),
        Feed(FeedSpec("BWV-4521", FeedKind.BODYCAM, "udp://127.0.0.1:9")),
    ]
    win = WallWindow(feeds, state_file=tmp_path / "wall.json", database=db_path)
    qtbot.addWidget(win)
    assert win.viewing is not None
    viewing = win.viewing
    # Viewings follow the wall once the event in hand is over.
    qtbot.waitUntil(lambda: viewing.open_feeds == ["Cam 7", "Drone Alpha"])
    clock.advance(4)
    late = Feed(FeedSpec("Caller 1", FeedKind.CALLER, "webrtc:x", incident="INC-9"))
    win.wall.add_feed(late)
    qtbot.waitUntil(lambda: "Caller 1" in viewing.open_feeds)
    clock.advance(6)
    win.wall.remove_feed(feeds[0])
    qtbot.waitUntil(lambda: "Cam 7" not in viewing.open_feeds)
    clock.advance(15)
    win.close()
    assert win.viewing is not None
    assert win.viewing.errors == 0
    _, custody = book(db_path)
    seen = [(e.action, e.subject) for e in custody.entries()]
    assert seen == [
        (CustodyAction.VIEW_OPENED, "Cam 7"),
        (CustodyAction.VIEW_OPENED, "Drone Alpha"),
        (CustodyAction.VIEW_OPENED, "Caller 1"),
        (CustodyAction.VIEW_CLOSED, "Cam 7"),
        (CustodyAction.VIEW_CLOSED, "Drone Alpha"),
        (CustodyAction.VIEW_CLOSED, "Caller 1"),
    ]
    opened = custody.entries("Caller 1")[0]
    assert opened.details_dict["kind"] == "caller"
    assert opened.details_dict["incident"] == "INC-9"
    assert opened.actor == win.viewing.actor
    closed = {e.subject: e.details_dict["seconds"] for e in custody.entries()[3:]}
    assert closed == {"Cam 7": 10.0, "Drone Alpha": 25.0, "Caller 1": 21.0}
    assert custody.verify() is None

"""The viewing log (app/access/viewing.py): who watched which feed, and for exactly how long.

Driven by a hand-moved clock (tests/clock.py), so every `seconds` in a `view_closed` entry
is known to the tenth. First the log alone on a real SQLite file, then on the real wall
window (its ViewingLog built with the test's clock) through the three ways a viewing ends
without anyone closing it: a sign-out, the idle lock and the feed going."""

from __future__ import annotations

import getpass
from functools import partial
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

import app.window
from app.access import Viewing, ViewingLog
from app.access.accounts import AccountBook
from app.access.bodycam import stated_reason
from app.access.roles import Role
from app.access.session import Session
from app.config import SignIn
from app.config.access import AccessSettings
from app.database import open_database
from app.evidence.custody import CustodyAction, CustodyLog
from app.paths import BaseDir
from app.window import WallWindow
from media.live.feed import Feed, FeedKind, FeedSpec
from tests.clock import Clock

T0 = 1_795_000_000.0
BODYCAM = "BWV-4521"
REASON = {"reason": "Public order", "incident": "INC-0412"}


def entries(database: Path) -> list[tuple[CustodyAction, str, str, dict[str, object]]]:
    """Every viewing entry in the custody log: (action, feed, actor, details)."""
    db = open_database(database)
    try:
        return [
            (CustodyAction(e.action), e.subject, e.actor, e.details_dict)
            for e in CustodyLog(db).entries()
            if e.action in (CustodyAction.VIEW_OPENED, CustodyAction.VIEW_CLOSED)
        ]
    finally:
        db.close()


def closed_seconds(database: Path) -> list[tuple[str, str, object]]:
    """(feed, actor, seconds) of each view_closed, in order."""
    return [
        (subject, actor, details["seconds"])
        for action, subject, actor, details in entries(database)
        if action is CustodyAction.VIEW_CLOSED
    ]


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def camera() -> Feed:
    return Feed(FeedSpec("Cam 7", FeedKind.CAMERA, "udp://127.0.0.1:9", incident="INC-9"))


@pytest.fixture
def bodycam() -> Feed:
    return Feed(FeedSpec(BODYCAM, FeedKind.BODYCAM, "udp://127.0.0.1:9"))


# -- the log alone -------------------------------------------------------------------------


def test_seconds_are_the_clock_between_opening_and_closing(
    db_path: Path, clock: Clock, camera: Feed, bodycam: Feed
) -> None:
    """In: Cam 7 on view at T0 for "ann"; the body cam on view at T0+2 for "ann" with a
    stated reason; Cam 7 goes at T0+12.34; the body cam at T0+65.06 (close()). Out:
    view_opened then view_closed for each, seconds 12.3 for Cam 7 and 63.1 for the body cam
    (rounded to a tenth), the reason on both of the body cam's entries, Cam 7's incident on
    its opening, every entry under ann; nothing failed to write."""
    log = ViewingLog(db_path, actor="ann", clock=clock)
    log.show_only([Viewing(camera, "ann")])
    clock.advance(2)
    log.show_only([Viewing(camera, "ann"), Viewing(bodycam, "ann", REASON)])
    clock.advance(10.34)
    log.show_only([Viewing(bodycam, "ann", REASON)])
    clock.advance(52.72)
    log.close()
    assert log.errors == 0
    got = entries(db_path)
    assert [(action, subject, actor) for action, subject, actor, _ in got] == [
        (CustodyAction.VIEW_OPENED, "Cam 7", "ann"),
        (CustodyAction.VIEW_OPENED, BODYCAM, "ann"),
        (CustodyAction.VIEW_CLOSED, "Cam 7", "ann"),
        (CustodyAction.VIEW_CLOSED, BODYCAM, "ann"),
    ]
    assert got[0][3]["incident"] == "INC-9"
    assert got[0][3]["kind"] == "camera"
    assert got[2][3]["seconds"] == 12.3
    assert got[3][3]["seconds"] == 63.1
    for _, subject, _, details in got:
        if subject == BODYCAM:
            assert details["reason"] == "Public order"
            assert details["incident"] == "INC-0412"


def test_an_unchanged_wall_writes_nothing_and_a_new_person_or_reason_starts_anew(
    db_path: Path, clock: Clock, bodycam: Feed
) -> None:
    """In: the body cam on view for ann with a reason at T0; the same again at T0+5 (no
    change); at T0+8 the reason changes; at T0+20 bob is at the window instead; at T0+21.5
    it goes. Out: ann's first viewing closes after 8.0 s with the old reason, her second
    after 12.0 s with the new one, bob's after 1.5 s under bob; the unchanged call wrote
    nothing (three openings, three closings in all)."""
    log = ViewingLog(db_path, actor="ann", clock=clock)
    other = {"reason": "Pursuit or search", "incident": "INC-7"}
    log.show_only([Viewing(bodycam, "ann", REASON)])
    clock.advance(5)
    log.show_only([Viewing(bodycam, "ann", REASON)])
    assert log.open_feeds == [BODYCAM]
    clock.advance(3)
    log.show_only([Viewing(bodycam, "ann", other)])
    clock.advance(12)
    log.show_only([Viewing(bodycam, "bob", other)])
    clock.advance(1.5)
    log.show_only([])
    assert log.open_feeds == []
    log.close()
    got = entries(db_path)
    assert [(a.value, actor) for a, _, actor, _ in got] == [
        ("view_opened", "ann"),
        ("view_closed", "ann"),
        ("view_opened", "ann"),
        ("view_closed", "ann"),
        ("view_opened", "bob"),
        ("view_closed", "bob"),
    ]
    closings = [details for action, _, _, details in got if action is CustodyAction.VIEW_CLOSED]
    assert [(d["seconds"], d["reason"]) for d in closings] == [
        (8.0, "Public order"),
        (12.0, "Pursuit or search"),
        (1.5, "Pursuit or search"),
    ]


# -- on the real window --------------------------------------------------------------------


def window(
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: Clock,
    feeds: list[Feed],
    *,
    sign_in: SignIn = SignIn.OS,
) -> WallWindow:
    """The wall window for this computer's user, a supervisor (or, with Vigil's sign-in,
    nobody until "sgt.a" signs in), its viewing log on the test's clock."""
    monkeypatch.setattr(app.window, "ViewingLog", partial(ViewingLog, clock=clock))
    base = BaseDir(tmp_path / "base").ensure()
    db = open_database(base.database)
    book = AccountBook(db, CustodyLog(db))
    book.add("chief", Role.ADMIN, by="test")
    if sign_in is SignIn.OS:
        book.add(getpass.getuser(), Role.SUPERVISOR, by="chief")
    else:
        book.add("sgt.a", Role.SUPERVISOR, by="chief", password="s3cret-pw")
    win = WallWindow(
        feeds,
        state_file=tmp_path / "wall.json",
        database=base.database,
        session=Session(book, AccessSettings(sign_in=sign_in, idle_lock_minutes=5)),
        sign_in=sign_in,
    )
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def database(tmp_path: Path) -> Path:
    return BaseDir(tmp_path / "base").database


def open_bodycam(qtbot: QtBot, win: WallWindow, feed: Feed) -> None:
    """Open the body cam for a stated reason, as `vigil wall open` does, and wait until its
    viewing is open."""
    assert win.access is not None
    win.bodycams.open_for(
        feed, stated_reason("Public order", "", "INC-0412"), win.access.session.person
    )
    qtbot.waitUntil(lambda: win.viewing is not None and feed.name in win.viewing.open_feeds)


def test_the_idle_lock_ends_a_body_cams_viewing_after_the_seconds_it_was_open(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock, bodycam: Feed
) -> None:
    """In: a supervisor's wall with a body cam, opened for "Public order" at T0; the idle
    watcher fires at T0+7.25. Out: the body cam's viewing is closed at once (not open any
    more), and custody holds its view_opened and a view_closed with seconds 7.2 (rounded to
    a tenth: 7.25 → 7.2) and the reason, under the supervisor; the tile is shuttered."""
    win = window(qtbot, tmp_path, monkeypatch, clock, [bodycam])
    open_bodycam(qtbot, win, bodycam)
    clock.advance(7.25)
    assert win.access is not None
    assert win.access.idle is not None
    win.access.idle.idle.emit()
    assert win.access.session.locked
    qtbot.waitUntil(lambda: win.viewing is not None and win.viewing.open_feeds == [])
    tile = win.wall.tile_of(BODYCAM)
    assert tile is not None
    assert tile.shutter is not None
    assert win.viewing is not None
    win.viewing.close()
    assert closed_seconds(database(tmp_path)) == [(BODYCAM, getpass.getuser(), 7.2)]
    closing = entries(database(tmp_path))[-1][3]
    assert closing["reason"] == "Public order"


def test_a_sign_out_ends_the_persons_viewings_with_their_seconds(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock, camera: Feed
) -> None:
    """In: Vigil's own sign-in; sgt.a signs in at T0 and Cam 7 comes on view to them; the
    window locks at T0+20 and at T0+50 "Switch user" on the lock screen signs them out.
    Out: nothing is watched before anyone signs in; one view_opened and one view_closed of
    Cam 7 under sgt.a, the closing 50.0 s after the opening (the lock hides the window,
    the wall's picture stays up for the room) and after the signed_out entry; nothing is
    on view to nobody afterwards."""
    win = window(qtbot, tmp_path, monkeypatch, clock, [camera], sign_in=SignIn.VIGIL)
    qtbot.wait(20)
    assert win.viewing is not None
    assert win.viewing.open_feeds == []
    assert win.access is not None
    assert win.access.dialog is not None
    win.access.dialog.attempted.emit("sgt.a", "s3cret-pw")
    qtbot.waitUntil(lambda: win.viewing is not None and win.viewing.open_feeds == ["Cam 7"])
    clock.advance(20)
    assert win.access.idle is not None
    win.access.idle.idle.emit()
    clock.advance(30)
    win.access.lock_screen.switch_user_requested.emit()
    qtbot.waitUntil(lambda: win.viewing is not None and win.viewing.open_feeds == [])
    win.viewing.close()
    assert closed_seconds(database(tmp_path)) == [("Cam 7", "sgt.a", 50.0)]
    db = open_database(database(tmp_path))
    try:
        actions = [CustodyAction(e.action) for e in CustodyLog(db).entries()]
    finally:
        db.close()
    assert actions.index(CustodyAction.SIGNED_IN) < actions.index(CustodyAction.VIEW_OPENED)
    assert actions.index(CustodyAction.SIGNED_OUT) < actions.index(CustodyAction.VIEW_CLOSED)


def test_a_feed_that_ends_closes_its_viewing_with_its_seconds(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock, bodycam: Feed
) -> None:
    """In: a supervisor's wall with Cam 7 and a body cam; the body cam opened at T0; its
    feed ends (taken off the wall) at T0+3.04; Cam 7 goes on until the window closes at
    T0+100. Out: the body cam's view_closed says 3.0 s with its reason, at once (before
    the window closes); Cam 7's says 100.0 s; the body cam needs a reason again."""
    camera = Feed(FeedSpec("Cam 7", FeedKind.CAMERA, "udp://127.0.0.1:9"))
    win = window(qtbot, tmp_path, monkeypatch, clock, [camera, bodycam])
    qtbot.waitUntil(lambda: win.viewing is not None and win.viewing.open_feeds == ["Cam 7"])
    open_bodycam(qtbot, win, bodycam)
    clock.advance(3.04)
    win.wall.remove_feed(bodycam)
    qtbot.waitUntil(lambda: win.viewing is not None and win.viewing.open_feeds == ["Cam 7"])
    assert win.bodycams.open == {}
    clock.advance(96.96)
    win.close()
    me = getpass.getuser()
    assert closed_seconds(database(tmp_path)) == [(BODYCAM, me, 3.0), ("Cam 7", me, 100.0)]
    closing = entries(database(tmp_path))
    assert closing[-2][3]["reason"] == "Public order"

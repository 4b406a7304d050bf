"""`vigil wall`'s side in the wall (app/wall/remote.py): the wall's commands on a ControlDesk,
served on a real control socket, drive the real window's screens and body cams.

The control server runs on a qasync loop on the GUI thread, as Vigil runs it (the wall's
commands touch widgets, so they must run there); each request is made from a worker
thread with the same `request()` the `vigil wall` command uses. The asker is this test
process: the OS user, as the kernel names it to the socket, holds the role under test."""

from __future__ import annotations

import asyncio
import os
import pwd
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.access.accounts import AccountBook
from app.access.control_desk import ControlDesk
from app.access.roles import Role
from app.access.session import Session
from app.config.access import AccessSettings
from app.control import ControlServer, request
from app.database import open_database
from app.evidence.custody import CustodyAction, CustodyLog
from app.paths import BaseDir
from app.wall.remote import serve_wall
from app.wall.screens import wall_screens
from app.window import WallWindow
from media.live.feed import Feed, FeedKind, FeedSpec

ME = pwd.getpwuid(os.getuid()).pw_name
"""Who the socket says this process is (and who the window's OS sign-in takes)."""
BODYCAM = "BWV-4521"


class RemoteWall:
    """The window, and `ask(message)`: a request over the control socket, answered."""

    def __init__(self, window: WallWindow, base: BaseDir, loop: asyncio.AbstractEventLoop):
        self.window = window
        self.base = base
        self.loop = loop

    def ask(self, **message: Any) -> dict[str, Any]:
        future = self.loop.run_in_executor(None, request, self.base.control_socket, message)
        return self.loop.run_until_complete(asyncio.wait_for(future, 10))


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


def remote_wall(
    qtbot: QtBot, short_tmp: Path, loop: asyncio.AbstractEventLoop, role: Role
) -> Iterator[RemoteWall]:
    base = BaseDir(short_tmp / "base").ensure()
    db = open_database(base.database)
    book = AccountBook(db, CustodyLog(db))
    book.add("chief", Role.ADMIN, by="test")
    book.add(ME, role, by="chief")
    feeds = [
        Feed(FeedSpec("Cam 1", FeedKind.CAMERA, "udp://127.0.0.1:9")),
        Feed(FeedSpec("Drone Alpha", FeedKind.DRONE, "udp://127.0.0.1:9")),
        Feed(FeedSpec(BODYCAM, FeedKind.BODYCAM, "udp://127.0.0.1:9")),
    ]
    window = WallWindow(
        feeds,
        state_file=short_tmp / "wall.json",
        database=base.database,
        session=Session(book, AccessSettings(), os_name=ME),
        screens=wall_screens(None),
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    desk = ControlDesk(base.database)
    serve_wall(desk, window.screens, window.bodycams)
    server = ControlServer(base.control_socket, desk.handle)
    loop.run_until_complete(server.start())
    try:
        yield RemoteWall(window, base, loop)
    finally:
        loop.run_until_complete(server.close())
        db.close()


@pytest.fixture
def supervisor(
    qtbot: QtBot, short_tmp: Path, loop: asyncio.AbstractEventLoop
) -> Iterator[RemoteWall]:
    yield from remote_wall(qtbot, short_tmp, loop, Role.SUPERVISOR)


@pytest.fixture
def operator(
    qtbot: QtBot, short_tmp: Path, loop: asyncio.AbstractEventLoop
) -> Iterator[RemoteWall]:
    yield from remote_wall(qtbot, short_tmp, loop, Role.OPERATOR)


def test_a_supervisor_arranges_the_screens_from_a_terminal(supervisor: RemoteWall) -> None:
    """In: over the socket, `wall` (show); `wall-send` Drone Alpha to screen 2;
    `wall-layout` 1x1 on screen 2; `wall-save` "Night"; the drone sent back and screen 2 set
    to 2x2; `wall-preset` "Night". Out: show names both screens (WALL-1, WALL-2) with every
    feed on exactly one; each command answers what it did in words and the window's
    screens change to match (the drone alone on screen 2 in 1x1); the save answers Ctrl+1;
    the preset brings 1x1 and the drone back, and show then names "Night" as current."""
    screens = supervisor.window.screens
    shown = supervisor.ask(cmd="wall")
    assert [s["name"] for s in shown["screens"]] == ["WALL-1", "WALL-2"]
    assert sorted(f for s in shown["screens"] for f in s["feeds"]) == sorted(
        ["Cam 1", "Drone Alpha", BODYCAM]
    )
    assert shown["presets"] == []

    sent = supervisor.ask(cmd="wall-send", feed="Drone Alpha", screen=2)
    assert sent == {"said": "Drone Alpha is on screen 2"}
    assert screens.walls[1].order == ["Drone Alpha"]
    laid = supervisor.ask(cmd="wall-layout", layout="1x1", screen=2)
    assert laid == {"said": "screen 2: layout 1x1"}
    assert screens.walls[1].layout_name == "1x1"
    saved = supervisor.ask(cmd="wall-save", name="Night")
    assert saved == {"said": "wall saved as preset 1, 'Night' (Ctrl+1)"}
    assert screens.presets.names == ["Night"]

    supervisor.ask(cmd="wall-send", feed="Drone Alpha", screen=1)
    supervisor.ask(cmd="wall-layout", layout="2x2", screen=2)
    assert screens.walls[1].order == []
    recalled = supervisor.ask(cmd="wall-preset", name="Night")
    assert recalled["said"] == "wall preset 'Night' applied"
    assert recalled["current_preset"] == "Night"
    assert recalled["screens"][1]["feeds"] == ["Drone Alpha"]
    assert screens.walls[1].order == ["Drone Alpha"]
    assert screens.walls[1].layout_name == "1x1"


def test_bad_requests_are_answered_with_what_is_wrong(supervisor: RemoteWall) -> None:
    """In: `wall-send` with no feed; with screen "two"; to screen 3 (there are two); a feed
    not on the wall opened; `wall-preset` of no name. Out: each an error in words naming the
    problem ("feed is missing", "screen must be a whole number", "there is no screen 3",
    "no feed named", "name is missing"); nothing on the screens moved."""
    screens = supervisor.window.screens
    before = screens.describe()
    answers = [
        supervisor.ask(cmd="wall-send", screen=2),
        supervisor.ask(cmd="wall-send", feed="Drone Alpha", screen="two"),
        supervisor.ask(cmd="wall-send", feed="Drone Alpha", screen=3),
        supervisor.ask(
            cmd="bodycam-open", feed="BWV-0000", reason="Public order", incident="INC-1"
        ),
        supervisor.ask(cmd="wall-preset", name=" "),
    ]
    errors = [answer.get("error", "") for answer in answers]
    for error, words in zip(
        errors,
        [
            "feed is missing",
            "screen must be a whole number",
            "there is no screen 3",
            "no feed named 'BWV-0000'",
            "name is missing",
        ],
        strict=True,
    ):
        assert words in error
    assert screens.describe() == before


def test_a_supervisor_opens_and_closes_a_body_cam_from_a_terminal(
    qtbot: QtBot, supervisor: RemoteWall
) -> None:
    """In: `bodycam-open` of the body cam with "Other (say why below)" and no words;
    then with "Public order", incident INC-0412; `bodycam-close` twice. Out: the first is
    refused naming the missing words and the tile stays shuttered; the second opens it (no
    shutter, the reason on the tile) and answers with the reason; custody holds its
    view_opened under the OS user with the reason; the first close shutters it again and
    answers "closed", the second says it is not open."""
    from app.access.bodycam import OTHER

    window = supervisor.window
    tile = window.wall.tile_of(BODYCAM)
    assert tile is not None
    assert tile.shutter is not None
    vague = supervisor.ask(cmd="bodycam-open", feed=BODYCAM, reason=OTHER, incident="INC-0412")
    assert vague["error"].startswith("detail:")
    assert tile.shutter is not None

    opened = supervisor.ask(
        cmd="bodycam-open", feed=BODYCAM, reason="Public order", incident="INC-0412"
    )
    assert opened["said"].startswith(f"{BODYCAM} open on the wall: Public order")
    assert tile.shutter is None
    assert tile.reason is not None
    assert tile.reason.startswith("Public order")
    assert window.viewing is not None
    viewing = window.viewing
    qtbot.waitUntil(lambda: BODYCAM in viewing.open_feeds, timeout=5000)

    assert supervisor.ask(cmd="bodycam-close", feed=BODYCAM) == {"said": f"{BODYCAM} closed"}
    assert tile.shutter is not None
    again = supervisor.ask(cmd="bodycam-close", feed=BODYCAM)
    assert again["error"] == f"{BODYCAM} is not open"
    viewing.close()
    db = open_database(supervisor.base.database)
    try:
        entries = [
            (CustodyAction(e.action), e.actor, e.details_dict.get("reason"))
            for e in CustodyLog(db).entries(BODYCAM)
        ]
    finally:
        db.close()
    assert entries == [
        (CustodyAction.VIEW_OPENED, ME, "Public order"),
        (CustodyAction.VIEW_CLOSED, ME, "Public order"),
    ]


def test_an_operator_may_look_but_not_rearrange_or_open(operator: RemoteWall) -> None:
    """In: the OS user is an operator; `wall`, `wall-send` and `bodycam-open` over the
    socket. Out: show answers the screens; the other two are refused (naming the
    permission) before any of the wall's code runs: nothing moves, the body cam stays
    shuttered."""
    window = operator.window
    assert [s["index"] for s in operator.ask(cmd="wall")["screens"]] == [1, 2]
    sent = operator.ask(cmd="wall-send", feed="Drone Alpha", screen=2)
    assert sent["refused"] is True
    assert sent["permission"] == "manage_layouts"
    assert window.screens.walls[1].order == []
    opened = operator.ask(
        cmd="bodycam-open", feed=BODYCAM, reason="Public order", incident="INC-0412"
    )
    assert opened["refused"] is True
    assert opened["permission"] == "open_bodycams"
    tile = window.wall.tile_of(BODYCAM)
    assert tile is not None
    assert tile.shutter is not None

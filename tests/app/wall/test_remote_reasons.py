"""`vigil wall open`'s reasons, as a supervisor at a terminal meets them: the command line
(`app.cli.main`, run off the GUI thread as a separate process would be) against the real
window's body cams on a real control socket (tests/app/wall/test_remote.py's wall). A
reason's short name or its full text in any case opens the body cam with the full text in
the custody log; a reason that is none of them, or Other with no words, is refused with
what to type."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.access.bodycam import REASON_KEYS, REASONS
from app.access.roles import Role
from app.cli import main
from app.database import open_database
from app.evidence.custody import CustodyAction, CustodyLog
from tests.app.wall.test_remote import BODYCAM, ME, RemoteWall, remote_wall


@pytest.fixture
def wall_loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def supervisor_wall(
    qtbot: QtBot, short_tmp: Path, wall_loop: asyncio.AbstractEventLoop
) -> Iterator[RemoteWall]:
    yield from remote_wall(qtbot, short_tmp, wall_loop, Role.SUPERVISOR)


def vigil_wall(wall: RemoteWall, *argv: str) -> int:
    """`vigil wall ARGV` on the wall's base dir, from a worker thread while the GUI thread
    serves the request. The collector is held off meanwhile: a collection the worker set
    off would destroy the wall's discarded Qt objects on the wrong thread (in Vigil the
    command is another process, so this is the test's own arrangement)."""
    args = ["wall", *argv, "--base-dir", str(wall.base.root)]
    gc.collect()
    gc.disable()
    try:
        future = wall.loop.run_in_executor(None, main, args)
        return int(wall.loop.run_until_complete(asyncio.wait_for(future, 20)))
    finally:
        gc.enable()


def test_a_reason_not_listed_is_refused_with_the_list(
    supervisor_wall: RemoteWall, capsys: pytest.CaptureFixture[str]
) -> None:
    """In: `vigil wall open BWV-4521 --reason Curiosity --incident INC-0412`; then
    `--reason Other` with no --detail.
    Out: both exit 1 and the tile stays shuttered; the first's stderr names the reason field
    and lists every short name with its reason; the second's asks for words and says to
    give them with --detail."""
    tile = supervisor_wall.window.wall.tile_of(BODYCAM)
    assert tile is not None

    assert (
        vigil_wall(
            supervisor_wall, "open", BODYCAM, "--reason", "Curiosity", "--incident", "INC-0412"
        )
        == 1
    )
    unlisted = capsys.readouterr().err
    assert unlisted.startswith("vigil: reason: Choose one of the reasons listed: safety = ")
    for key, reason in REASON_KEYS.items():
        assert f"{key} = " in unlisted
        assert reason in unlisted or key == "other"
    assert (
        vigil_wall(supervisor_wall, "open", BODYCAM, "--reason", "Other", "--incident", "INC-0412")
        == 1
    )
    vague = capsys.readouterr().err
    assert "You chose Other: say in a few words why" in vague
    assert vague.rstrip().endswith("(give it with --detail TEXT)")
    assert tile.shutter is not None


def test_short_names_and_any_case_open_with_the_full_reason(
    qtbot: QtBot, supervisor_wall: RemoteWall, capsys: pytest.CaptureFixture[str]
) -> None:
    """In: `--reason SAFETY`, close; `--reason "public ORDER"` (a full text in another case),
    close; `--reason other --detail "Dog handler asked to see the scene"`, close.
    Out: each opens (exit 0, saying the full reason), then closes; the custody log's
    view_opened entries under the OS user hold "Officer safety: threat or assault", "Public
    order" and Other with the words, never the short name typed."""
    wall = supervisor_wall
    tile = wall.window.wall.tile_of(BODYCAM)
    assert tile is not None
    common = ["--incident", "INC-0412"]
    for reason, detail in (
        ("SAFETY", []),
        ("public ORDER", []),
        ("other", ["--detail", "Dog handler asked to see the scene"]),
    ):
        assert vigil_wall(wall, "open", BODYCAM, "--reason", reason, *common, *detail) == 0
        assert tile.shutter is None
        assert vigil_wall(wall, "close", BODYCAM) == 0
        assert tile.shutter is not None
    said = capsys.readouterr().out
    assert f"{BODYCAM} open on the wall: Officer safety: threat or assault · INC-0412" in said
    viewing = wall.window.viewing
    assert viewing is not None
    viewing.close()
    db = open_database(wall.base.database)
    try:
        opened = [
            (e.actor, e.details_dict.get("reason"), e.details_dict.get("detail"))
            for e in CustodyLog(db).entries(BODYCAM)
            if e.action == CustodyAction.VIEW_OPENED
        ]
    finally:
        db.close()
    assert opened == [
        (ME, REASONS[0], None),
        (ME, "Public order", None),
        (ME, REASON_KEYS["other"], "Dog handler asked to see the scene"),
    ]

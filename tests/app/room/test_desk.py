"""A room's desk as `vigil run` composes it (app/instance.py with a [room] section), on the
offscreen platform, against the real `vigil server`: the person signs in to the server in
the window's own dialog, the room's feeds come onto the wall through the server's
restream, and the desk records nothing."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.access import WRONG_SIGN_IN
from app.instance import Options, _compose
from tests.app.test_keys import press, select
from tests.e2e.harness import RunningVigil
from tests.e2e.test_configured_feeds import write_clip
from tests.e2e.test_room_desks import write_room_config
from tests.e2e.test_room_server import PASSWORDS, add_user
from tests.servers import free_port


def server_clips(base: Path) -> list[tuple[str, str, float, float]]:
    with sqlite3.connect(base / "vigil.db") as db:
        rows = db.execute(
            "SELECT feed_name, created_by, start_utc, end_utc FROM clips ORDER BY rowid"
        )
        return [(feed, by, start, end) for feed, by, start, end in rows]


def server_custody(base: Path, action: str) -> list[dict[str, Any]]:
    with sqlite3.connect(base / "vigil.db") as db:
        rows = db.execute(
            "SELECT actor, subject, details FROM custody WHERE action = ? ORDER BY id", [action]
        )
        return [{"actor": a, "subject": s, **json.loads(d)} for a, s, d in rows]


def test_a_desk_signs_in_to_the_room_and_shows_its_feeds_recording_nothing(
    qtbot: QtBot, short_tmp: Path
) -> None:
    """In: `vigil server` with a looping clip "Cam-1" and a body cam, accounts ann
    (supervisor) and chief (admin); a desk whose config has only [room] (the server's
    address and the fingerprint it printed). In the desk's sign-in dialog: ann with a wrong
    password, then with hers; later ann signs out.
    Out: before sign-in the wall shows no feed and the banner asks to sign in to the room
    server; the wrong password is refused in the dialog with the usual words; once signed
    in, Cam-1 and the body cam are on the wall, Cam-1 decoding 320x240 pictures, `vigil
    status` (the instance's status) lists them with "via": "room" and the room with ann as
    supervisor; the desk has no recordings folder content and no gateway; signing out
    takes the room's feeds off the wall.
    Then T on Cam-1 at the desk: the clip is made on the server, by ann, and none on the
    desk; the viewing of the tiles on view is logged on the server under ann, "via desk
    API". The window locked and unlocked with ann's password: both entries on the server
    under ann. Then the server killed: T twice more says the tag is kept, and nothing is lost;
    the server started again: the two kept tags arrive, in order, each once, with the
    times the operator pressed T, and the desk's outbox has nothing waiting."""
    clip = short_tmp / "clip.mp4"
    write_clip(clip, seconds=2)
    api_port = free_port()
    server_config = write_room_config(short_tmp, clip, api_port)
    server_base = short_tmp / "server"
    for user, role in (("ann", "supervisor"), ("chief", "admin")):
        add_user(server_base, user, role)
    server = RunningVigil(server_base, ["--config", server_config], command=("server",))
    handlers = list(logging.getLogger().handlers)
    instance = window = None
    try:
        status = server.wait_for(lambda s: s["feeds"][0]["state"] == "live", timeout=60)
        desk_config = short_tmp / "desk.toml"
        desk_config.write_text(
            f'[room]\nserver = "https://127.0.0.1:{api_port}"\n'
            f'fingerprint = "{status["server"]["fingerprint"]}"\n'
        )
        desk_base = short_tmp / "desk"
        _, _, instance, window = _compose(
            Options(config=desk_config, base_dir=desk_base), offscreen=True
        )
        qtbot.addWidget(window)
        instance.start()
        window.show()
        assert instance.feeds.feeds == []
        assert window.access is not None
        qtbot.waitUntil(lambda: window.access.dialog is not None)
        assert "Sign in to the room server" in window.banner.text()
        dialog = window.access.dialog
        dialog.attempted.emit("ann", "not-her-password")
        assert WRONG_SIGN_IN in dialog.message.text()
        dialog.attempted.emit("ann", PASSWORDS["ann"])
        qtbot.waitUntil(lambda: len(instance.feeds.feeds) == 2, timeout=10_000)
        cam = next(f for f in instance.feeds.feeds if f.name == "Cam-1")
        qtbot.waitUntil(lambda: cam.stats.frames >= 10, timeout=30_000)
        assert (cam.stats.width, cam.stats.height) == (320, 240)
        assert window.wall.tile_of("Cam-1") is not None
        seen = instance.status()
        assert {f["name"]: f.get("via") for f in seen["feeds"]} == {
            "Cam-1": "room",
            "BWV-7": "room",
        }
        assert (seen["room"]["user"], seen["room"]["role"]) == ("ann", "supervisor")
        assert seen["gateway"] is None
        assert not any((desk_base / "recordings").rglob("*.ts"))

        select(qtbot, window, "Cam-1")
        press(qtbot, window, Qt.Key.Key_T)
        qtbot.waitUntil(lambda: len(server_clips(server_base)) == 1, timeout=10_000)
        assert server_clips(server_base)[0][:2] == ("Cam-1", "ann")
        qtbot.waitUntil(lambda: "Tagged" in window.statusBar().currentMessage())
        with sqlite3.connect(desk_base / "vigil.db") as db:
            assert db.execute("SELECT COUNT(*) FROM clips").fetchone() == (0,)
        qtbot.waitUntil(
            lambda: any(
                e["subject"] == "Cam-1" and e["actor"] == "ann"
                for e in server_custody(server_base, "view_opened")
            ),
            timeout=10_000,
        )
        assert server_custody(server_base, "view_opened")[0]["via"] == "desk API"

        window.access.lock()  # as the idle lock does
        assert window.access.session.locked
        window.access.lock_screen.unlock_requested.emit(PASSWORDS["ann"])
        assert not window.access.session.locked
        qtbot.waitUntil(
            lambda: (
                [e["actor"] for e in server_custody(server_base, "session_unlocked")] == ["ann"]
            ),
            timeout=10_000,
        )
        assert [e["actor"] for e in server_custody(server_base, "session_locked")] == ["ann"]

        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(10)
        pressed = []
        for _ in range(2):
            pressed.append(time.time())
            press(qtbot, window, Qt.Key.Key_T)
            qtbot.waitUntil(
                lambda: "Tag kept" in window.statusBar().currentMessage(), timeout=10_000
            )
        assert server_clips(server_base)[1:] == []
        server = RunningVigil(server_base, ["--config", server_config], command=("server",))
        qtbot.waitUntil(lambda: len(server_clips(server_base)) == 3, timeout=60_000)
        qtbot.waitUntil(lambda: instance.room.outbox.counts().get("waiting", 0) == 0)
        made = server_clips(server_base)
        assert [feed for feed, _, _, _ in made] == ["Cam-1"] * 3  # none doubled
        for (_, _, _, end), at in zip(made[1:], pressed, strict=True):
            assert at <= end < at + 1.0  # the moment T was pressed, not of delivery

        window.access.session.sign_out()
        assert instance.feeds.feeds == []
    finally:
        if window is not None:
            window.close()
        if instance is not None:
            instance.stop()
        server.stop()
        for handler in logging.getLogger().handlers:
            if handler not in handlers:
                logging.getLogger().removeHandler(handler)

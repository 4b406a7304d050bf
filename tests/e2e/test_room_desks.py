"""Desks read the room's feeds from the real `vigil server`: each feed pulled once by the
server, restreamed to every desk as MPEG-TS over the pinned HTTPS API, decoded on the desk
as any feed is. The desk's side is Vigil's own (app/room/client.py, desk_feeds.py, the
feed's source); the server is the program, reached only by its public interface."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.config import RoomSettings
from app.room.client import NotPinnedError, RoomClient, RoomError
from app.room.desk_feeds import RoomRelay, room_feed_spec
from media.live import Feed, FeedSource, FeedState
from tests.e2e.harness import RunningVigil
from tests.e2e.test_configured_feeds import write_clip
from tests.e2e.test_room_server import PASSWORDS, add_user
from tests.servers import free_port, wait_for


@contextmanager
def desk_feed(client: RoomClient, listed: dict[str, object]) -> Iterator[tuple[Feed, RoomRelay]]:
    """One feed on a desk: its relay from the server and its decoding source."""
    feed = Feed(room_feed_spec(dict(listed), client.server), feed_id=str(listed["id"]))
    relay = RoomRelay(client, str(listed["id"]), name=feed.name)
    source = FeedSource(feed, relay=relay)
    source.start()
    try:
        yield feed, relay
    finally:
        source.stop()


def write_room_config(folder: Path, clip: Path, api_port: int) -> Path:
    config = folder / "vigil.toml"
    config.write_text(
        f'[[feeds]]\nname = "Cam-1"\nurl = "{clip}"\nloop = true\n\n'
        f'[[feeds]]\nname = "BWV-7"\nkind = "bodycam"\nurl = "{clip}"\nloop = true\n\n'
        f'[server]\nlisten = "127.0.0.1:{api_port}"\n\n'
        f'[sfu]\napi_port = {free_port()}\nadmin_port = {free_port()}\nrtp_ports = "34200-34300"\n\n'
        # A server has no desktop keyring: its signing key is a file of its own, as the
        # README says to set it.
        '[evidence]\nsigning_key = "file"\n'
    )
    return config


def test_two_desks_see_a_feed_the_server_pulls_once_and_resume_after_it_restarts(
    short_tmp: Path,
) -> None:
    """In: `vigil server` with a looping 320x240 clip "Cam-1" and a body cam, accounts chief
    (admin), ann (supervisor) and fran (forensic); two desks signed in as ann read Cam-1;
    fran's desk asks for the body cam; a desk pinned to another fingerprint; then the server
    killed (SIGKILL) and started again on the same base dir and port.
    Out: both desks decode Cam-1's 320x240 pictures while the server's status shows two
    desks on Cam-1's one restream, and the server decoding nothing itself; fran's body-cam stream is refused with the reason on the feed;
    the wrongly pinned desk is refused before sending anything, with both fingerprints said;
    while the server is down each desk's feed leaves LIVE with "cannot be reached"; within
    5 s of the server's return, both desks' pictures come again with the same sign-in."""
    clip = short_tmp / "clip.mp4"
    write_clip(clip, seconds=2)
    api_port = free_port()
    config = write_room_config(short_tmp, clip, api_port)
    base = short_tmp / "base"
    for user, role in (("ann", "supervisor"), ("fran", "forensic"), ("chief", "admin")):
        add_user(base, user, role)
    server = RunningVigil(base, ["--config", config], command=("server",))
    try:
        status = server.wait_for(
            lambda s: all(f["state"] == "live" for f in s["feeds"]), timeout=60
        )
        settings = RoomSettings(f"https://127.0.0.1:{api_port}", status["server"]["fingerprint"])
        wrong = RoomClient(RoomSettings(settings.server, "SHA256:" + "0" * 64))
        with pytest.raises(NotPinnedError, match="not the one this desk trusts") as refused:
            wrong.sign_in("ann", PASSWORDS["ann"])
        assert status["server"]["fingerprint"].removeprefix("SHA256:") in str(refused.value)

        desks = [RoomClient(settings) for _ in range(2)]
        for desk in desks:
            desk.sign_in("ann", PASSWORDS["ann"])
        listed = {f["name"]: f for f in desks[0].room()["feeds"]}
        fran = RoomClient(settings)
        fran.sign_in("fran", PASSWORDS["fran"])
        with (
            desk_feed(desks[0], listed["Cam-1"]) as (one, _),
            desk_feed(desks[1], listed["Cam-1"]) as (two, _),
            desk_feed(fran, listed["BWV-7"]) as (_, fran_relay),
        ):
            for feed in (one, two):
                wait_for(lambda f=feed: f.stats.frames >= 20, 30, f"{feed.name} decoded")
                assert (feed.stats.width, feed.stats.height) == (320, 240)
            wait_for(lambda: fran_relay.problem is not None, 15, "fran refused")
            assert "403" in fran_relay.problem or "refused" in fran_relay.problem
            seen = server.wait_for(lambda s: s["feeds"][0]["restream"]["desks"] == 2, timeout=15)[
                "feeds"
            ][0]
            assert seen["decoding"] == "none"  # the server decodes nothing
            assert seen["frames"] == 0

            os.kill(server.process.pid, signal.SIGKILL)
            server.process.wait(10)
            for feed in (one, two):
                wait_for(
                    lambda f=feed: (
                        f.state() is not FeedState.LIVE
                        and "cannot be reached" in (f.connection.error or "")
                    ),
                    15,
                    f"{feed.name} shown lost",
                )
            before = [one.stats.frames, two.stats.frames]
            server = RunningVigil(base, ["--config", config], command=("server",))
            server.wait_for(lambda s: s["feeds"][0]["state"] == "live", timeout=60)
            for feed, had in zip((one, two), before, strict=True):
                # 5 s, the room's promise, and the 0.3 s status poll that saw it live again
                wait_for(lambda f=feed, n=had: f.stats.frames > n + 10, 5.5, "pictures again")
    finally:
        server.stop()


def test_desks_tags_and_custody_entries_are_checked_and_done_once(short_tmp: Path) -> None:
    """In: `vigil server` with Cam-1; ann (supervisor) and fran (forensic) signed in from
    desks. ann tags Cam-1 twice with one Idempotency-Key (a desk retrying a request whose
    answer it never heard), then with another; edits a tag; withdraws one; sends a custody
    entry of a viewing. Bad input: a tag with no times, one ending before it starts, a
    custody action a desk may not write (an export), an edit of a clip that does not
    exist, a key of 3 characters; fran tags.
    Out: the repeat gets the same clip and the server has two clips, not three; the edit
    and withdrawal are answered with the clip as it now is; the viewing is in the server's
    custody log under ann "via desk API"; each bad request 400 (404 for the unknown clip)
    with a reason, and nothing made; fran is refused 403 with a REFUSED entry."""
    clip = short_tmp / "clip.mp4"
    write_clip(clip, seconds=2)
    api_port = free_port()
    config = write_room_config(short_tmp, clip, api_port)
    base = short_tmp / "base"
    for user, role in (("ann", "supervisor"), ("fran", "forensic"), ("chief", "admin")):
        add_user(base, user, role)
    server = RunningVigil(base, ["--config", config], command=("server",))
    try:
        status = server.wait_for(lambda s: s["server"]["fingerprint"] is not None, timeout=60)
        settings = RoomSettings(f"https://127.0.0.1:{api_port}", status["server"]["fingerprint"])
        ann, fran = RoomClient(settings), RoomClient(settings)
        ann.sign_in("ann", PASSWORDS["ann"])
        fran.sign_in("fran", PASSWORDS["fran"])
        now = time.time()
        tag = {"feed": "Cam-1", "start_utc": now - 10, "end_utc": now}
        first = ann.request("POST", "/api/v1/clips", tag, key="desk-1-request-0001")
        again = ann.request("POST", "/api/v1/clips", tag, key="desk-1-request-0001")
        other = ann.request("POST", "/api/v1/clips", tag, key="desk-1-request-0002")
        assert again["id"] == first["id"] != other["id"]
        assert (first["feed_name"], first["feed_kind"], first["created_by"]) == (
            "Cam-1",
            "camera",
            "ann",
        )
        edited = ann.request(
            "PATCH", f"/api/v1/clips/{first['id']}", {"tags": ["weapon"], "note": "knife"}
        )
        assert (edited["tags"], edited["note"]) == (["weapon"], "knife")
        withdrawn = ann.request("DELETE", f"/api/v1/clips/{other['id']}", {"reason": "mistake"})
        assert withdrawn["withdrawn_by"] == "ann"
        entry = {"action": "view_opened", "subject": "Cam-1", "details": {}, "at": now}
        ann.request("POST", "/api/v1/custody", entry)

        bad = [
            ("POST", "/api/v1/clips", {"feed": "Cam-1"}, 400, "start_utc"),
            ("POST", "/api/v1/clips", {**tag, "end_utc": now - 20}, 400, "must end after"),
            ("POST", "/api/v1/custody", {**entry, "action": "export"}, 400, "may log only"),
            ("PATCH", "/api/v1/clips/NOPE-1", {"note": "x"}, 404, ""),
        ]
        for method, path, body, code, why in bad:
            with pytest.raises(RoomError) as refused:
                ann.request(method, path, body)
            assert refused.value.status == code, (path, body, refused.value)
            assert why in str(refused.value)
        with pytest.raises(RoomError) as short_key:
            ann.request("POST", "/api/v1/clips", tag, key="abc")
        assert short_key.value.status == 400
        with pytest.raises(RoomError) as not_hers:
            fran.request("POST", "/api/v1/clips", tag)
        assert not_hers.value.status == 403
    finally:
        server.stop()
    with sqlite3.connect(base / "vigil.db") as db:
        assert db.execute("SELECT COUNT(*) FROM clips").fetchone() == (2,)
        views = db.execute(
            "SELECT actor, details FROM custody WHERE action = 'view_opened'"
        ).fetchall()
        refused_tags = db.execute(
            "SELECT actor FROM custody WHERE action = 'refused' AND subject LIKE '%tag%'"
        ).fetchall()
    assert [(actor, json.loads(d)["via"]) for actor, d in views] == [("ann", "desk API")]
    assert refused_tags == [("fran",)]

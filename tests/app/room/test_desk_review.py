"""The Review window's store on a room's desk (app/room/desk_review.py) against the real
`vigil server`: clips found on the server, played from its segments fetched into the desk's
cache and checked against the server's ledger, viewing custody in the server's log."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from app.config import RoomSettings
from app.evidence import UnknownClipError
from app.evidence.bundle import check_bundle
from app.feeds import FeedService
from app.paths import BaseDir
from app.room import RoomDesk, RoomReviewStore
from app.room.client import RoomClient, RoomError
from media.clips import ClipReadError
from tests.e2e.harness import RunningVigil
from tests.e2e.test_configured_feeds import write_clip
from tests.e2e.test_room_desks import write_room_config
from tests.e2e.test_room_server import PASSWORDS, add_user
from tests.servers import free_port, wait_for


def custody(base: Path, action: str) -> list[dict[str, Any]]:
    with sqlite3.connect(base / "vigil.db") as db:
        rows = db.execute(
            "SELECT actor, subject, details FROM custody WHERE action = ? ORDER BY id", [action]
        )
        return [{"actor": a, "subject": s, **json.loads(d)} for a, s, d in rows]


def test_a_desk_reviews_the_servers_clip_from_its_segments(short_tmp: Path) -> None:
    """In: `vigil server` recording a looping clip "Cam-1"; ann (supervisor) tags 3 s of it
    from her desk; fran (forensic) reviews from another desk: searches, opens the clip,
    writes a still, closes it; then one cached segment is corrupted on fran's desk and the
    clip opened again; then a segment corrupted on the server; ann searches; an unknown clip.
    Out: fran finds ann's clip; it opens with frames from the server's segments, now in
    fran's cache with the ledger's hashes; the still is a PNG on fran's desk; the server's
    custody log has view_opened, still_export and view_closed of the clip under fran, via
    the desk API; Export from the Review window writes on fran's desk a bundle the server
    signed, which checks valid; the corrupted cached segment is fetched again (the clip opens, the file hashes
    as the ledger says again); the server's corrupted segment is refused with ClipReadError
    saying it does not hash as the ledger says; ann may not review (403); an unknown clip
    is UnknownClipError."""
    clip = short_tmp / "clip.mp4"
    write_clip(clip, seconds=2)
    api_port = free_port()
    config = write_room_config(short_tmp, clip, api_port)
    base = short_tmp / "server"
    for user, role in (("ann", "supervisor"), ("fran", "forensic"), ("chief", "admin")):
        add_user(base, user, role)
    server = RunningVigil(base, ["--config", config], command=("server",))
    fran_desk: RoomDesk | None = None
    try:
        status = server.wait_for(lambda s: s["feeds"][0]["recording"], timeout=60)
        settings = RoomSettings(f"https://127.0.0.1:{api_port}", status["server"]["fingerprint"])
        ann = RoomClient(settings)
        ann.sign_in("ann", PASSWORDS["ann"])
        wait_for(lambda: len(list((base / "recordings").rglob("*.ts"))) >= 3, 60, "3 segments")
        now = time.time()
        made = ann.request(
            "POST", "/api/v1/clips", {"feed": "Cam-1", "start_utc": now - 4, "end_utc": now - 1}
        )
        with pytest.raises(RoomError) as refused:
            ann.request("GET", "/api/v1/review/clips")
        assert refused.value.status == 403

        desk_base = BaseDir.resolve(short_tmp / "fran-desk").ensure()
        fran_desk = RoomDesk(settings, FeedService(), desk_base.database)
        fran_desk.start()
        fran_desk.sign_in("fran", PASSWORDS["fran"])
        store = RoomReviewStore(desk_base, fran_desk, actor="fran")
        found = store.search(feed="Cam-1")
        assert [c.id for c in found] == [made["id"]]
        assert "Cam-1" in store.feed_names()
        opened = store.open_clip(made["id"])
        assert len(opened.index) > 0
        cached = sorted((desk_base.root / "room-evidence").rglob("*.ts"))
        assert cached
        still = store.export_still(opened, 0, desk_base.root / "still.png")
        assert still.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        store.close_clip(opened)
        exported = store.export_clip(made["id"], desk_base.root / "bundle")
        assert exported.frames > 0
        assert check_bundle(exported.folder).valid
        assert fran_desk.outbox.flush(10)
        for action in ("view_opened", "still_export", "view_closed"):
            (entry,) = custody(base, action)
            assert (entry["actor"], entry["subject"], entry["via"]) == (
                "fran",
                made["id"],
                "desk API",
            )

        cached[0].write_bytes(b"not what the server recorded")
        again = store.open_clip(made["id"])
        assert len(again.index) == len(opened.index)
        assert cached[0].read_bytes() != b"not what the server recorded"

        name = cached[0].relative_to(desk_base.root / "room-evidence")
        (base / "recordings" / name).write_bytes(b"tampered on the server")
        cached[0].unlink()
        with pytest.raises(ClipReadError, match="does not hash as its ledger says"):
            store.open_clip(made["id"])
        with pytest.raises(UnknownClipError):
            store.open_clip("NO-SUCH-CLIP")
    finally:
        if fran_desk is not None:
            fran_desk.stop()
        server.stop()

"""A desk follows the room's feeds as the server lists them (app/room/desk.py): a caller who
comes is put on the desk, one dismissed on the server taken off, and a caller's position is
the server's. The listings are what GET /api/v1/room answers (`vigil status`'s fields)."""

from __future__ import annotations

from pathlib import Path

from app.config import RoomSettings
from app.feeds import FeedService
from app.room import RoomDesk
from app.room.client import RoomError
from media.live import Connection, FeedKind, FeedState, Location

SERVER = "https://127.0.0.1:9"  # never asked: the listings are handed in


def listing(feed_id: str, name: str, kind: str, location: dict[str, float] | None = None):
    return {"id": feed_id, "name": name, "kind": kind, "location": location}


def test_callers_come_and_go_with_the_rooms_listing(tmp_path: Path) -> None:
    """In: a signed-in desk; the room lists Cam-1, then Cam-1 and a caller at a fix of
    8 m, then the caller moved, then only Cam-1; then the desk signed out meanwhile.
    Out: the desk's feeds are the room's after each listing (names, kinds, ids and where
    they are read from: the server's restream of that id); the caller's location is the
    last one listed; the server unreachable, the live feed shows RECONNECTING at once with
    "cut off" and the reason; once signed out a late listing changes nothing."""
    feeds = FeedService()
    desk = RoomDesk(RoomSettings(SERVER, "SHA256:" + "0" * 64), feeds, tmp_path / "vigil.db")
    desk.client.token = "signed-in"
    cam = listing("feed-1", "Cam-1", "camera")
    fix = {"lat": 53.959, "lon": -1.081, "accuracy_m": 8.0, "at": 1_000.0}
    desk.apply([cam])
    assert [(f.id, f.name, f.kind) for f in feeds.feeds] == [("feed-1", "Cam-1", FeedKind.CAMERA)]
    assert feeds.feeds[0].spec.url == f"{SERVER}/api/v1/feeds/feed-1/stream"
    desk.apply([cam, listing("caller-7", "Caller 07700 900123", "caller", fix)])
    caller = feeds.find("caller-7")
    assert caller is not None
    assert caller.kind is FeedKind.CALLER
    assert caller.location == Location(53.959, -1.081, 8.0, 1_000.0)
    desk.apply([cam, listing("caller-7", "Caller 07700 900123", "caller", {**fix, "at": 1_005.0})])
    assert caller.location is not None
    assert caller.location.at == 1_005.0
    assert [f.id for f in feeds.feeds] == ["feed-1", "caller-7"]
    desk.apply([cam])
    assert [f.id for f in feeds.feeds] == ["feed-1"]
    feeds.feeds[0].set_connection(Connection(FeedState.LIVE))
    desk.failed(RoomError(f"the room server {SERVER} cannot be reached: refused", why="refused"))
    cut_off = feeds.feeds[0].connection
    assert cut_off.state is FeedState.RECONNECTING
    assert cut_off.error == "cut off from the room: refused"
    desk.client.token = None
    desk.apply([cam, listing("caller-8", "Caller 2", "caller")])
    assert [f.id for f in feeds.feeds] == ["feed-1"]

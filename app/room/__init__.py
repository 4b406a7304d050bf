"""The room: `vigil server` on Janus, the WebRTC SFU, with desks as its clients. The server
records every feed once and is the evidence store's only writer; Janus forwards the media.
This part drives Janus (its config, its process, its API); it forwards no media itself,
but restreams the packets the server pulls to its desks. A desk's side is `RoomDesk` and
the window's `RoomSession`."""

from app.room.command_line import RoomCommand, RoomCommandError, sign_in_to_room
from app.room.desk import FOLLOW_S as ROOM_FOLLOW_S
from app.room.desk import RoomDesk, RoomSession
from app.room.desk_review import RoomReviewStore
from app.room.janus_api import JanusError
from app.room.janus_process import JanusStartError
from app.room.server import RoomServer

__all__ = [
    "ROOM_FOLLOW_S",
    "JanusError",
    "JanusStartError",
    "RoomCommand",
    "RoomCommandError",
    "RoomDesk",
    "RoomReviewStore",
    "RoomServer",
    "RoomSession",
    "sign_in_to_room",
]

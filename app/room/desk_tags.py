"""Tags from a room's desk: T and Shift+T make the clip on the room server.

`RoomClips` is what the wall's tag desk (app/evidence/tagging.py) makes clips with on a
desk: each request is kept in the desk's outbox first and delivered in order; the answer,
the clip as the server made it, comes back within a few seconds while the server is
there. When it is not, the tag is kept (ClipKeptError says so on the status line) and made
when the server is back, at the moment the operator chose, not later. No Qt here.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from app.evidence import Clip, ClipError, ClipKeptError, parse_utc
from app.room.client import RoomError
from app.room.outbox import NotDeliveredError, Outbox
from media.live import FeedKind

ANSWER_S = 3.0
"""How long a tag waits for the server's answer before it is said to be kept."""


class RoomClips:
    def __init__(self, outbox: Outbox, *, answer_s: float = ANSWER_S) -> None:
        self._outbox = outbox
        self._answer_s = answer_s

    def tag(self, feed_name: str, start: float, end: float, **more: Any) -> Clip:
        body = {"feed": feed_name, "start_utc": start, "end_utc": end}
        if more.get("incident"):
            body["incident"] = more["incident"]
        return self._send("POST", "/api/v1/clips", body, f"{end - start:.0f} s of {feed_name}")

    def edit(self, clip_id: str, **more: Any) -> Clip:
        body = {k: more[k] for k in ("tags", "note", "incident") if more.get(k) is not None}
        if isinstance(body.get("tags"), tuple):
            body["tags"] = list(body["tags"])
        return self._send("PATCH", _path(clip_id), body, f"the change to {clip_id}")

    def delete(self, clip_id: str, actor: str | None = None, reason: str | None = None) -> Clip:
        body = {"reason": reason} if reason else {}
        return self._send("DELETE", _path(clip_id), body, f"withdrawing {clip_id}")

    def _send(self, method: str, path: str, body: dict[str, Any], what: str) -> Clip:
        seq = self._outbox.put(method, path, body)
        try:
            answer = self._outbox.wait(seq, self._answer_s)
        except NotDeliveredError as exc:
            raise ClipKeptError(
                f"{what} is kept on this desk and goes to the room server when it is back ({exc})"
            ) from None
        except RoomError as exc:
            raise ClipError(str(exc)) from None
        return clip_from_public(answer)


def clip_from_public(public: dict[str, Any]) -> Clip:
    """A clip as the server's JSON has it (`Clip.public()`)."""
    kind = public.get("feed_kind")
    return Clip(
        id=public["id"],
        feed_name=public["feed_name"],
        feed_kind=FeedKind(kind) if kind else None,
        start_utc=float(public["start_utc"]),
        end_utc=float(public["end_utc"]),
        tags=tuple(public.get("tags") or ()),
        note=public.get("note"),
        incident=public.get("incident"),
        created_by=public["created_by"],
        created_at=_seconds(public.get("created_at")),
        locked=bool(public.get("locked")),
        locked_by=public.get("locked_by"),
        locked_at=_maybe(public.get("locked_at")),
        lock_reason=public.get("lock_reason"),
        withdrawn_by=public.get("withdrawn_by"),
        withdrawn_at=_maybe(public.get("withdrawn_at")),
        withdrawn_reason=public.get("withdrawn_reason"),
    )


def _seconds(text: str | None) -> float:
    return parse_utc(text).timestamp() if text else 0.0


def _maybe(text: str | None) -> float | None:
    return parse_utc(text).timestamp() if text else None


def _path(clip_id: str) -> str:
    return f"/api/v1/clips/{urllib.parse.quote(clip_id, safe='')}"

"""What a desk sends the room server, kept on the desk until the server has it.

Tags and custody entries (a viewing opened and closed, a body cam's stated reason, a lock)
must reach the server's evidence store even when the desk is cut off from it for a while:
each is written first to this desk's database (`room_outbox`), then delivered by one
thread, oldest first, one at a time, so the server receives them in the order they were
made. A delivery that fails because the server is away is tried again (every second) until
it succeeds; each carries an Idempotency-Key, so one whose answer was lost on the way is
not done twice (app/room/desk_evidence.py). A request the server refuses (a role that may
not tag, a clip that does not exist) is kept with the reason and not retried.

Each row travels with the token of whoever made it: an entry made by one person and
delivered after the next signed in is still theirs. No Qt here.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

from app.database import open_database
from app.evidence import CustodyAction
from app.room.client import RoomClient, RoomError
from media.live import Backoff

log = logging.getLogger(__name__)

WAITING, DELIVERED, REFUSED = "waiting", "delivered", "refused"


class NotDeliveredError(Exception):
    """The server has not answered yet: the request is kept and will be delivered."""


class Outbox:
    def __init__(self, database: Path, client: RoomClient) -> None:
        self._database = database
        self._client = client
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._backoff = Backoff()
        self._thread = threading.Thread(target=self._run, name="room-outbox", daemon=True)
        self.problem: str | None = None
        """Why deliveries wait now (the server is away), or None."""

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    # -- anyone's thread ------------------------------------------------------------------

    def put(self, method: str, path: str, body: Mapping[str, Any]) -> int:
        """Keep a request for the server, to be sent as the person signed in now."""
        token = self._client.token
        if token is None:
            raise RoomError("nobody is signed in to the room server at this desk")
        with closing(open_database(self._database)) as db:
            seq = (
                db.table("room_outbox")
                .insert(
                    {
                        "key": secrets.token_urlsafe(18),
                        "method": method,
                        "path": path,
                        "body": json.dumps(dict(body)),
                        "token": token,
                        "made_at": time.time(),
                        "state": WAITING,
                    }
                )
                .last_pk
            )
        assert isinstance(seq, int)
        with self._changed:
            self._changed.notify_all()
        return seq

    def wait(self, seq: int, timeout_s: float) -> Any:
        """The server's answer to request `seq`; RoomError if it refused it, or
        NotDeliveredError if it has not answered within `timeout_s` (it stays kept)."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                row = self._row(seq)
                if row["state"] == DELIVERED:
                    return json.loads(row["answer"]) if row["answer"] else None
                if row["state"] == REFUSED:
                    raise RoomError(row["error"], row["status"])
                left = deadline - time.monotonic()
                if left <= 0:
                    raise NotDeliveredError(self.problem or "the room server has not answered")
                self._changed.wait(left)

    def custody(
        self,
        action: CustodyAction,
        subject: str,
        details: Mapping[str, Any],
        actor: str | None = None,
    ) -> None:
        """A custody entry for the server's log (the actor is the token's person)."""
        body = {"action": action.value, "subject": subject, "details": dict(details)}
        self.put("POST", "/api/v1/custody", {**body, "at": time.time()})

    def flush(self, timeout_s: float) -> bool:
        """Wait until nothing is left to deliver; False if something still waits."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while self.counts().get(WAITING, 0):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def counts(self) -> dict[str, int]:
        with closing(open_database(self._database)) as db:
            rows = db.query("SELECT state, COUNT(*) AS n FROM room_outbox GROUP BY state")
            return {row["state"]: int(row["n"]) for row in rows}

    def status(self) -> dict[str, Any]:
        counts = self.counts()
        return {
            "waiting": counts.get(WAITING, 0),
            "delivered": counts.get(DELIVERED, 0),
            "refused": counts.get(REFUSED, 0),
            "problem": self.problem,
        }

    # -- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            row = self._oldest()
            if row is None:
                with self._changed:
                    if self._oldest() is None and not self._stop.is_set():
                        self._changed.wait(1.0)
                continue
            try:
                answer = self._client.request(
                    row["method"],
                    row["path"],
                    json.loads(row["body"]),
                    token=row["token"],
                    key=row["key"],
                )
            except RoomError as exc:
                if exc.status is None or exc.status >= 500 or exc.status == 429:
                    self.problem = str(exc)  # away: the same request again, in a moment
                    self._stop.wait(self._backoff.next_delay())
                    continue
                log.error("the room server refused %s %s: %s", row["method"], row["path"], exc)
                self._finish(row["seq"], REFUSED, exc.status, None, str(exc))
            else:
                self._finish(row["seq"], DELIVERED, 200, answer, None)
            self.problem = None
            self._backoff.reset()

    def _oldest(self) -> dict[str, Any] | None:
        with closing(open_database(self._database)) as db:
            return next(
                db.query(
                    "SELECT * FROM room_outbox WHERE state = ? ORDER BY seq LIMIT 1", [WAITING]
                ),
                None,
            )

    def _row(self, seq: int) -> dict[str, Any]:
        with closing(open_database(self._database)) as db:
            row: dict[str, Any] = db.table("room_outbox").get(seq)
            return row

    def _finish(
        self, seq: int, state: str, status: int | None, answer: Any, error: str | None
    ) -> None:
        with closing(open_database(self._database)) as db:
            db.table("room_outbox").update(
                seq,
                {
                    "state": state,
                    "status": status,
                    "answer": json.dumps(answer) if answer is not None else None,
                    "error": error,
                    "token": "",  # delivered or refused: the sign-in is not kept with it
                    "done_at": time.time(),
                },
            )
        with self._changed:
            self._changed.notify_all()

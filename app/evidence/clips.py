"""Tagged clips: an operator's statement that a feed's time range matters, and why.

A clip is a feed, a UTC time range, tags, a note, the incident reference, who made it and
when. The wall's T (the last 30 s of the selected tile), Shift+T (in and out marks) and
`vigil evidence tag` all end in `ClipBook.tag`; the Review window finds clips through
`ClipBook.search`; export (later) reads the range and asks the ledger for its segments.
Every change is a custody entry (app/evidence/custody.py): `tag_made` with the clip's fields,
`tag_edited` with each changed field's old and new value, `lock`, `delete_attempted`.
No Qt here.

Decisions, and why:

- Ids read `CLIP-YYYYMMDD-XXXXXX`: the UTC date the clip *starts* (the day of the event,
  which is what someone looking for it knows) and six random upper-case hex digits (24
  bits; a collision with that day's other clips is retried). Short enough to read out over
  a radio, and ids are accepted in any case.
- Tags are cleaned, not refused, where cleaning cannot change meaning: surrounding spaces
  dropped, inner runs of spaces made one, lower-cased (so "Assault" and "assault" are one
  tag and a search finds both), duplicates and blanks dropped, order kept. What is left
  must be 1..32 characters of [a-z0-9 _-], at most 16 tags: tags are for filtering, the
  note is for prose. A text is split on commas, so a dialog's field can be passed as is.
- The note is at most 2000 characters (tabs and line breaks allowed, no other control
  characters); the incident reference at most 64. Blank means none.
- A clip's range must end after it starts, last at most 6 h (a longer span is an export
  of the recording, not a moment), and end no more than 5 s after now (clock skew between
  the wall and a `vigil` command), so nothing is tagged that has not happened.
- Clips are never deleted. A tag is evidence of what an operator saw and said, and a row
  that vanishes leaves the custody log pointing at nothing; so `delete` withdraws an
  unlocked clip (kept, marked, left out of searches unless asked for) and refuses a locked
  one, and both are recorded as `delete_attempted` with the outcome. SQLite triggers
  (app/database.py) refuse DELETE, any change to a clip's feed, times or maker, lifting or
  rewriting a lock, and undoing a withdrawal. Retention must never remove a locked clip's
  recording; `search(locked=True)` is the list it keeps.
- A locked clip's tags, note and incident can still be edited (an investigator adds the
  case number), each edit a custody entry with the old value; its range cannot, ever.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from app.evidence.custody import CustodyAction, CustodyLog, os_user
from app.evidence.hashchain import immediate, utc_text
from media.live import FeedKind

MAX_CLIP_S = 6 * 3600.0
FUTURE_SLACK_S = 5.0
"""How far past now a clip may end: the wall's clock and a command's may differ a little."""
MAX_TAGS = 16
MAX_TAG_CHARS = 32
MAX_NOTE_CHARS = 2000
MAX_INCIDENT_CHARS = 64
MAX_FEED_CHARS = 200
ID_PREFIX = "CLIP-"

_TAG = re.compile(r"[a-z0-9 _-]+")
_ID = re.compile(r"CLIP-\d{8}-[0-9A-F]{6}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
"""Control characters but tab and line feed: they hide text in a listing or a report."""


class ClipError(ValueError):
    """Bad input for a clip, or an action the clip's state refuses; the text says which."""


class UnknownClipError(ClipError):
    pass


class ClipKeptError(Exception):
    """A tag made where the evidence store cannot be reached now (a room's desk cut off
    from its server): it is kept and will be made when the store is back."""


class ClipLockedError(ClipError):
    pass


class ClipWithdrawnError(ClipError):
    pass


@dataclass(frozen=True)
class Clip:
    id: str
    feed_name: str
    feed_kind: FeedKind | None
    """None when whoever tagged it did not know the feed's kind (a command line tag)."""
    start_utc: float
    """Unix time (UTC) of the clip's first moment."""
    end_utc: float
    tags: tuple[str, ...]
    note: str | None
    incident: str | None
    created_by: str
    created_at: float
    locked: bool = False
    locked_by: str | None = None
    locked_at: float | None = None
    lock_reason: str | None = None
    withdrawn_by: str | None = None
    withdrawn_at: float | None = None
    withdrawn_reason: str | None = None

    @property
    def duration_s(self) -> float:
        return self.end_utc - self.start_utc

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Clip:
        return cls(
            id=row["id"],
            feed_name=row["feed_name"],
            feed_kind=FeedKind(row["feed_kind"]) if row["feed_kind"] else None,
            start_utc=row["start_utc"],
            end_utc=row["end_utc"],
            tags=tuple(json.loads(row["tags"])),
            note=row["note"],
            incident=row["incident"],
            created_by=row["created_by"],
            created_at=row["created_at"],
            locked=bool(row["locked"]),
            locked_by=row["locked_by"],
            locked_at=row["locked_at"],
            lock_reason=row["lock_reason"],
            withdrawn_by=row["withdrawn_by"],
            withdrawn_at=row["withdrawn_at"],
            withdrawn_reason=row["withdrawn_reason"],
        )

    def record(self) -> dict[str, Any]:
        """What `tag_made` records: the clip as made, times as UTC text (readable in the
        log and in a court bundle, and exact to the microsecond)."""
        return {
            "feed": self.feed_name,
            "kind": self.feed_kind.value if self.feed_kind else None,
            "start_utc": utc_text(self.start_utc),
            "end_utc": utc_text(self.end_utc),
            "tags": list(self.tags),
            "note": self.note,
            "incident": self.incident,
            "created_by": self.created_by,
            "created_at": utc_text(self.created_at),
        }

    def public(self) -> dict[str, Any]:
        """What `vigil evidence list --json` prints: every field, times both as Unix
        seconds and as UTC text."""
        optional = (self.locked_at, self.withdrawn_at)
        return {
            "id": self.id,
            "feed_name": self.feed_name,
            "feed_kind": self.feed_kind.value if self.feed_kind else None,
            "start_utc": self.start_utc,
            "end_utc": self.end_utc,
            "start": utc_text(self.start_utc),
            "end": utc_text(self.end_utc),
            "duration_s": round(self.duration_s, 6),
            "tags": list(self.tags),
            "note": self.note,
            "incident": self.incident,
            "created_by": self.created_by,
            "created_at": utc_text(self.created_at),
            "locked": self.locked,
            "locked_by": self.locked_by,
            "locked_at": utc_text(optional[0]) if optional[0] is not None else None,
            "lock_reason": self.lock_reason,
            "withdrawn": self.withdrawn,
            "withdrawn_by": self.withdrawn_by,
            "withdrawn_at": utc_text(optional[1]) if optional[1] is not None else None,
            "withdrawn_reason": self.withdrawn_reason,
        }


def clean_tags(tags: str | Iterable[str] | None) -> tuple[str, ...]:
    """Tags as stored (the module docstring gives the rules); ClipError names a bad one."""
    if tags is None:
        return ()
    items = tags.split(",") if isinstance(tags, str) else list(tags)
    cleaned: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ClipError(f"a tag must be text, not {item!r}")
        tag = " ".join(item.split()).lower()
        if not tag or tag in cleaned:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise ClipError(f"tag {item.strip()!r} is longer than {MAX_TAG_CHARS} characters")
        if not _TAG.fullmatch(tag):
            raise ClipError(
                f"tag {item.strip()!r} may hold only letters A-Z, digits, spaces, '_' and '-'"
            )
        cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise ClipError(f"{len(cleaned)} tags; at most {MAX_TAGS} (put prose in the note)")
    return tuple(cleaned)


def _text(value: str | None, what: str, limit: int) -> str | None:
    """Free text stripped, blank as None; too long or holding control characters refused."""
    if value is None:
        return None
    text = value.strip()
    if len(text) > limit:
        raise ClipError(f"the {what} is {len(text)} characters; at most {limit}")
    if _CONTROL.search(text):
        raise ClipError(f"the {what} holds control characters")
    return text or None


def _incident(value: str | None) -> str | None:
    text = _text(value, "incident reference", MAX_INCIDENT_CHARS)
    if text is not None and ("\n" in text or "\t" in text):
        raise ClipError("the incident reference must be one line")
    return text


def normal_id(clip_id: str) -> str:
    return clip_id.strip().upper()


class ClipBook:
    """The clips table, on one connection (and so one thread); SQLite arbitrates between
    processes, so the wall and `vigil evidence` share it. Each change commits the clip and
    then appends its custody entry; custody has its own write transaction, so the two are
    not one atomic step, and a failure between them (disk full) leaves the clip with its
    own created_by/created_at but no entry: the error is raised to whoever tagged."""

    def __init__(
        self, db: sqlite_utils.Database, custody: CustodyLog, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = db
        self._custody = custody
        self._clock = clock

    # -- making ----------------------------------------------------------------------------

    def tag(
        self,
        feed_name: str,
        start: float,
        end: float,
        *,
        tags: str | Iterable[str] | None = None,
        note: str | None = None,
        incident: str | None = None,
        kind: FeedKind | str | None = None,
        actor: str | None = None,
    ) -> Clip:
        """Make a clip of `feed_name` from `start` to `end` (Unix times, UTC) and record
        `tag_made`. ClipError says what is wrong with the input."""
        now = self._clock()
        name = (feed_name or "").strip()
        if not name:
            raise ClipError("a clip needs the feed's name")
        if len(name) > MAX_FEED_CHARS or _CONTROL.search(name):
            raise ClipError(f"{name[:40]!r}… is not a feed name")
        if not (math.isfinite(start) and math.isfinite(end)):
            raise ClipError("a clip's start and end must be real times")
        if end <= start:
            raise ClipError(
                f"a clip must end after it starts ({utc_text(end)} is not after {utc_text(start)})"
            )
        if end - start > MAX_CLIP_S:
            raise ClipError(
                f"a clip lasts at most {MAX_CLIP_S / 3600:g} h; "
                f"this one {(end - start) / 3600:.2f} h"
            )
        if end > now + FUTURE_SLACK_S:
            raise ClipError(
                f"a clip cannot end in the future ({utc_text(end)}; now {utc_text(now)})"
            )
        feed_kind = _kind(kind) if kind is not None else None
        clip = Clip(
            id="",
            feed_name=name,
            feed_kind=feed_kind,
            start_utc=float(start),
            end_utc=float(end),
            tags=clean_tags(tags),
            note=_text(note, "note", MAX_NOTE_CHARS),
            incident=_incident(incident),
            created_by=actor if actor is not None else os_user(),
            created_at=now,
        )
        clip = self._insert(clip)
        self._custody.append(CustodyAction.TAG_MADE, clip.id, clip.record(), actor=clip.created_by)
        return clip

    def last(
        self,
        feed_name: str,
        seconds: float = 30.0,
        now: float | None = None,
        *,
        tags: str | Iterable[str] | None = None,
        note: str | None = None,
        incident: str | None = None,
        kind: FeedKind | str | None = None,
        actor: str | None = None,
    ) -> Clip:
        """The wall's T: a clip of the feed's last `seconds`, ending now (or at `now`)."""
        if not (math.isfinite(seconds) and seconds > 0):
            raise ClipError(f"the last how many seconds? {seconds:g} is not a length of time")
        end = self._clock() if now is None else now
        return self.tag(
            feed_name,
            end - seconds,
            end,
            tags=tags,
            note=note,
            incident=incident,
            kind=kind,
            actor=actor,
        )

    def _insert(self, clip: Clip) -> Clip:
        day = utc_text(clip.start_utc)[:10].replace("-", "")
        row = {
            "feed_name": clip.feed_name,
            "feed_kind": clip.feed_kind.value if clip.feed_kind else None,
            "start_utc": clip.start_utc,
            "end_utc": clip.end_utc,
            "tags": json.dumps(list(clip.tags), ensure_ascii=False),
            "note": clip.note,
            "incident": clip.incident,
            "created_by": clip.created_by,
            "created_at": clip.created_at,
            "locked": 0,
        }
        for _ in range(20):
            clip_id = f"{ID_PREFIX}{day}-{secrets.token_hex(3).upper()}"
            try:
                with self._db.conn:
                    self._db.table("clips").insert(row | {"id": clip_id})
            except sqlite3.IntegrityError:  # that day's id is taken: draw another
                continue
            return self.get(clip_id)
        raise ClipError(f"no free clip id for {day} after 20 tries")  # 16M ids a day

    # -- reading ---------------------------------------------------------------------------

    def get(self, clip_id: str) -> Clip:
        rows = list(self._db.table("clips").rows_where("id = ?", [normal_id(clip_id)]))
        if not rows:
            raise UnknownClipError(f"no clip {clip_id}")
        return Clip.from_row(rows[0])

    def search(
        self,
        *,
        text: str | None = None,
        tag: str | None = None,
        incident: str | None = None,
        feed: str | None = None,
        kind: FeedKind | str | None = None,
        start: float | None = None,
        end: float | None = None,
        locked: bool | None = None,
        include_withdrawn: bool = False,
    ) -> list[Clip]:
        """Clips matching every criterion given, by start time.

        `text`: case-insensitive (Unicode case folding) part of the note, the incident,
        the feed's name or a tag; the Review window's one search box. `tag`: one tag,
        cleaned as tags are. `incident`: the reference, ignoring case. `feed`, `kind`:
        exact. `start`/`end`: clips overlapping that span, ends included (either may be
        left open). `locked`: only locked (True) or unlocked (False) clips. Withdrawn
        clips are left out unless `include_withdrawn`."""
        where: list[str] = []
        args: list[Any] = []
        if tag is not None:
            cleaned = clean_tags([tag])
            if not cleaned:
                raise ClipError("search for which tag?")
            where.append("EXISTS (SELECT 1 FROM json_each(clips.tags) WHERE value = ?)")
            args.append(cleaned[0])
        if incident is not None:
            where.append("incident = ? COLLATE NOCASE")
            args.append(incident.strip())
        if feed is not None:
            where.append("feed_name = ?")
            args.append(feed.strip())
        if kind is not None:
            where.append("feed_kind = ?")
            args.append(_kind(kind).value)
        if start is not None:
            where.append("end_utc >= ?")
            args.append(start)
        if end is not None:
            where.append("start_utc <= ?")
            args.append(end)
        if locked is not None:
            where.append("locked = ?")
            args.append(int(locked))
        if not include_withdrawn:
            where.append("withdrawn_at IS NULL")
        rows = self._db.table("clips").rows_where(
            " AND ".join(where) or None, args, order_by="start_utc, id"
        )
        clips = [Clip.from_row(row) for row in rows]
        if text is not None and text.strip():
            # In Python, not SQL: LIKE folds only ASCII case, and names and notes are not.
            wanted = text.strip().casefold()
            clips = [clip for clip in clips if wanted in _searchable(clip)]
        return clips

    # -- changing --------------------------------------------------------------------------

    def edit(
        self,
        clip_id: str,
        *,
        tags: str | Iterable[str] | None = None,
        note: str | None = None,
        incident: str | None = None,
        actor: str | None = None,
    ) -> Clip:
        """Change what is given (None leaves a field; "" clears the note or incident, an
        empty list the tags) and record `tag_edited` with each changed field's old and new
        value. Nothing changed, nothing recorded. A withdrawn clip is not edited."""
        new: dict[str, Any] = {}
        if tags is not None:
            new["tags"] = list(clean_tags(tags))
        if note is not None:
            new["note"] = _text(note, "note", MAX_NOTE_CHARS)
        if incident is not None:
            new["incident"] = _incident(incident)
        conn = self._db.conn
        # Read and write under one lock, so the "old" values recorded are the ones replaced
        # even when the wall and a command edit the same clip at once.
        with immediate(conn):
            clip = self.get(clip_id)
            if clip.withdrawn:
                raise ClipWithdrawnError(f"{clip.id} was withdrawn; it is not edited")
            old = {"tags": list(clip.tags), "note": clip.note, "incident": clip.incident}
            changed = {k: {"old": old[k], "new": v} for k, v in new.items() if old[k] != v}
            if changed:
                columns = {k: change["new"] for k, change in changed.items()}
                if "tags" in columns:
                    columns["tags"] = json.dumps(columns["tags"], ensure_ascii=False)
                sets = ", ".join(f"{name} = ?" for name in columns)
                conn.execute(f"UPDATE clips SET {sets} WHERE id = ?", [*columns.values(), clip.id])
        if not changed:
            return clip
        self._custody.append(
            CustodyAction.TAG_EDITED, clip.id, {"changed": changed}, actor=_who(actor)
        )
        return self.get(clip.id)

    def lock(self, clip_id: str, reason: str, actor: str | None = None) -> Clip:
        """Put the clip under evidence lock for `reason` and record `lock`. Locking a
        locked clip changes and records nothing; a withdrawn clip is not locked."""
        why = _text(reason, "lock reason", MAX_NOTE_CHARS)
        if why is None:
            raise ClipError("a lock needs a reason (a case number, a request)")
        who = _who(actor)
        with immediate(self._db.conn):
            clip = self.get(clip_id)
            if clip.withdrawn:
                raise ClipWithdrawnError(f"{clip.id} was withdrawn; tag the range again")
            if not clip.locked:
                self._db.conn.execute(
                    "UPDATE clips SET locked = 1, locked_by = ?, locked_at = ?, lock_reason = ? "
                    "WHERE id = ?",
                    [who, self._clock(), why, clip.id],
                )
        if clip.locked:
            return clip
        locked = self.get(clip.id)
        self._custody.append(CustodyAction.LOCK, clip.id, {"reason": why}, actor=who)
        return locked

    def delete(self, clip_id: str, actor: str | None = None, reason: str | None = None) -> Clip:
        """Asked to delete a clip: never removes it (the module docstring says why). A
        locked clip is refused (ClipLockedError); an unlocked one is withdrawn and returned.
        Either way, and for a clip withdrawn already, `delete_attempted` is recorded with
        the outcome."""
        who = _who(actor)
        why = _text(reason, "reason", MAX_NOTE_CHARS)
        with immediate(self._db.conn):
            clip = self.get(clip_id)
            if clip.locked:
                outcome = "refused: under evidence lock"
            elif clip.withdrawn:
                outcome = "withdrawn already"
            else:
                outcome = "withdrawn"
                self._db.conn.execute(
                    "UPDATE clips SET withdrawn_by = ?, withdrawn_at = ?, withdrawn_reason = ? "
                    "WHERE id = ?",
                    [who, self._clock(), why, clip.id],
                )
        self._custody.append(
            CustodyAction.DELETE_ATTEMPTED,
            clip.id,
            {"outcome": outcome, "reason": why},
            actor=who,
        )
        if clip.locked:
            raise ClipLockedError(
                f"{clip.id} is under evidence lock ({clip.lock_reason}, by {clip.locked_by}); "
                "it is kept"
            )
        return self.get(clip.id)


def _kind(kind: FeedKind | str) -> FeedKind:
    try:
        return FeedKind(kind)
    except ValueError:
        choices = ", ".join(k.value for k in FeedKind)
        raise ClipError(f"unknown feed kind {kind!r}; one of {choices}") from None


def _who(actor: str | None) -> str:
    return actor if actor is not None else os_user()


def _searchable(clip: Clip) -> str:
    parts = [clip.note or "", clip.incident or "", clip.feed_name, *clip.tags]
    return "\n".join(parts).casefold()

"""One-time caller links: made, opened by one device, used, ended, revoked.

A link's token has 144 random bits and is kept only as its SHA-256, so a copy of the
database gives nobody a working link. The first browser to open a link holds it (a device
cookie, also kept only as a hash); another device gets the same 410 as an expired or used
link. An unopened link lives `valid_minutes`; once opened it lasts the session (a caller's
call, an officer's shift). The control room can revoke a link at any time.
"""

from __future__ import annotations

import enum
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

import sqlite_utils

from app.config import GatewaySettings

TOKEN_BYTES = 18
"""144 random bits: 24 URL-safe characters."""


class LinkKind(enum.StrEnum):
    CALLER = "caller"
    OFFICER = "officer"
    VIEWER = "viewer"
    """Someone outside the room who watches named feeds in a browser (`/v/{token}`): a
    commander at home, an expert across the county. It shares nothing of its own."""


STREAMING_KINDS = frozenset({LinkKind.CALLER, LinkKind.OFFICER})
"""Links whose phone streams to the room (`/c/{token}`)."""


class LinkState(enum.StrEnum):
    PENDING = "pending"
    """Made, not yet opened."""
    WAITING = "waiting"
    """Opened; the caller has not answered yet."""
    CONSENTED = "consented"
    LIVE = "live"
    DECLINED = "declined"
    ENDED = "ended"
    REVOKED = "revoked"


FINAL_STATES = frozenset({LinkState.DECLINED, LinkState.ENDED, LinkState.REVOKED})


class LinkError(Exception):
    """Why a token cannot be used; `status` is the HTTP answer (404 or 410). The reason
    and the link are for the log; the caller is told only the status."""

    status = 410

    def __init__(self, reason: str, link_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.link_id = link_id


class UnknownLinkError(LinkError):
    status = 404


class GoneLinkError(LinkError):
    """Expired, used, revoked, or held by another device: the caller is told only 410."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class CallerLink:
    id: str
    kind: LinkKind
    name: str
    phone: str | None
    incident: str | None
    location_only: bool
    created_at: float
    created_by: str | None
    expires_at: float
    """Unix time an unopened link stops working."""
    valid_for_s: float
    """How long an opened link lasts, from its opening."""
    opened_at: float | None
    state: LinkState
    ended_at: float | None
    end_reason: str | None
    feeds: tuple[str, ...] = ()
    """A viewer link's feeds, by name, in the order asked for; none for other links."""

    @property
    def usable_until(self) -> float:
        return self.expires_at if self.opened_at is None else self.opened_at + self.valid_for_s

    @property
    def feed_name(self) -> str:
        """The name its feed goes by on the wall and in `vigil status`."""
        return f"{self.name} ({self.id})"

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> CallerLink:
        return cls(
            id=row["id"],
            kind=LinkKind(row["kind"]),
            name=row["name"],
            phone=row["phone"],
            incident=row["incident"],
            location_only=bool(row["location_only"]),
            created_at=row["created_at"],
            created_by=row["created_by"],
            expires_at=row["expires_at"],
            valid_for_s=row["valid_for_s"],
            opened_at=row["opened_at"],
            state=LinkState(row["state"]),
            ended_at=row["ended_at"],
            end_reason=row["end_reason"],
            feeds=tuple(json.loads(row["feeds"])) if row.get("feeds") else (),
        )

    def public(self) -> dict[str, Any]:
        """What `vigil link list` and `vigil status` show: never the phone in full."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "name": self.name,
            "phone": mask_phone(self.phone),
            "incident": self.incident,
            "location_only": self.location_only,
            "state": self.state.value,
            "created_at": self.created_at,
            "usable_until": self.usable_until,
            "opened_at": self.opened_at,
            "ended_at": self.ended_at,
            "end_reason": self.end_reason,
            "feeds": list(self.feeds),
        }


def mask_phone(phone: str | None) -> str | None:
    """The first three and last three characters; a number too short to spare them is
    hidden whole."""
    if not phone:
        return None
    if len(phone) <= 8:
        return "•" * len(phone)
    return phone[:3] + "•" * (len(phone) - 6) + phone[-3:]


class LinkBook:
    """The links table. Used from one thread per process; SQLite arbitrates between
    processes (the wall's gateway and `vigil link create`)."""

    def __init__(self, db: sqlite_utils.Database, clock: Callable[[], float] = time.time):
        self._db = db
        self._table = db.table("links")
        self._clock = clock

    def create(
        self,
        *,
        name: str,
        kind: LinkKind = LinkKind.CALLER,
        phone: str | None = None,
        incident: str | None = None,
        location_only: bool = False,
        valid_minutes: float = 15,
        session_s: float = 4 * 3600,
        created_by: str | None = None,
        feeds: tuple[str, ...] = (),
    ) -> tuple[CallerLink, str]:
        """A new link and its token. The token is returned once and never stored."""
        if not name.strip():
            raise ValueError("a link needs the caller's name")
        if (kind is LinkKind.VIEWER) != bool(feeds):
            raise ValueError("a viewer link names its feeds, and only a viewer link does")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self._clock()
        link_id = "L-" + secrets.token_hex(3)
        while self._exists(link_id):
            link_id = "L-" + secrets.token_hex(3)
        self._table.insert(
            {
                "id": link_id,
                "token_sha256": token_hash(token),
                "kind": kind.value,
                "name": name.strip(),
                "phone": phone,
                "incident": incident,
                "location_only": int(location_only),
                "created_at": now,
                "created_by": created_by,
                "expires_at": now + valid_minutes * 60,
                "valid_for_s": session_s,
                "opened_at": None,
                "device_sha256": None,
                "state": LinkState.PENDING.value,
                "ended_at": None,
                "end_reason": None,
                "sms_sent_at": None,
                "feeds": json.dumps(list(feeds)) if feeds else None,
            }
        )
        return self.get(link_id), token

    def _exists(self, link_id: str) -> bool:
        return self._table.count_where("id = ?", [link_id]) > 0

    def get(self, link_id: str) -> CallerLink:
        rows = list(self._table.rows_where("id = ?", [link_id]))
        if not rows:
            raise UnknownLinkError("unknown link", link_id)
        return CallerLink.from_row(rows[0])

    def all(self, *, active_only: bool = False) -> list[CallerLink]:
        links = [
            CallerLink.from_row(row) for row in self._table.rows_where(order_by="created_at desc")
        ]
        if active_only:
            now = self._clock()
            links = [k for k in links if k.state not in FINAL_STATES and now < k.usable_until]
        return links

    def id_for(self, token: str) -> str | None:
        """The id of the link a token belongs to, for log lines; None if unknown."""
        rows = self._db.execute(
            "SELECT id FROM links WHERE token_sha256 = ?", [token_hash(token)]
        ).fetchall()
        return str(rows[0][0]) if rows else None

    def _by_token(self, token: str) -> tuple[CallerLink, str | None]:
        rows = list(self._table.rows_where("token_sha256 = ?", [token_hash(token)]))
        if not rows:
            raise UnknownLinkError("unknown token")
        return CallerLink.from_row(rows[0]), rows[0]["device_sha256"]

    @staticmethod
    def _check_kind(link: CallerLink, kinds: frozenset[LinkKind]) -> None:
        if link.kind not in kinds:  # a caller's token on the viewer's page, or the reverse
            raise UnknownLinkError(f"a {link.kind.value} link on another kind's page", link.id)

    def open(
        self, token: str, device: str | None, kinds: frozenset[LinkKind] = STREAMING_KINDS
    ) -> tuple[CallerLink, str | None]:
        """The browser `device` (its cookie, or None) opens the link. Returns the link and,
        when this browser is the first, a new device secret to set as its cookie. A link of
        a kind not in `kinds` is unknown here (404), and no device takes it."""
        link, holder = self._by_token(token)
        self._check_kind(link, kinds)
        self._check_usable(link)
        if holder is not None:
            if device is None or not secrets.compare_digest(token_hash(device), holder):
                raise GoneLinkError("held by another device", link.id)
            return link, None
        fresh = secrets.token_urlsafe(TOKEN_BYTES)
        now = self._clock()
        # Conditional on nobody having taken it meanwhile: two phones opening at once
        # cannot both win.
        cursor = self._db.execute(
            "UPDATE links SET device_sha256 = ?, opened_at = ?, state = ? "
            "WHERE id = ? AND device_sha256 IS NULL",
            [token_hash(fresh), now, LinkState.WAITING.value, link.id],
        )
        self._db.conn.commit()
        if cursor.rowcount != 1:
            raise GoneLinkError("opened by another device a moment ago", link.id)
        return self.get(link.id), fresh

    def check(
        self, token: str, device: str | None, kinds: frozenset[LinkKind] = STREAMING_KINDS
    ) -> CallerLink:
        """The link behind a later request from the browser that opened it."""
        link, holder = self._by_token(token)
        self._check_kind(link, kinds)
        if holder is None:
            raise GoneLinkError("not opened yet", link.id)  # requests must follow the page
        if device is None or not secrets.compare_digest(token_hash(device), holder):
            raise GoneLinkError("held by another device", link.id)
        self._check_usable(link)
        return link

    def _check_usable(self, link: CallerLink) -> None:
        if link.state in FINAL_STATES:
            raise GoneLinkError(link.state.value, link.id)
        if self._clock() >= link.usable_until:
            raise GoneLinkError("expired", link.id)

    def set_state(self, link_id: str, state: LinkState, reason: str | None = None) -> CallerLink:
        """Move a link on. A final state is never left, even when another process ended
        the link a moment ago (the update is conditional); ending records when and why."""
        self.get(link_id)  # an unknown link is an error, not a silent no-op
        final = [s.value for s in FINAL_STATES]
        marks = ", ".join("?" for _ in final)
        ending = state in FINAL_STATES
        self._db.execute(
            "UPDATE links SET state = ?, ended_at = ?, end_reason = ? "
            f"WHERE id = ? AND state NOT IN ({marks})",
            [
                state.value,
                self._clock() if ending else None,
                reason if ending else None,
                link_id,
                *final,
            ],
        )
        self._db.conn.commit()
        return self.get(link_id)

    def revoke(self, link_id: str, reason: str = "revoked by the control room") -> CallerLink:
        return self.set_state(link_id, LinkState.REVOKED, reason)

    def streaming_feeds(self) -> list[str]:
        """The feed names of callers' and officers' links still usable: feeds a viewer link
        may name besides the configured ones."""
        return [
            link.feed_name for link in self.all(active_only=True) if link.kind in STREAMING_KINDS
        ]

    def mark_sent(self, link_id: str) -> None:
        self._table.update(link_id, {"sms_sent_at": self._clock()})


class LinkRequest(TypedDict, total=False):
    """What an invitation may say beyond the caller's name."""

    phone: str | None
    incident: str | None
    location_only: bool
    officer: bool
    viewer: bool
    feeds: tuple[str, ...]
    """A viewer link's feeds, by name (checked against the room's by the caller)."""
    created_by: str | None


def make_link(
    links: LinkBook, settings: GatewaySettings, *, name: str, **more: Unpack[LinkRequest]
) -> tuple[CallerLink, str]:
    """A new link and its address: shared by the wall's dialog and `vigil link create`.
    A viewer link (`viewer`, with its `feeds`) lasts a shift, opened or not: a commander
    sent it at the start of an incident may open it hours later."""
    officer = more.get("officer", False)
    if more.get("viewer", False):
        shift_s = 3600 * settings.officer_shift_hours
        link, token = links.create(
            name=name,
            kind=LinkKind.VIEWER,
            phone=more.get("phone"),
            incident=more.get("incident"),
            valid_minutes=shift_s / 60,
            session_s=shift_s,
            created_by=more.get("created_by"),
            feeds=tuple(more.get("feeds", ())),
        )
        return link, f"{settings.public_url}/v/{token}"
    link, token = links.create(
        name=name,
        kind=LinkKind.OFFICER if officer else LinkKind.CALLER,
        phone=more.get("phone"),
        incident=more.get("incident"),
        location_only=more.get("location_only", False),
        valid_minutes=settings.link_valid_minutes,
        session_s=3600
        * (settings.officer_shift_hours if officer else settings.caller_session_hours),
        created_by=more.get("created_by"),
    )
    return link, f"{settings.public_url}/c/{token}"


def viewer_feeds(text: str | None, known: Iterable[str]) -> tuple[str, ...]:
    """`"A,B"` as the names of feeds the room has, in the order given, each once; ValueError
    naming the ones it has when one is not among them."""
    names = tuple(dict.fromkeys(n.strip() for n in (text or "").split(",") if n.strip()))
    if not names:
        raise ValueError('a viewer link needs --feeds "A,B": the names of the feeds to watch')
    have = list(dict.fromkeys(known))
    missing = [n for n in names if n not in have]
    if missing:
        listed = ", ".join(have) if have else "none yet"
        raise ValueError(
            f"no feed named {', '.join(repr(n) for n in missing)} on this room server; "
            f"it has: {listed}"
        )
    return names

"""What a caller is asked before anything is shared, and the record of their answer.

Every word of the consent screen is made here, for the link's kind (the page adds none of
its own), and the record keeps the SHA-256 of exactly those words, so the answer can later
be tied to the text the caller saw. The page posts the hash back with the answer; a
mismatch (an old page, a changed text) is refused rather than recorded against words the
caller never read.
"""

from __future__ import annotations

import enum
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from app.callers.links import CallerLink, LinkKind


class Answer(enum.StrEnum):
    AGREE = "agree"
    DECLINE = "decline"
    WITHDRAW = "withdraw"
    """The caller pressed End: consent taken back from now on."""


@dataclass(frozen=True)
class ConsentText:
    """Every word the consent screen shows, so the hash covers all the caller read."""

    asker: str
    heading: str
    points: tuple[str, ...]
    paragraphs: tuple[str, ...]

    def lines(self) -> list[str]:
        return [self.asker, self.heading, *self.points, *self.paragraphs]

    @property
    def sha256(self) -> str:
        """Of the lines joined by newlines, UTF-8: what the consent record keeps."""
        return hashlib.sha256("\n".join(self.lines()).encode()).hexdigest()


def consent_text(link: CallerLink, organisation: str) -> ConsentText:
    """The exact consent screen for this link."""
    asker = f"Request from {organisation}"
    video = not link.location_only
    points = (
        *(("Live video from your camera (no sound)",) if video else ()),
        "Where you are (your phone's location)",
        "It is recorded",
        "You can stop at any time",
    )
    if link.kind is LinkKind.OFFICER:
        what = "live video from your camera and your location" if video else "your location"
        heading = (
            "Share your camera with the control room"
            if video
            else "Share your location with the control room"
        )
        return ConsentText(
            asker,
            heading,
            points,
            (
                f"{organisation} asks you to share {what} from this phone while on duty.",
                "Everything you share is recorded and may be used as evidence.",
                "Press End to stop at any time. The link works on this phone only and ends "
                "with your shift.",
            ),
        )
    if not video:
        return ConsentText(
            asker,
            "Share your location with the control room",
            points,
            (
                f"{organisation} asks to see where you are, to send help to the right place.",
                "If you agree, this phone shares its location with the control room until "
                "you press End. Your camera is not used.",
                "What you share is recorded and may be used as evidence.",
                "You do not have to agree. If you do not, nothing is shared and your call "
                "carries on as before.",
            ),
        )
    return ConsentText(
        asker,
        "Show the control room what is happening",
        points,
        (
            f"{organisation} asks to see what is happening where you are, to send the right help.",
            "If you agree, this phone shares live video from its camera and its location "
            "with the control room until you press End. No sound is shared.",
            "What you share is recorded and may be used as evidence.",
            "You do not have to agree. If you do not, nothing is shared and your call "
            "carries on as before.",
        ),
    )


@dataclass(frozen=True)
class ConsentRecord:
    link_id: str
    at: float
    answer: Answer
    text_sha256: str
    user_agent: str | None
    remote_addr: str | None

    def public(self) -> dict[str, Any]:
        return {
            "link_id": self.link_id,
            "at": self.at,
            "answer": self.answer.value,
            "text_sha256": self.text_sha256,
            "user_agent": self.user_agent,
        }


class ConsentBook:
    """The consents table: every answer a caller gave, in order."""

    def __init__(self, db: sqlite_utils.Database, clock: Callable[[], float] = time.time):
        self._table = db.table("consents")
        self._clock = clock

    def record(
        self,
        link_id: str,
        answer: Answer,
        text_hash: str,
        *,
        user_agent: str | None,
        remote_addr: str | None,
    ) -> ConsentRecord:
        record = ConsentRecord(
            link_id, self._clock(), answer, text_hash, (user_agent or "")[:512] or None, remote_addr
        )
        self._table.insert(
            {
                "link_id": record.link_id,
                "at": record.at,
                "answer": record.answer.value,
                "text_sha256": record.text_sha256,
                "user_agent": record.user_agent,
                "remote_addr": record.remote_addr,
            }
        )
        return record

    def for_link(self, link_id: str) -> list[ConsentRecord]:
        return [
            ConsentRecord(
                row["link_id"],
                row["at"],
                Answer(row["answer"]),
                row["text_sha256"],
                row["user_agent"],
                row["remote_addr"],
            )
            for row in self._table.rows_where("link_id = ?", [link_id], order_by="id")
        ]

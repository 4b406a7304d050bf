"""Why a body cam is being watched: the reasons a supervisor may give, and the check.

A police officer's body-worn camera may be watched live only for an operational reason, and
every viewing is accountable. Before a body cam's tile opens, the supervisor states a reason
from a short list (or Other, in their own words) and the incident it serves; `stated_reason`
checks that statement and gives back a `ViewingReason`, whose `details()` go into the
custody log's viewing entry and whose `chip` the tile shows while the feed is open. No Qt
here: the dialog (widgets/access/bodycam_reason.py) is handed `REASONS` and `stated_reason`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

OTHER = "Other (say why below)"

REASONS: tuple[str, ...] = (
    "Officer safety: threat or assault",
    "Officer asked for support",
    "Live incident command",
    "Missing or vulnerable person",
    "Pursuit or search",
    "Public order",
    OTHER,
)
"""Offered as radio buttons, so each is short; Other last, as people look for it there."""

REASON_KEYS: dict[str, str] = {
    "safety": REASONS[0],
    "support": REASONS[1],
    "command": REASONS[2],
    "missing": REASONS[3],
    "search": REASONS[4],
    "public-order": REASONS[5],
    "other": OTHER,
}
"""A short name for each reason, for a terminal (`vigil wall open … --reason safety`), where
typing "Officer safety: threat or assault" exactly is a chore. The full text is what the
custody log and the tile get, whichever was typed."""

MAX_DETAIL_CHARS = 500
MIN_OTHER_DETAIL_CHARS = 5
"""Letters or digits an Other reason needs: "n/a" or "..." is not a reason."""
MAX_INCIDENT_CHARS = 40
CHIP_DETAIL_CHARS = 40
"""An Other reason's words on the tile are cut to this: a tile is narrow, the log has all."""

_INCIDENT = re.compile(r"[A-Za-z0-9 /_.:#-]+")

Field = Literal["reason", "detail", "incident"]


class ReasonError(ValueError):
    """The statement is not acceptable; the message is for the supervisor at the dialog."""

    def __init__(self, field: Field, message: str) -> None:
        super().__init__(message)
        self.field: Field = field


@dataclass(frozen=True)
class ViewingReason:
    """A checked statement of why a body cam is opened (make one with `stated_reason`)."""

    reason: str
    detail: str
    incident: str

    def details(self) -> dict[str, str]:
        """For the custody log's entry; an empty detail is left out rather than logged blank."""
        entry = {"reason": self.reason, "detail": self.detail, "incident": self.incident}
        if not self.detail:
            del entry["detail"]
        return entry

    @property
    def chip(self) -> str:
        """The short text a tile shows while open: "Public order · INC-0412"."""
        if self.reason != OTHER:
            return f"{self.reason} · {self.incident}"
        words = " ".join(self.detail.split())
        if len(words) > CHIP_DETAIL_CHARS:
            words = words[: CHIP_DETAIL_CHARS - 1].rstrip() + "…"
        return f"{words} · {self.incident}"


def reason_named(text: str) -> str | None:
    """The listed reason `text` names, by its full text or its short name (REASON_KEYS), in
    any case and spacing ("Other" is Other). None when it names none."""
    words = " ".join(text.split()).casefold()
    for key, reason in REASON_KEYS.items():
        if words in (key, reason.casefold()):
            return reason
    return None


def reasons_text() -> str:
    """Every reason with its short name, for an error message or `--help`. Other is said
    without the dialog's "(say why below)": the words may come from anywhere."""
    return "; ".join(
        f"{key} = {'Other, saying why' if reason == OTHER else reason}"
        for key, reason in REASON_KEYS.items()
    )


def stated_reason(reason: str, detail: str, incident: str) -> ViewingReason:
    """The statement checked and stripped, or ReasonError naming the first field at fault.
    The reason may be given by its short name; the ViewingReason holds its full text. A
    reason not listed is refused with the list, since a terminal shows none."""
    named = reason_named(reason)
    detail, incident = detail.strip(), incident.strip()
    if named is None:
        raise ReasonError("reason", f"Choose one of the reasons listed: {reasons_text()}.")
    reason = named
    if len(detail) > MAX_DETAIL_CHARS:
        raise ReasonError(
            "detail",
            f"The reason in your words is {len(detail)} characters; keep it to {MAX_DETAIL_CHARS}.",
        )
    if any(c != "\n" and unicodedata.category(c) == "Cc" for c in detail):
        # Tabs, escapes and the like would be invisible on screen but kept in the log.
        raise ReasonError(
            "detail", "The reason in your words holds a tab or other hidden character; remove it."
        )
    if reason == OTHER and sum(c.isalnum() for c in detail) < MIN_OTHER_DETAIL_CHARS:
        raise ReasonError("detail", "You chose Other: say in a few words why you are opening it.")
    if not incident:
        raise ReasonError("incident", "Enter the incident reference.")
    if len(incident) > MAX_INCIDENT_CHARS:
        raise ReasonError(
            "incident",
            f"The incident reference is {len(incident)} characters; at most {MAX_INCIDENT_CHARS}.",
        )
    if not _INCIDENT.fullmatch(incident):
        raise ReasonError(
            "incident",
            "The incident reference may hold only letters, digits, spaces and - / _ . : #",
        )
    return ViewingReason(reason, detail, incident)

"""What is recorded, in what pieces, and for how long: the [recording] and [evidence] settings.

    [recording]
    kinds = ["caller", "officer", "bodycam", "drone", "camera"]  # recorded kinds (default: all)
    segment_seconds = 4    # 2-10: a segment closes at the first key frame this long after it opens
    keep_days = 31         # older segments are removed (app/evidence/retention.py); 0: never

    [evidence]
    tag_seconds = 30       # how far back the wall's T key tags, 5-600
    signing_key = "keyring"  # or "file": <base>/keys/evidence-signing.pem, for a server
                             # with no keyring (app/evidence/bundle/signing.py)

Decisions, and why:

- Callers and officers sharing their phone's camera are recorded whatever the config says:
  the consent screen each of them agrees to says "It is recorded" (app/callers/consent.py), and a
  setting must not make that untrue after the fact. A `kinds` without "caller" or
  "officer" is refused with that reason, rather than quietly recording them anyway.
- There is no folder setting: `--base-dir` decides where everything an instance writes
  goes (DESIGN.md), the ledger names each segment relative to `<base>/recordings`, and a
  second place would split the evidence from its ledger and let a test's recordings land
  in the user's. Recordings on another disk: mount it at that folder.
- `signing_key` says where the evidence signing key is kept. "keyring" (the default) keeps
  it out of the base dir, so a copy of the folder cannot sign as this instance; "file" is
  for a room server with no desktop session and so no usable keyring, where the key lives
  beside the TLS key, readable by the owner alone. Anything else is refused, naming both.
- `keep_days` counts whole days from a segment's end; segments overlapping a locked clip
  are kept whatever their age (app/evidence/retention.py).

No Qt here.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from media.live import FeedKind
from media.recording import MAX_SEGMENT_S, MIN_SEGMENT_S, SEGMENT_S

ALWAYS_RECORDED = frozenset({FeedKind.CALLER, FeedKind.OFFICER})
"""Kinds whose consent screen promises a recording (see the module docstring)."""
DEFAULT_KEEP_DAYS = 31
MAX_KEEP_DAYS = 36500
DEFAULT_TAG_S = 30.0
MIN_TAG_S, MAX_TAG_S = 5.0, 600.0

RECORDING_KEYS = {"kinds", "segment_seconds", "keep_days"}
EVIDENCE_KEYS = {"tag_seconds", "signing_key"}


class SigningKeyStore(enum.StrEnum):
    """Where the evidence signing key is kept ([evidence] signing_key)."""

    KEYRING = "keyring"
    FILE = "file"


class SettingError(Exception):
    """A bad value in [recording] or [evidence]: `key` is the setting's name there."""

    def __init__(self, key: str, message: str) -> None:
        self.key, self.message = key, message
        super().__init__(f"{key}: {message}")


@dataclass(frozen=True)
class RecordingPolicy:
    """[recording]: which feeds are recorded, how segments are cut, how long they stay."""

    kinds: frozenset[FeedKind] = frozenset(FeedKind)
    segment_s: float = SEGMENT_S
    keep_days: int = DEFAULT_KEEP_DAYS
    """0: recordings are kept for ever."""

    def records(self, kind: FeedKind) -> bool:
        return kind in self.kinds or kind in ALWAYS_RECORDED


@dataclass(frozen=True)
class EvidenceSettings:
    """[evidence]: how the wall makes clips."""

    tag_seconds: float = DEFAULT_TAG_S
    """How far back the wall's T key tags the selected feed."""
    signing_key: SigningKeyStore = SigningKeyStore.KEYRING
    """Where the export signing key is kept (the module docstring says why each)."""


def _listed(items: set[str]) -> str:
    return ", ".join(sorted(items))


def _within(value: object, low: float, high: float) -> float | None:
    """The number, if it is one from `low` to `high` (TOML booleans are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if low <= value <= high else None


def parse_recording(table: Mapping[str, object]) -> RecordingPolicy:
    """Check a [recording] table; SettingError names the first bad key."""
    for key in table:
        if key not in RECORDING_KEYS:
            raise SettingError(
                key, f"unknown recording setting; expected one of {_listed(RECORDING_KEYS)}"
            )
    kinds_raw = table.get("kinds", [k.value for k in FeedKind])
    if not isinstance(kinds_raw, list) or not all(isinstance(k, str) for k in kinds_raw):
        raise SettingError("kinds", 'must be a list of feed kinds, such as ["caller", "bodycam"]')
    kinds: set[FeedKind] = set()
    for name in kinds_raw:
        try:
            kinds.add(FeedKind(name))
        except ValueError:
            raise SettingError(
                "kinds", f"{name!r} is not one of {', '.join(k.value for k in FeedKind)}"
            ) from None
    left_out = sorted(k.value for k in ALWAYS_RECORDED - kinds)
    if left_out:
        raise SettingError(
            "kinds",
            f"{' and '.join(left_out)} must stay: the consent screen every caller and officer "
            'agrees to says "It is recorded", so their video is recorded once they agree',
        )
    segment_s = _within(table.get("segment_seconds", SEGMENT_S), MIN_SEGMENT_S, MAX_SEGMENT_S)
    if segment_s is None:
        raise SettingError(
            "segment_seconds",
            f"must be a number of seconds from {MIN_SEGMENT_S:g} to {MAX_SEGMENT_S:g}",
        )
    keep_days = table.get("keep_days", DEFAULT_KEEP_DAYS)
    if (
        isinstance(keep_days, bool)
        or not isinstance(keep_days, int)
        or not 0 <= keep_days <= MAX_KEEP_DAYS
    ):
        raise SettingError(
            "keep_days",
            f"must be a whole number of days from 1 to {MAX_KEEP_DAYS}, or 0 to keep everything",
        )
    return RecordingPolicy(frozenset(kinds), segment_s, keep_days)


def parse_evidence(table: Mapping[str, object]) -> EvidenceSettings:
    """Check an [evidence] table; SettingError names the first bad key."""
    for key in table:
        if key not in EVIDENCE_KEYS:
            raise SettingError(
                key, f"unknown evidence setting; expected one of {_listed(EVIDENCE_KEYS)}"
            )
    tag_s = _within(table.get("tag_seconds", DEFAULT_TAG_S), MIN_TAG_S, MAX_TAG_S)
    if tag_s is None:
        raise SettingError(
            "tag_seconds", f"must be a number of seconds from {MIN_TAG_S:g} to {MAX_TAG_S:g}"
        )
    store = table.get("signing_key", SigningKeyStore.KEYRING.value)
    try:
        signing_key = SigningKeyStore(store) if isinstance(store, str) else None
    except ValueError:
        signing_key = None
    if signing_key is None:
        raise SettingError(
            "signing_key",
            f'must be "keyring" (the default: the key kept in the keyring) or "file" (kept '
            f"in <base dir>/keys/evidence-signing.pem, for a server with no keyring), not "
            f"{store!r}",
        )
    return EvidenceSettings(tag_s, signing_key)

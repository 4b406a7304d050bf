"""[access]: how people sign in at a workstation, and when an idle session locks. Who may do
what is app/access/'s."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from app.config.recording import SettingError

ACCESS_KEYS = {"sign_in", "idle_lock_minutes"}

MAX_IDLE_LOCK_MINUTES = 24 * 60


class SignIn(enum.StrEnum):
    OS = "os"
    """The operating-system session says who is here (the default)."""
    VIGIL = "vigil"
    """Vigil's own sign-in, with a password: a workstation shared by several staff."""


@dataclass(frozen=True)
class AccessSettings:
    """[access]: how people sign in, and when an idle session locks."""

    sign_in: SignIn = SignIn.OS
    idle_lock_minutes: float = 10.0
    """Minutes with no keyboard or mouse input before the window locks; 0: never."""


def parse_access(table: Mapping[str, object]) -> AccessSettings:
    """Check an [access] table; SettingError names the first bad key."""
    for key in table:
        if key not in ACCESS_KEYS:
            raise SettingError(
                key, f"unknown access setting; expected one of {', '.join(sorted(ACCESS_KEYS))}"
            )
    sign_in = table.get("sign_in", SignIn.OS.value)
    if sign_in not in {s.value for s in SignIn}:
        raise SettingError(
            "sign_in", 'must be "os" (the computer\'s session says who) or "vigil" (a password)'
        )
    minutes = table.get("idle_lock_minutes", AccessSettings.idle_lock_minutes)
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int | float)
        or not 0 <= minutes <= MAX_IDLE_LOCK_MINUTES
    ):
        raise SettingError(
            "idle_lock_minutes",
            f"must be a number of minutes from 0 (never lock) to {MAX_IDLE_LOCK_MINUTES}",
        )
    return AccessSettings(SignIn(sign_in), float(minutes))

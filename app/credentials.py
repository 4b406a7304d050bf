"""Secrets from the keyring (service "vigil"); never from files.

Feed passwords are under "feed:NAME", the SMS provider's token under "sms", a TURN
server's credential under "turn:USERNAME". A missing secret is logged with the command
that stores it.
"""

from __future__ import annotations

import logging

import keyring
import keyring.errors

from app.config import SECRET_SERVICE, secret_user

log = logging.getLogger(__name__)


def stored_secret(user: str, what: str) -> str | None:
    """The secret kept for `user`, or None (logged, naming `what` needs it) when there is
    none or the keyring fails."""
    try:
        secret: str | None = keyring.get_password(SECRET_SERVICE, user)
    except keyring.errors.KeyringError as exc:
        log.error("%s: the keyring could not be read (%s)", what, type(exc).__name__)
        return None
    if secret is None:
        log.warning(
            "%s needs a secret in the keyring; store one with: keyring set %s %s",
            what,
            SECRET_SERVICE,
            user,
        )
    return secret


def feed_password(feed_name: str) -> str | None:
    return stored_secret(secret_user(feed_name), f"feed {feed_name} (it has a username)")


def turn_credential(username: str) -> str | None:
    return stored_secret(f"turn:{username}", f"TURN user {username}")

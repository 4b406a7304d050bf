"""Feed credentials from the keyring (service "vigil", user "feed:NAME"); never from files."""

from __future__ import annotations

import logging

import keyring
import keyring.errors

from app.config import SECRET_SERVICE, secret_user

log = logging.getLogger(__name__)


def feed_password(feed_name: str) -> str | None:
    """The stored password, or None (logged) when there is none or the keyring fails."""
    try:
        password: str | None = keyring.get_password(SECRET_SERVICE, secret_user(feed_name))
    except keyring.errors.KeyringError as exc:
        log.error("feed %s: the keyring could not be read (%s)", feed_name, type(exc).__name__)
        return None
    if password is None:
        log.warning(
            "feed %s has a username but no password in the keyring; store one with: "
            "keyring set %s %s",
            feed_name,
            SECRET_SERVICE,
            secret_user(feed_name),
        )
    return password

"""[sms]: the SMS provider, the sender and the text a caller receives, checked as the config
is read. Sending is app/callers/sms.py's; the provider's secret is the keyring's."""

from __future__ import annotations

import re
import string
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast, get_args

SMS_SECRET_USER = "sms"
"""The keyring user the provider's token or password is stored under (service "vigil")."""

ProviderName = Literal["none", "http"]

AuthKind = Literal["bearer", "basic", "none"]

DEFAULT_MESSAGE = (
    "{organisation}: please open this link to show us the scene live: {link} "
    "(ref {incident}). It works once and expires in {minutes} minutes."
)

PLACEHOLDERS = ("organisation", "link", "incident", "minutes", "name")

MAX_SEGMENTS = 3
"""Longer texts are split into more parts than some networks and older phones put back together."""

# What a real text holds, for checking a template's length before any link is sent.
_TYPICAL = {
    "organisation": "Northshire Constabulary",
    "link": "https://controlroom.northshire.police.uk:8443/c/" + "x" * 43,
    "incident": "INC-2024-001234",
    "minutes": "30",
    "name": "Alexandra Smith",
}

# GSM 03.38: the 7-bit alphabet every phone shows; the extension characters take two septets.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

_GSM_EXTENSION = set("^{}\\[~]|€\f")

E164 = re.compile(r"^\+[1-9]\d{7,14}$")

_SENDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ]{0,10}$")

_RESERVED_FIELDS = ("to", "text", "from")

_KEYS = {
    "provider",
    "url",
    "auth",
    "username",
    "sender",
    "message",
    "timeout_s",
    "extra",
    "ca_file",
}


class SmsSettingsError(Exception):
    """A bad value in [sms]: `key` is the setting's name in that table."""

    def __init__(self, key: str, message: str) -> None:
        self.key, self.message = key, message
        super().__init__(f"{key}: {message}")


@dataclass(frozen=True)
class SmsSettings:
    """[sms] as configured. The secret is not here: it comes from the keyring (sms_secret)."""

    provider: ProviderName = "none"
    url: str | None = None
    auth: AuthKind = "bearer"
    username: str | None = None
    sender: str | None = None
    message: str = DEFAULT_MESSAGE
    timeout_s: float = 10.0
    extra: dict[str, str] = field(default_factory=dict)
    ca_file: Path | None = None
    """A PEM file of the certificate authority that signed the provider's certificate, for a
    provider on a private PKI; when set, only it is trusted for the provider. None: the
    system's trust store."""


def parse_sms_settings(table: Mapping[str, object]) -> SmsSettings:
    """Check an [sms] TOML table; SmsSettingsError names the first bad key."""
    for key in table:
        if key not in _KEYS:
            raise SmsSettingsError(key, f"unknown SMS setting; expected one of {_listed(_KEYS)}")

    provider = table.get("provider", "none")
    if provider not in get_args(ProviderName):
        raise SmsSettingsError(
            "provider", f"{provider!r} is not one of {_listed(get_args(ProviderName))}"
        )
    auth = table.get("auth", "bearer")
    if auth not in get_args(AuthKind):
        raise SmsSettingsError("auth", f"{auth!r} is not one of {_listed(get_args(AuthKind))}")

    url = _optional_text(table, "url")
    if url is not None:
        _check_url(url)
    elif provider == "http":
        raise SmsSettingsError(
            "url", 'provider "http" needs the provider\'s endpoint: url = "https://…"'
        )

    username = _optional_text(table, "username")
    if auth == "basic" and provider == "http" and username is None:
        raise SmsSettingsError(
            "username",
            'auth "basic" needs a username (its password goes in the keyring: '
            f"keyring set vigil {SMS_SECRET_USER})",
        )
    if username is not None and auth != "basic":
        raise SmsSettingsError(
            "username", f'a username is only used with auth = "basic", not {auth!r}'
        )

    sender = _optional_text(table, "sender")
    if sender is not None and not (_SENDER_ID.match(sender) or E164.match(sender)):
        raise SmsSettingsError(
            "sender",
            f"{sender!r} cannot be shown as a sender: use up to 11 letters, digits and spaces "
            '(such as "NPOLICE") or a number in international form (+447700900123)',
        )

    message = table.get("message", DEFAULT_MESSAGE)
    if not isinstance(message, str) or not message.strip():
        raise SmsSettingsError("message", "must be text holding at least {link}")
    _check_template(message)

    timeout = table.get("timeout_s", 10.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 120:
        raise SmsSettingsError("timeout_s", "must be a number of seconds above 0 and at most 120")

    extra = table.get("extra", {})
    if not isinstance(extra, Mapping):
        raise SmsSettingsError("extra", 'must be a table of text values: extra = { account = "…" }')
    for name, value in extra.items():
        if name in _RESERVED_FIELDS:
            raise SmsSettingsError(
                "extra", f"{name!r} is set by Vigil itself; extra may not replace it"
            )
        if not isinstance(value, str):
            raise SmsSettingsError("extra", f'{name!r} must be text, such as {name} = "…"')

    ca_file = _optional_text(table, "ca_file")
    if ca_file is not None and urllib.parse.urlsplit(url or "").scheme != "https":
        raise SmsSettingsError("ca_file", "only an https:// url has a certificate to check")

    return SmsSettings(
        provider=cast(ProviderName, provider),
        url=url,
        auth=cast(AuthKind, auth),
        username=username,
        sender=sender,
        message=message,
        timeout_s=float(timeout),
        extra={str(name): str(value) for name, value in extra.items()},
        ca_file=Path(ca_file).expanduser() if ca_file is not None else None,
    )


def message_text(
    settings: SmsSettings,
    *,
    organisation: str,
    link: str,
    incident: str | None,
    minutes: int,
    name: str | None,
) -> str:
    """The text a caller receives: the template with the link and who is asking filled in."""
    _check_template(settings.message)
    values = {
        "organisation": organisation,
        "link": link,
        "incident": incident or "-",
        "minutes": str(minutes),
        "name": name or "",
    }
    return settings.message.format_map(values)


def sms_segments(text: str) -> int:
    """How many SMS parts a text takes: 160/153 characters in the GSM alphabet, 70/67 outside it."""
    if set(text) <= _GSM_BASIC | _GSM_EXTENSION:
        size, single, multi = sum(2 if c in _GSM_EXTENSION else 1 for c in text), 160, 153
    else:
        size, single, multi = len(text.encode("utf-16-le")) // 2, 70, 67
    return 1 if size <= single else -(-size // multi)


def _check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SmsSettingsError("url", f"{url!r} is not an http:// or https:// address")
    if parts.username is not None or parts.password is not None:
        raise SmsSettingsError(
            "url",
            "the URL holds credentials; remove them from the file and store the token or "
            f"password in the keyring: keyring set vigil {SMS_SECRET_USER}",
        )


def _check_template(message: str) -> None:
    try:
        fields = [
            (name, conversion, spec)
            for _, name, spec, conversion in string.Formatter().parse(message)
            if name is not None
        ]
    except ValueError:
        raise SmsSettingsError(
            "message", "a { or } without its pair; write {{ or }} for a brace itself"
        ) from None
    for name, conversion, spec in fields:
        if name not in PLACEHOLDERS or conversion or spec:
            known = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            raise SmsSettingsError("message", f"{{{name}}} is not a placeholder; use {known}")
    if "link" not in (name for name, _, _ in fields):
        raise SmsSettingsError("message", "must hold {link}, or the caller gets nothing to open")
    typical = message.format_map(_TYPICAL)
    segments = sms_segments(typical)
    if segments > MAX_SEGMENTS:
        outside = sorted(set(typical) - _GSM_BASIC - _GSM_EXTENSION)
        why = (
            f"; it holds characters outside the SMS alphabet ({''.join(outside[:5])}), which "
            "cut every part to 67 characters"
            if outside
            else ""
        )
        raise SmsSettingsError(
            "message",
            f"too long: with a typical link in it the text is {len(typical)} characters, "
            f"{segments} SMS parts; keep it within {MAX_SEGMENTS} parts{why}",
        )


def _optional_text(table: Mapping[str, object], key: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SmsSettingsError(key, "must be text")
    return value.strip()


def _listed(names: Iterable[str]) -> str:
    return ", ".join(f'"{name}"' for name in sorted(names))

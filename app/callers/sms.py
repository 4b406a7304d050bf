"""Sending a caller's one-time link by text message, through the SMS provider configured in [sms].

Two providers: "none" (nothing is sent; the operator copies the link or shows the QR code)
and "http", which POSTs JSON to the provider's endpoint. The provider's secret (a bearer
token or a basic-auth password) lives in the keyring, service "vigil", user "sms", and is
never logged, shown in a repr, or echoed back in an error.

aiohttp and keyring are imported where they are used: the config loader imports this module
to check [sms], and `vigil status` must start quickly.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import string
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, cast, get_args

log = logging.getLogger(__name__)

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

_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_SENDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ]{0,10}$")
_RESERVED_FIELDS = ("to", "text", "from")
_BODY_SHOWN = 200

_KEYS = {"provider", "url", "auth", "username", "sender", "message", "timeout_s", "extra"}


class SmsSettingsError(Exception):
    """A bad value in [sms]: `key` is the setting's name in that table."""

    def __init__(self, key: str, message: str) -> None:
        self.key, self.message = key, message
        super().__init__(f"{key}: {message}")


class SmsError(Exception):
    """A text was not sent; the message says why in words an operator can act on."""


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
    if sender is not None and not (_SENDER_ID.match(sender) or _E164.match(sender)):
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

    return SmsSettings(
        provider=cast(ProviderName, provider),
        url=url,
        auth=cast(AuthKind, auth),
        username=username,
        sender=sender,
        message=message,
        timeout_s=float(timeout),
        extra={str(name): str(value) for name, value in extra.items()},
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


def validate_e164(number: str) -> str:
    """The number in E.164 (+447700900123) with spaces and dashes taken out; ValueError if
    it is not one."""
    compact = re.sub(r"[\s\-]", "", number)
    if not compact.startswith("+"):
        raise ValueError(
            f"{number!r} is not an international number: start with + and the country code, "
            "such as +447700900123"
        )
    digits = compact[1:]
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"{number!r} may hold only digits after the +")
    if not _E164.match(compact):
        raise ValueError(
            f"{number!r} is not a valid international number: after the + it needs a country "
            f"code not starting with 0, and 8 to 15 digits in all (it has {len(digits)})"
        )
    return compact


def sms_secret() -> str | None:
    """The provider's token or password from the keyring, or None (logged) when there is none."""
    from app.credentials import stored_secret  # here: app.config imports this module

    return stored_secret(SMS_SECRET_USER, "the SMS provider")


class SmsProvider(Protocol):
    async def send(self, to: str, text: str) -> None:
        """Send `text` to the E.164 number `to`; SmsError says why it was not sent."""


class NoSms:
    """Provider "none": no text can be sent, and the operator is told what to do instead."""

    async def send(self, to: str, text: str) -> None:
        raise SmsError("no SMS provider is configured; copy the link or show the QR code")


class HttpSms:
    """Provider "http": POST {"to", "text", "from", **extra} as JSON; any 2xx means sent."""

    def __init__(self, settings: SmsSettings, secret: str | None) -> None:
        if settings.url is None:
            raise SmsError('the SMS provider "http" has no url configured')
        self._settings = settings
        self._secret = secret

    def __repr__(self) -> str:
        return f"HttpSms(url={self._settings.url!r}, auth={self._settings.auth!r})"

    async def send(self, to: str, text: str) -> None:
        import aiohttp

        settings = self._settings
        assert settings.url is not None  # checked in __init__
        try:
            number = validate_e164(to)
        except ValueError as exc:
            raise SmsError(str(exc)) from None
        headers: dict[str, str] = {}
        if settings.auth != "none":
            if not self._secret:
                raise SmsError(
                    f"the SMS provider's {'token' if settings.auth == 'bearer' else 'password'} "
                    f"is not in the keyring; store it with: keyring set vigil {SMS_SECRET_USER}"
                )
            if settings.auth == "bearer":
                headers["Authorization"] = f"Bearer {self._secret}"
            else:
                pair = f"{settings.username or ''}:{self._secret}".encode()
                headers["Authorization"] = f"Basic {base64.b64encode(pair).decode('ascii')}"
        body: dict[str, str] = {"to": number, "text": text}
        if settings.sender:
            body["from"] = settings.sender
        body.update(settings.extra)

        timeout = aiohttp.ClientTimeout(
            total=settings.timeout_s, sock_connect=settings.timeout_s, sock_read=settings.timeout_s
        )
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(
                    settings.url, json=body, headers=headers, allow_redirects=False
                ) as response,
            ):
                if 200 <= response.status < 300:
                    log.info(
                        "SMS to %s accepted by the provider (%d)", _masked(number), response.status
                    )
                    return
                answer = await response.content.read(4096)
                raise SmsError(self._refusal(response.status, response.reason, answer))
        except TimeoutError:
            raise SmsError(
                f"the SMS provider did not answer: timed out after {settings.timeout_s:g} s"
            ) from None
        except aiohttp.ClientConnectorCertificateError as exc:
            raise SmsError(
                f"the SMS provider at {_origin(settings.url)} showed a certificate this "
                f"machine does not trust: {exc.certificate_error}"
            ) from None
        except aiohttp.ClientConnectorError as exc:
            error = exc.os_error
            reason = os.strerror(error.errno) if error.errno else str(error) or type(error).__name__
            raise SmsError(
                f"could not reach the SMS provider at {_origin(settings.url)}: {reason}"
            ) from None
        except aiohttp.ClientError as exc:
            raise SmsError(
                f"could not reach the SMS provider: {self._hidden(str(exc)) or type(exc).__name__}"
            ) from None

    def _refusal(self, status: int, reason: str | None, answer: bytes) -> str:
        message = f"the SMS provider refused the message: {status} {reason or ''}".rstrip()
        shown = self._hidden(" ".join(answer.decode("utf-8", "replace").split()))
        if len(shown) > _BODY_SHOWN:
            shown = shown[: _BODY_SHOWN - 1] + "…"
        return f"{message}: {shown}" if shown else message

    def _hidden(self, text: str) -> str:
        """`text` with the secret blanked out, should a provider echo it back."""
        return text.replace(self._secret, "***") if self._secret else text


def make_provider(settings: SmsSettings, secret: str | None) -> SmsProvider:
    if settings.provider == "http":
        return HttpSms(settings, secret)
    return NoSms()


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


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def _masked(number: str) -> str:
    """Enough of a phone number to tell texts apart in the log, not enough to call it."""
    return number[:3] + "*" * (len(number) - 6) + number[-3:]

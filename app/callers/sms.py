"""Sending a caller's one-time link by text message, through the SMS provider configured in [sms].

Two providers: "none" (nothing is sent; the operator copies the link or shows the QR code)
and "http", which POSTs JSON to the provider's endpoint. The provider's secret (a bearer
token or a basic-auth password) lives in the keyring, service "vigil", user "sms", and is
never logged, shown in a repr, or echoed back in an error.

The provider's certificate is checked against the system's trust store, or, for a provider
on a private PKI, against only the CA named by [sms] `ca_file` (aiohttp reads the system's
store once, at import, so SSL_CERT_FILE set later would not reach it; a setting does).

[sms] itself is read and checked with the rest of the config (app/config/sms.py). aiohttp and
keyring are imported where they are used, so the commands that never send start quickly.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import ssl
import urllib.parse
from typing import Protocol

from app.config import E164, SMS_SECRET_USER, SmsSettings

log = logging.getLogger(__name__)


_BODY_SHOWN = 200


class SmsError(Exception):
    """A text was not sent; the message says why in words an operator can act on."""


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
    if not E164.match(compact):
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

        trust = self._trust()
        timeout = aiohttp.ClientTimeout(
            total=settings.timeout_s, sock_connect=settings.timeout_s, sock_read=settings.timeout_s
        )
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(
                    settings.url, json=body, headers=headers, allow_redirects=False, ssl=trust
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
            raise SmsError(self._untrusted(exc.certificate_error)) from None
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

    def _trust(self) -> ssl.SSLContext | bool:
        """What checks the provider's certificate: the CA in ca_file, or (True) the system's."""
        ca_file = self._settings.ca_file
        if ca_file is None:
            return True
        try:
            return ssl.create_default_context(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise SmsError(
                f"[sms] ca_file {ca_file} cannot be used to check the provider's "
                f"certificate: {reason}"
            ) from None

    def _untrusted(self, error: Exception) -> str:
        assert self._settings.url is not None
        ca_file = self._settings.ca_file
        # OpenSSL's own words ("self-signed certificate"), without the [SSL: …] (_ssl.c) wrapping.
        error = getattr(error, "verify_message", None) or error
        message = f"the SMS provider at {_origin(self._settings.url)} showed a certificate "
        if ca_file is not None:
            return message + f"not signed by the CA in [sms] ca_file {ca_file}: {error}"
        return (
            message + f"this machine does not trust: {error}; if a private CA signed it, "
            "name that CA's PEM file in [sms] ca_file"
        )

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


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def _masked(number: str) -> str:
    """Enough of a phone number to tell texts apart in the log, not enough to call it."""
    return number[:3] + "*" * (len(number) - 6) + number[-3:]

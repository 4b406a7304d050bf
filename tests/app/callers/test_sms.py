"""Texting a caller's link: [sms] is checked key by key, the template is filled in, and the
"http" provider POSTs to a real aiohttp server on 127.0.0.1 that records what it got. That
server speaks HTTPS, as the README's provider does, with a certificate made for the test
that Vigil trusts through [sms] ca_file (a control room's private CA).

Refusals, an untrusted certificate, a provider that never answers and a closed port each
end in an SmsError an operator can read; the provider's secret shows in none of them.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import keyring
import pytest

from app.callers.sms import HttpSms, NoSms, SmsError, make_provider, sms_secret, validate_e164
from app.config.sms import (
    DEFAULT_MESSAGE,
    SmsSettings,
    SmsSettingsError,
    message_text,
    parse_sms_settings,
    sms_segments,
)
from tests.servers import LOOPBACK, BlackHoleServer, free_port
from tests.sms_provider import Certificate, HttpsSmsProvider, self_made_certificate

TOKEN = "tok-3f9a:b@d/secret%"
NUMBER = "+447700900123"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """The provider's certificate, which the tests' [sms] trusts as its ca_file."""
    return self_made_certificate(tmp_path_factory.mktemp("provider-tls"))


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """Another self-made certificate for 127.0.0.1, signed by nobody the tests trust."""
    return self_made_certificate(tmp_path_factory.mktemp("stranger-tls"))


@asynccontextmanager
async def provider_on_loopback(
    certificate: Certificate, status: int = 202, answer: str = '{"id": "msg-1"}'
) -> AsyncIterator[HttpsSmsProvider]:
    async with HttpsSmsProvider(certificate, status, answer) as provider:
        yield provider


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coroutine)


def http_settings(url: str, ca_file: Path | None = None, **fields: Any) -> SmsSettings:
    table: dict[str, Any] = {"provider": "http", "url": url, **fields}
    if ca_file is not None:
        table["ca_file"] = str(ca_file)
    return parse_sms_settings(table)


def trusted(provider: HttpsSmsProvider, **fields: Any) -> SmsSettings:
    """[sms] for `provider`, trusting its certificate as ca_file."""
    return http_settings(provider.url, provider.certificate.path, **fields)


async def send_and_fail(settings: SmsSettings, secret: str | None = TOKEN) -> str:
    with pytest.raises(SmsError) as raised:
        await make_provider(settings, secret).send(NUMBER, "hello")
    return str(raised.value)


# -- sending ----------------------------------------------------------------------------


def test_bearer_post_carries_number_text_sender_and_extra_fields(certificate: Certificate) -> None:
    """In: provider "http" with a bearer token, sender "NPOLICE", extra account id; a number
    written with spaces and dashes.
    Out: one POST of JSON {to (E.164), text, from, account}, `Authorization: Bearer TOKEN`."""

    async def scenario() -> HttpsSmsProvider:
        async with provider_on_loopback(certificate) as provider:
            settings = trusted(provider, sender="NPOLICE", extra={"account": "AC-991"}, timeout_s=5)
            await make_provider(settings, TOKEN).send(
                "+44 7700-900 123", "open this: https://x/c/1"
            )
            return provider

    provider = run(scenario())
    assert len(provider.requests) == 1
    request = provider.requests[0]
    assert request["path"] == "/v1/messages"
    assert request["content_type"] == "application/json"
    assert request["authorization"] == f"Bearer {TOKEN}"
    assert request["json"] == {
        "to": NUMBER,
        "text": "open this: https://x/c/1",
        "from": "NPOLICE",
        "account": "AC-991",
    }


def test_basic_auth_sends_username_and_keyring_password(certificate: Certificate) -> None:
    """In: auth "basic", username "vigil-cr".
    Out: `Authorization: Basic base64(vigil-cr:PASSWORD)`; no sender means no "from"."""

    async def scenario() -> HttpsSmsProvider:
        async with provider_on_loopback(certificate, status=200) as provider:
            settings = trusted(provider, auth="basic", username="vigil-cr")
            await make_provider(settings, TOKEN).send(NUMBER, "hi")
            return provider

    request = run(scenario()).requests[0]
    scheme, _, encoded = request["authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == f"vigil-cr:{TOKEN}"
    assert request["json"] == {"to": NUMBER, "text": "hi"}


def test_auth_none_sends_no_authorization_header(certificate: Certificate) -> None:
    async def scenario() -> HttpsSmsProvider:
        async with provider_on_loopback(certificate) as provider:
            await make_provider(trusted(provider, auth="none"), None).send(NUMBER, "hi")
            return provider

    assert run(scenario()).requests[0]["authorization"] is None


def test_401_names_the_status_and_never_the_token(
    certificate: Certificate, caplog: pytest.LogCaptureFixture
) -> None:
    """In: the provider answers 401 with a body that echoes the token back.
    Out: SmsError "the SMS provider refused the message: 401 Unauthorized: …" with the token
    blanked; the token is in neither the error, the provider's repr nor the log."""
    caplog.set_level(logging.DEBUG)

    async def scenario() -> tuple[str, str]:
        async with provider_on_loopback(certificate, 401, f"bad token {TOKEN}") as provider:
            settings = trusted(provider)
            return await send_and_fail(settings), repr(make_provider(settings, TOKEN))

    message, shown = run(scenario())
    assert message.startswith("the SMS provider refused the message: 401 Unauthorized: bad token")
    for text in (message, shown, caplog.text):
        assert TOKEN not in text


def test_500_with_a_long_body_shows_at_most_200_characters_of_it(certificate: Certificate) -> None:
    async def scenario() -> str:
        async with provider_on_loopback(certificate, 500, "E" * 5000) as provider:
            return await send_and_fail(trusted(provider))

    message = run(scenario())
    prefix = "the SMS provider refused the message: 500 Internal Server Error: "
    assert message.startswith(prefix)
    shown = message.removeprefix(prefix)
    assert len(shown) == 200
    assert shown.endswith("…")


def test_a_certificate_nobody_trusts_is_refused_before_anything_is_sent(
    certificate: Certificate, stranger: Certificate
) -> None:
    """In: the provider shows its self-made certificate to [sms] with no ca_file (the
    system's trust store), then to [sms] whose ca_file is another certificate.
    Out: SmsError each time, naming the provider's address and OpenSSL's reason (self-signed); the first
    says to name a private CA in [sms] ca_file, the second names the ca_file that does not
    vouch for it. The provider got no request: the number and text never left."""

    async def scenario() -> tuple[str, str, HttpsSmsProvider]:
        async with provider_on_loopback(certificate) as provider:
            system = await send_and_fail(http_settings(provider.url))
            other = await send_and_fail(http_settings(provider.url, stranger.path))
            return system, other, provider

    system, other, provider = run(scenario())
    origin = f"the SMS provider at {LOOPBACK}:{provider.port} showed a certificate"
    assert system == (
        f"{origin} this machine does not trust: self-signed certificate; if a private CA "
        "signed it, name that CA's PEM file in [sms] ca_file"
    )
    assert other == (
        f"{origin} not signed by the CA in [sms] ca_file {stranger.path}: self-signed certificate"
    )
    assert provider.requests == []


def test_a_ca_file_that_cannot_be_read_is_named(certificate: Certificate, tmp_path: Path) -> None:
    """In: [sms] ca_file naming a file that is not there, then a file that holds no PEM.
    Out: SmsError naming the setting, the file and why; the provider got no request."""
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")

    async def scenario() -> tuple[str, str, HttpsSmsProvider]:
        async with provider_on_loopback(certificate) as provider:
            missing = await send_and_fail(http_settings(provider.url, tmp_path / "none.pem"))
            unreadable = await send_and_fail(http_settings(provider.url, garbage))
            return missing, unreadable, provider

    missing, unreadable, provider = run(scenario())
    assert missing == (
        f"[sms] ca_file {tmp_path / 'none.pem'} cannot be used to check the provider's "
        "certificate: No such file or directory"
    )
    assert unreadable.startswith(f"[sms] ca_file {garbage} cannot be used to check the provider's")
    assert provider.requests == []


def test_a_provider_that_never_answers_times_out(certificate: Certificate) -> None:
    """In: an https:// provider on loopback that accepts the connection and never says a
    word (not even its TLS hello); timeout 0.3 s.
    Out: SmsError "... timed out after 0.3 s", after waiting at least that long (a limit of
    30 s only stops a broken timeout from hanging the suite)."""
    server = BlackHoleServer().start()
    try:
        settings = http_settings(
            f"https://{LOOPBACK}:{server.port}/send", certificate.path, timeout_s=0.3
        )

        async def scenario() -> tuple[str, float]:
            loop = asyncio.get_running_loop()
            started = loop.time()
            async with asyncio.timeout(30):
                message = await send_and_fail(settings)
            return message, loop.time() - started

        message, took = run(scenario())
    finally:
        server.stop()
    assert message == "the SMS provider did not answer: timed out after 0.3 s"
    assert took >= 0.3
    assert server.connections == 1


def test_a_closed_port_says_the_provider_cannot_be_reached(certificate: Certificate) -> None:
    """In: an https:// provider address where nothing listens.
    Out: SmsError "could not reach the SMS provider at 127.0.0.1:PORT: Connection refused"."""
    port = free_port()
    settings = http_settings(f"https://{LOOPBACK}:{port}/send", certificate.path, timeout_s=2)
    message = run(send_and_fail(settings))
    assert message == f"could not reach the SMS provider at {LOOPBACK}:{port}: Connection refused"


def test_a_missing_secret_or_a_bad_number_is_refused_before_any_request(
    certificate: Certificate,
) -> None:
    async def scenario() -> tuple[str, str, HttpsSmsProvider]:
        async with provider_on_loopback(certificate) as provider:
            settings = trusted(provider)
            no_secret = await send_and_fail(settings, None)
            with pytest.raises(SmsError) as raised:
                await make_provider(settings, TOKEN).send("07700 900123", "hi")
            return no_secret, str(raised.value), provider

    no_secret, bad_number, provider = run(scenario())
    assert no_secret == (
        "the SMS provider's token is not in the keyring; store it with: keyring set vigil sms"
    )
    assert "start with + and the country code" in bad_number
    assert provider.requests == []


def test_provider_none_tells_the_operator_what_to_do_instead() -> None:
    provider = make_provider(parse_sms_settings({}), None)
    assert isinstance(provider, NoSms)
    with pytest.raises(
        SmsError, match="no SMS provider is configured; copy the link or show the QR code"
    ):
        run(provider.send(NUMBER, "hi"))
    assert isinstance(make_provider(http_settings("https://sms.example/send"), TOKEN), HttpSms)


# -- the keyring ------------------------------------------------------------------------


def test_sms_secret_comes_from_the_keyring(secret_service) -> None:
    """In: the private Secret Service, first empty, then holding ("vigil", "sms").
    Out: None, then the stored token."""
    assert sms_secret() is None
    keyring.set_password("vigil", "sms", TOKEN)
    assert sms_secret() == TOKEN


# -- the text ---------------------------------------------------------------------------


def test_the_default_text_says_who_asks_and_fits_two_sms_parts() -> None:
    text = message_text(
        SmsSettings(),
        organisation="Northshire Police",
        link="https://cr.example:8443/c/abc",
        incident="INC-42",
        minutes=30,
        name="Sam",
    )
    assert text == (
        "Northshire Police: please open this link to show us the scene live: "
        "https://cr.example:8443/c/abc (ref INC-42). It works once and expires in 30 minutes."
    )
    assert sms_segments(text) == 1
    assert SmsSettings().message == DEFAULT_MESSAGE


def test_a_custom_template_fills_every_placeholder_and_keeps_literal_braces() -> None:
    settings = parse_sms_settings(
        {"message": "Hi {name}, {organisation} ({incident}) {{live}}: {link} - {minutes} min"}
    )
    text = message_text(
        settings, organisation="NP", link="https://l/c/1", incident=None, minutes=15, name="Ann"
    )
    assert text == "Hi Ann, NP (-) {live}: https://l/c/1 - 15 min"


@pytest.mark.parametrize(
    ("text", "segments"),
    [("a" * 160, 1), ("a" * 161, 2), ("[" * 80, 1), ("[" * 81, 2), ("’" * 70, 1), ("’" * 71, 2)],
)
def test_sms_segments_counts_gsm_and_unicode_parts(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+44 7700 900123", NUMBER),
        ("+1-202-555-0143", "+12025550143"),
        ("+4915112345678", "+4915112345678"),
    ],
)
def test_e164_numbers_are_compacted(number: str, expected: str) -> None:
    assert validate_e164(number) == expected


@pytest.mark.parametrize(
    ("number", "words"),
    [
        ("07700 900123", "start with + and the country code"),
        ("+44 (0)7700 900123", "only digits after the +"),
        ("+0447700900123", "country code not starting with 0"),
        ("+4412345", "8 to 15 digits in all (it has 7)"),
        ("+4477009001231234", "(it has 16)"),
    ],
)
def test_bad_numbers_are_refused_with_the_reason(number: str, words: str) -> None:
    with pytest.raises(ValueError, match=r".*") as raised:
        validate_e164(number)
    assert words in str(raised.value)


# -- [sms] ------------------------------------------------------------------------------


def test_a_full_table_parses() -> None:
    settings = parse_sms_settings(
        {
            "provider": "http",
            "url": "https://sms.example/v1/send",
            "auth": "basic",
            "username": "cr",
            "sender": "NPOLICE",
            "timeout_s": 4,
            "extra": {"account": "AC-1"},
            "ca_file": "~/provider-ca.pem",
        }
    )
    assert settings == SmsSettings(
        provider="http",
        url="https://sms.example/v1/send",
        auth="basic",
        username="cr",
        sender="NPOLICE",
        timeout_s=4.0,
        extra={"account": "AC-1"},
        ca_file=Path.home() / "provider-ca.pem",
    )
    assert parse_sms_settings({}) == SmsSettings()


@pytest.mark.parametrize(
    ("table", "key", "words"),
    [
        ({"provder": "http"}, "provder", "unknown SMS setting; expected one of"),
        ({"provider": "twilio"}, "provider", '\'twilio\' is not one of "http", "none"'),
        ({"provider": "http"}, "url", 'provider "http" needs the provider\'s endpoint'),
        (
            {"provider": "http", "url": "ftp://sms.example/"},
            "url",
            "not an http:// or https:// address",
        ),
        ({"provider": "http", "url": "https://"}, "url", "not an http:// or https:// address"),
        (
            {"provider": "http", "url": "https://u:pw@sms.example/"},
            "url",
            "keyring set vigil sms",
        ),
        ({"auth": "digest"}, "auth", "'digest' is not one of"),
        (
            {"provider": "http", "url": "https://sms.example/", "auth": "basic"},
            "username",
            'auth "basic" needs a username',
        ),
        ({"username": "cr"}, "username", 'only used with auth = "basic"'),
        ({"sender": "NORTHSHIRE POLICE"}, "sender", "up to 11 letters, digits and spaces"),
        ({"message": "Open {link} for {officer}"}, "message", "{officer} is not a placeholder"),
        ({"message": "Open {link!r}"}, "message", "{link} is not a placeholder"),
        ({"message": "Open {link} {0}"}, "message", "{0} is not a placeholder"),
        ({"message": "Open {link"}, "message", "a { or } without its pair"),
        ({"message": "Please call us back"}, "message", "must hold {link}"),
        ({"message": ""}, "message", "must be text"),
        ({"message": "{link} " + "x" * 400}, "message", "too long: with a typical link in it"),
        ({"message": "{link} ’" + "x" * 150}, "message", "outside the SMS alphabet (’)"),
        ({"timeout_s": 0}, "timeout_s", "above 0 and at most 120"),
        ({"timeout_s": "10"}, "timeout_s", "a number of seconds"),
        ({"timeout_s": True}, "timeout_s", "a number of seconds"),
        ({"extra": "AC-1"}, "extra", "must be a table"),
        ({"extra": {"account": 991}}, "extra", "'account' must be text"),
        ({"extra": {"to": "+15550100"}}, "extra", "'to' is set by Vigil itself"),
        (
            {"provider": "http", "url": "http://sms.example/", "ca_file": "/etc/ca.pem"},
            "ca_file",
            "only an https:// url has a certificate to check",
        ),
        ({"ca_file": ""}, "ca_file", "must be text"),
    ],
)
def test_each_bad_setting_is_named_with_the_reason(
    table: dict[str, object], key: str, words: str
) -> None:
    with pytest.raises(SmsSettingsError) as raised:
        parse_sms_settings(table)
    assert raised.value.key == key
    assert words in raised.value.message, raised.value.message
    assert str(raised.value) == f"{key}: {raised.value.message}"

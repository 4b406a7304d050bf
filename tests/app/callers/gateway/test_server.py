"""The caller gateway over real HTTPS on 127.0.0.1, in this process: the page and its device
cookie, the security headers, one 404 for every unknown token and one 410 for every
unusable link, refusals of bad bodies with the right status and one log line each (never
the token), rate limits that stop one phone and not another, and a WHIP exchange with an
aiortc sender. The browser itself is tests/e2e/test_caller.py's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import math
import re
import secrets
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import aiohttp
import av
import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from multidict import CIMultiDictProxy

from app.callers.consent import consent_text
from app.callers.gateway import ice
from app.callers.gateway.desk import CallerDesk
from app.callers.gateway.limits import MAX_SDP_BYTES
from app.callers.gateway.server import DEVICE_COOKIE, Gateway
from app.callers.links import CallerLink, LinkState
from app.config import GatewaySettings
from app.database import open_database
from app.feeds.service import FeedService
from app.tls import server_ssl_context
from media.live.feed import FeedState, Location
from tests.clock import Clock
from tests.servers import LOOPBACK, free_port

pytestmark = pytest.mark.network

ORG = "Northshire Police control room"
OTHER_ADDRESS = "127.0.0.2"
"""A second loopback address: a phone whose requests come from elsewhere."""
SERVER_LOG = "app.callers.gateway.server"
ACCESS_LOG = "aiohttp.access"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; media-src 'self' blob: mediastream:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
JSON_BLOCK = re.compile(
    r'<script type="application/json" id="vigil-link">(.*?)</script>', re.DOTALL
)
AUDIO_ONLY_SDP = (
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:abcd\r\n"
    "a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=sendonly\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
)


@dataclass
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


class Logs:
    """The log as the tests read it: the gateway's refusal lines one request at a time."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.INFO)
        self.caplog = caplog
        self._seen = 0

    def _warnings(self) -> list[logging.LogRecord]:
        return [
            r for r in self.caplog.records if r.name == SERVER_LOG and r.levelno >= logging.WARNING
        ]

    def new_refusals(self) -> list[str]:
        """Refusal lines written since the last look."""
        warnings = self._warnings()
        new, self._seen = warnings[self._seen :], len(warnings)
        return [record.getMessage() for record in new]

    def refused(self, reply: Reply, status: int, token: str, says: str = "") -> None:
        """`reply` has `status` and the security headers, and made exactly one WARNING
        line from the gateway, giving that status (and `says`), without the token."""
        assert reply.status == status, reply.body[:300]
        assert_security_headers(reply)
        lines = self.new_refusals()
        assert len(lines) == 1, lines
        assert f": {status} " in lines[0], lines[0]
        assert says in lines[0], lines[0]
        assert token not in lines[0]
        assert token.encode() not in reply.body

    def accepted(self, reply: Reply, status: int = 200) -> None:
        """`reply` has `status` and the security headers, and no refusal was logged."""
        assert reply.status == status, reply.body[:300]
        assert_security_headers(reply)
        assert self.new_refusals() == []

    def access_lines(self) -> list[str]:
        return [r.getMessage() for r in self.caplog.records if r.name == ACCESS_LOG]

    def assert_no_secret(self, secrets_: list[str]) -> None:
        """No line of any logger (message, arguments or traceback) holds a token or a
        device secret."""
        everything = self.caplog.text + "\n".join(r.getMessage() for r in self.caplog.records)
        for secret in secrets_:
            assert secret not in everything


def assert_security_headers(reply: Reply) -> None:
    headers = reply.headers
    assert headers["Content-Security-Policy"] == CSP
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "unsafe-eval" not in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"


class Phone:
    """One browser: its own cookie jar, trusting the gateway's certificate, its requests
    coming from `address` (a loopback address), over at most six connections at once as
    browsers do (the gateway caps connections per address)."""

    def __init__(self, running: Running, address: str) -> None:
        self._running = running
        self.session = aiohttp.ClientSession(
            base_url=running.url,
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            connector=aiohttp.TCPConnector(
                ssl=running.trust, local_addr=(address, 0), limit_per_host=6
            ),
        )

    async def request(
        self, method: str, path: str, body: bytes | str | None = None, content_type: str = ""
    ) -> Reply:
        headers = {"Content-Type": content_type} if content_type else {}
        data = body.encode() if isinstance(body, str) else body
        async with self.session.request(method, path, data=data, headers=headers) as response:
            reply = Reply(response.status, response.headers, await response.read())
        for cookie in reply.headers.getall("Set-Cookie", []):
            self._running.secrets.append(cookie.split(";")[0].partition("=")[2])
        return reply

    async def open(self, token: str) -> Reply:
        return await self.request("GET", f"/c/{token}")

    async def consent(self, token: str, answer: str, shown: str) -> Reply:
        body = json.dumps({"answer": answer, "consent_sha256": shown})
        return await self.request("POST", f"/c/{token}/consent", body, "application/json")

    async def agree(self, token: str) -> None:
        """Open the page and agree to the text it shows."""
        page = await self.open(token)
        assert page.status == 200
        answered = await self.consent(token, "agree", page_config(page.text)["consent_sha256"])
        assert answered.status == 200
        assert answered.json() == {"state": "consented"}

    async def location(self, token: str, body: bytes | str) -> Reply:
        return await self.request("POST", f"/c/{token}/location", body, "application/json")

    async def whip(
        self, token: str, sdp: bytes | str, content_type: str = "application/sdp"
    ) -> Reply:
        return await self.request("POST", f"/c/{token}/whip", sdp, content_type)


@dataclass
class Running:
    desk: CallerDesk
    feeds: FeedService
    url: str
    trust: ssl.SSLContext
    secrets: list[str] = field(default_factory=list)
    """Every token and device secret of the test: none may reach a log."""
    phones: list[Phone] = field(default_factory=list)

    def invite(self, name: str = "Jane Doe", **options: Any) -> tuple[CallerLink, str]:
        link, address = self.desk.invite(name=name, **options)
        token = address.rsplit("/", 1)[1]
        assert address == f"{self.url}/c/{token}"
        self.secrets.append(token)
        return link, token

    def phone(self, address: str = LOOPBACK) -> Phone:
        phone = Phone(self, address)
        self.phones.append(phone)
        return phone


@contextlib.asynccontextmanager
async def gateway(
    folder: Path, *, clock: Callable[[], float], organisation: str
) -> AsyncIterator[Running]:
    port = free_port()
    db = open_database(folder / "vigil.db")
    feeds = FeedService()
    settings = GatewaySettings(
        host=LOOPBACK,
        port=port,
        public_url=f"https://{LOOPBACK}:{port}",
        organisation=organisation,
    )
    desk = CallerDesk(db, settings, feeds, clock=clock)
    context, info = server_ssl_context(folder / "certs", [LOOPBACK])
    server = Gateway(desk)
    await server.start(LOOPBACK, port, context)
    assert server.port == port
    trust = ssl.create_default_context(cafile=str(info.path))
    running = Running(desk, feeds, settings.public_url, trust)
    try:
        yield running
    finally:
        for phone in running.phones:
            await phone.session.close()
        await server.close()
        await desk.close()
        feeds.stop()
        db.close()


Scenario = Callable[[Running, Logs], Awaitable[None]]
Serve = Callable[..., None]


@pytest.fixture
def serve(short_tmp: Path, caplog: pytest.LogCaptureFixture) -> Serve:
    """`serve(scenario, clock=..., organisation=...)` runs `scenario(running, logs)` against
    a gateway started for it, then (the server closed, every access line written) checks that
    no log line holds any token or device secret the test saw."""

    def run(
        scenario: Scenario, *, clock: Callable[[], float] = time.time, organisation: str = ORG
    ) -> None:
        logs = Logs(caplog)
        seen: list[str] = []

        async def main() -> None:
            async with gateway(short_tmp, clock=clock, organisation=organisation) as running:
                try:
                    await scenario(running, logs)
                finally:
                    seen.extend(running.secrets)

        asyncio.run(main())
        assert seen
        logs.assert_no_secret(seen)

    return run


def page_config(page: str) -> dict[str, Any]:
    found = JSON_BLOCK.search(page)
    assert found is not None, "no JSON block in the page"
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def fix(**changes: Any) -> str:
    body: dict[str, Any] = {"lat": 51.5007, "lon": -0.1246, "accuracy_m": 8.0, "at": time.time()}
    body.update(changes)
    return json.dumps(body)


# -- the page ---------------------------------------------------------------------------


def test_page_sets_a_strict_device_cookie_and_security_headers(serve: Serve) -> None:
    """In: a new caller link; its page fetched over HTTPS (certificate checked), then
    reloaded; the caller script and an unknown address fetched too.
    Out: 200 text/html with one `vigil_device` cookie that is Secure, HttpOnly,
    SameSite=Strict, Path=/c/TOKEN and has no Domain; the reload sets no new cookie; every
    answer (page, script, 404) has the CSP of the contract (no 'unsafe-inline'),
    Referrer-Policy no-referrer, Cache-Control no-store and nosniff; the link is WAITING
    and a caller feed "Jane Doe (L-…)" is on the desk."""

    async def scenario(gw: Running, logs: Logs) -> None:
        link, token = gw.invite("Jane Doe")
        phone = gw.phone()
        page = await phone.open(token)
        logs.accepted(page)
        assert page.headers["Content-Type"].startswith("text/html")
        cookies = page.headers.getall("Set-Cookie")
        assert len(cookies) == 1
        name_value, *parts = [part.strip() for part in cookies[0].split(";")]
        name, _, value = name_value.partition("=")
        assert name == DEVICE_COOKIE
        assert len(value) >= 24
        attributes = {key.lower(): rest for key, _, rest in (part.partition("=") for part in parts)}
        assert "secure" in attributes
        assert "httponly" in attributes
        assert attributes["samesite"] == "Strict"
        assert attributes["path"] == f"/c/{token}"
        assert "domain" not in attributes

        again = await phone.open(token)
        logs.accepted(again)
        assert "Set-Cookie" not in again.headers
        assert again.text == page.text

        script = await phone.request("GET", "/caller/caller.js")
        logs.accepted(script)
        assert "javascript" in script.headers["Content-Type"]
        missing = await phone.request("GET", "/caller/nothing-here.js")
        assert missing.status == 404
        assert_security_headers(missing)
        logs.new_refusals()

        assert gw.desk.links.get(link.id).state is LinkState.WAITING
        assert [feed.name for feed in gw.feeds.feeds] == [f"Jane Doe ({link.id})"]

    serve(scenario)


HOSTILE_ORG = 'Northshire Police & Fire "control room" </script><script>alert(1)</script>'


def test_page_names_the_organisation_and_carries_the_consent_hash(serve: Serve) -> None:
    """In: an organisation name with HTML in it (`</script><script>alert(1)</script>`, &,
    quotes); the pages of a caller link and of a location-only officer link.
    Out: each page shows the organisation HTML-escaped, and every line of that link's
    consent text (asker, heading, points, paragraphs) escaped; its JSON block gives kind,
    location_only, base /c/TOKEN, no ICE servers, a 5 s location interval and the SHA-256 of
    exactly that consent text; the only <script> elements are the JSON block and an empty
    one with src /caller/caller.js, and nothing inline (no on…= handler, no style attribute
    or element, no javascript: URL)."""

    async def scenario(gw: Running, logs: Logs) -> None:
        caller, caller_token = gw.invite("Jane Doe")
        officer, officer_token = gw.invite("PC 4521", officer=True, location_only=True)
        phone = gw.phone()
        for link, token, kind in (
            (caller, caller_token, "caller"),
            (officer, officer_token, "officer"),
        ):
            reply = await phone.open(token)
            logs.accepted(reply)
            page = reply.text
            assert html.escape(HOSTILE_ORG) in page
            assert "<script>alert(1)" not in page
            text = consent_text(link, HOSTILE_ORG)
            for line in text.lines():
                assert html.escape(line) in page, line
            assert page_config(page) == {
                "kind": kind,
                "location_only": link.location_only,
                "consent_sha256": text.sha256,
                "base": f"/c/{token}",
                "ice_servers": [],
                "location_interval_s": 5,
            }
            assert len(re.findall(r"<\s*script\b", page, re.IGNORECASE)) == 2
            scripts = re.findall(
                r"<\s*script\b([^>]*)>(.*?)<\s*/\s*script\s*>", page, re.IGNORECASE | re.DOTALL
            )
            assert len(scripts) == 2
            (code_attributes, code), (data_attributes, data) = sorted(
                scripts, key=lambda script: "application/json" in script[0]
            )
            assert 'src="/caller/caller.js"' in code_attributes
            assert code.strip() == ""
            assert 'type="application/json"' in data_attributes
            assert 'id="vigil-link"' in data_attributes
            assert json.loads(data) == page_config(page)
            assert re.search(r"\son[a-z]+\s*=", page, re.IGNORECASE) is None
            assert re.search(r"<\s*style|\sstyle\s*=", page, re.IGNORECASE) is None
            assert "javascript:" not in page.lower()
        assert consent_text(caller, HOSTILE_ORG).sha256 != consent_text(officer, HOSTILE_ORG).sha256

    serve(scenario, organisation=HOSTILE_ORG)


# -- one 404, one 410 -----------------------------------------------------------------


def test_every_unknown_token_gets_the_same_404(serve: Serve) -> None:
    """In: three tokens that are not links (a random one of the right shape, a short one,
    and a real link's token with its last character changed), each sent to the page,
    consent, location, WHIP and hang-up endpoints with well-formed bodies.
    Out: every page answer is the same 404 HTML, every other answer the same 404 JSON
    (identical bodies and headers but Date), each with one refusal line without the token."""

    async def scenario(gw: Running, logs: Logs) -> None:
        _link, real = gw.invite()
        changed = real[:-1] + ("A" if real[-1] != "A" else "B")
        unknown = [secrets.token_urlsafe(18), "Qz7-short", changed]
        gw.secrets.extend(unknown)
        phone = gw.phone()
        pages, others = [], []
        for token in unknown:
            page = await phone.open(token)
            logs.refused(page, 404, token, "unknown token")
            pages.append(page)
            for endpoint in ("consent", "location", "whip", "hang-up"):
                if endpoint == "consent":
                    reply = await phone.consent(token, "agree", "0" * 64)
                elif endpoint == "location":
                    reply = await phone.location(token, fix())
                elif endpoint == "whip":
                    reply = await phone.whip(token, AUDIO_ONLY_SDP)
                else:
                    reply = await phone.request("DELETE", f"/c/{token}/whip/abc")
                logs.refused(reply, 404, token, "unknown token")
                others.append(reply)
        assert pages[0].headers["Content-Type"].startswith("text/html")
        assert others[0].json() == {"error": "unknown link"}
        for group in (pages, others):
            assert len({r.body for r in group}) == 1
            assert len({headers_but_date(r) for r in group}) == 1

    serve(scenario)


def headers_but_date(reply: Reply) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in reply.headers.items() if k.lower() != "date"))


def test_every_unusable_link_gets_the_same_410(serve: Serve) -> None:
    """In: on a desk whose clock the test moves: a link never opened and now 16 min old
    (expired); a link opened then revoked by the control room; a link opened by one phone
    and fetched by another; a link whose caller declined and then reloaded; a link posted to
    before its page was opened.
    Out: every page fetch is the same 410 HTML ("This link can no longer be used"), every
    consent and location post the same 410 JSON: identical bodies and headers but Date,
    one refusal line each, never the token."""
    clock = Clock(time.time())

    async def scenario(gw: Running, logs: Logs) -> None:
        _expired, expired_token = gw.invite("Expired")
        clock.now += 16 * 60
        revoked, revoked_token = gw.invite("Revoked")
        _held, held_token = gw.invite("Held")
        _declined, declined_token = gw.invite("Declined")
        _unopened, unopened_token = gw.invite("Unopened")

        newcomer, revoked_phone, holder, other, decliner = (gw.phone() for _ in range(5))
        logs.accepted(await revoked_phone.open(revoked_token))
        await gw.desk.revoke(revoked.id)
        logs.accepted(await holder.open(held_token))
        page = await decliner.open(declined_token)
        logs.accepted(page)
        shown = page_config(page.text)["consent_sha256"]
        declined = await decliner.consent(declined_token, "decline", shown)
        logs.accepted(declined)
        assert declined.json() == {"state": "declined"}

        cases = [
            (newcomer, expired_token),
            (revoked_phone, revoked_token),
            (other, held_token),
            (decliner, declined_token),
        ]
        pages, posts = [], []
        for phone, token in cases:
            page = await phone.open(token)
            logs.refused(page, 410, token)
            pages.append(page)
        for phone, token in [*cases, (newcomer, unopened_token)]:
            consent = await phone.consent(token, "agree", shown)
            logs.refused(consent, 410, token)
            location = await phone.location(token, fix())
            logs.refused(location, 410, token)
            posts += [consent, location]
        assert "This link can no longer be used" in pages[0].text
        assert pages[0].headers["Content-Type"].startswith("text/html")
        assert posts[0].json() == {"error": "this link can no longer be used"}
        for group in (pages, posts):
            assert len({r.body for r in group}) == 1
            assert len({headers_but_date(r) for r in group}) == 1
        # The link held by the first phone still works for it.
        logs.accepted(await holder.open(held_token))

    serve(scenario, clock=clock)


# -- consent ----------------------------------------------------------------------------


def test_consent_refusals_record_nothing(serve: Serve) -> None:
    """In: an opened caller link; consent posts with a hash other than the one shown, with
    Content-Type text/plain, with a body that is not JSON, with the answer "maybe"; then a
    proper agree.
    Out: 409, 415, 400 and 422, one refusal line each; no consent record and the link still
    WAITING after them; the agree gives 200 {"state": "consented"} and exactly one record,
    with the shown hash, the client's user agent and 127.0.0.1."""

    async def scenario(gw: Running, logs: Logs) -> None:
        link, token = gw.invite()
        phone = gw.phone()
        page = await phone.open(token)
        logs.accepted(page)
        shown = page_config(page.text)["consent_sha256"]
        path = f"/c/{token}/consent"

        logs.refused(await phone.consent(token, "agree", "0" * 64), 409, token, "consent text")
        good = json.dumps({"answer": "agree", "consent_sha256": shown})
        logs.refused(await phone.request("POST", path, good, "text/plain"), 415, token)
        logs.refused(await phone.request("POST", path, "agree", "application/json"), 400, token)
        logs.refused(await phone.consent(token, "maybe", shown), 422, token)
        assert gw.desk.consents.for_link(link.id) == []
        assert gw.desk.links.get(link.id).state is LinkState.WAITING

        agreed = await phone.consent(token, "agree", shown)
        logs.accepted(agreed)
        assert agreed.json() == {"state": "consented"}
        records = gw.desk.consents.for_link(link.id)
        assert [(r.answer.value, r.text_sha256, r.remote_addr) for r in records] == [
            ("agree", shown, LOOPBACK)
        ]
        assert records[0].user_agent is not None
        assert "aiohttp" in records[0].user_agent.lower()

    serve(scenario)


# -- location ---------------------------------------------------------------------------


def test_location_is_checked_and_lands_on_the_feed(serve: Serve) -> None:
    """In: a caller link opened; a good fix posted before consent; after consent a good fix
    (with heading and speed), then bodies that are not JSON, hold NaN, have lat 91, have a
    negative accuracy, come as text/plain, or are 5 KiB long.
    Out: 403 before consent; the good fix gives 200 {"state": "consented"} and the caller's
    feed holds exactly that Location; then 400, 400, 422, 422, 415, 413, one refusal line
    each, and the feed's location is still the good one."""

    async def scenario(gw: Running, logs: Logs) -> None:
        _link, token = gw.invite()
        phone = gw.phone()
        logs.accepted(await phone.open(token))
        logs.refused(await phone.location(token, fix()), 403, token, "no consent")
        feed = gw.feeds.feeds[0]
        assert feed.location is None
        await phone.agree(token)
        logs.new_refusals()

        at = time.time()
        good = await phone.location(token, fix(at=at, heading=270.5, speed=1.25))
        logs.accepted(good)
        assert good.json() == {"state": "consented"}
        sent = Location(51.5007, -0.1246, 8.0, at, heading_deg=270.5, speed_mps=1.25)
        assert gw.feeds.feeds[0].location == sent

        nan = '{"lat": NaN, "lon": -0.1246, "accuracy_m": 8, "at": %r}' % at  # noqa: UP031
        for body, content_type, status in (
            ("lat=51.5&lon=-0.12", "application/json", 400),
            (nan, "application/json", 400),
            (fix(lat=91), "application/json", 422),
            (fix(accuracy_m=-1), "application/json", 422),
            (fix(), "text/plain", 415),
            ("{" + " " * 5 * 1024 + "}", "application/json", 413),
        ):
            path = f"/c/{token}/location"
            reply = await phone.request("POST", path, body, content_type)
            logs.refused(reply, status, token)
            assert "error" in reply.json()
        assert feed.location == sent

    serve(scenario)


# -- WHIP -------------------------------------------------------------------------------


def test_whip_refuses_bad_offers(serve: Serve) -> None:
    """In: a consented caller link; WHIP posts with Content-Type text/plain, with an
    application/sdp body of 64 KiB + 1 byte, with text that is not SDP, and with an SDP
    offer that has an audio m-line and no video.
    Out: 415, 413, 400 and 400 (the last saying there is no video), one refusal line each;
    no media session is left on the desk."""

    async def scenario(gw: Running, logs: Logs) -> None:
        _link, token = gw.invite()
        phone = gw.phone()
        await phone.agree(token)
        logs.new_refusals()
        logs.refused(await phone.whip(token, AUDIO_ONLY_SDP, "text/plain"), 415, token)
        too_big = "v=0\r\n" + "a=x\r\n" * ((MAX_SDP_BYTES - 5) // 5) + "a=xyz\r\n"
        too_big = too_big[: MAX_SDP_BYTES + 1]
        assert len(too_big.encode()) == MAX_SDP_BYTES + 1
        logs.refused(await phone.whip(token, too_big), 413, token)
        logs.refused(await phone.whip(token, "hello, this is not SDP"), 400, token)
        logs.refused(await phone.whip(token, AUDIO_ONLY_SDP), 400, token, "no video")
        assert all(call.session is None for call in gw.desk._calls.values())

    serve(scenario)


def test_whip_needs_consent_and_a_camera_link(serve: Serve) -> None:
    """In: a caller link opened but not answered, and a location-only link opened and
    agreed to; each posts a WHIP offer; then the caller, having agreed, hangs up a media
    session that does not exist.
    Out: 403 ("no consent") for the first, 403 ("location only") for the second, 404 for the
    hang-up; one refusal line each."""

    async def scenario(gw: Running, logs: Logs) -> None:
        _caller, caller_token = gw.invite("Jane Doe")
        _located, located_token = gw.invite("John Roe", location_only=True)
        phone, other = gw.phone(), gw.phone()
        logs.accepted(await phone.open(caller_token))
        logs.refused(await phone.whip(caller_token, AUDIO_ONLY_SDP), 403, caller_token, "consent")
        await other.agree(located_token)
        logs.refused(
            await other.whip(located_token, AUDIO_ONLY_SDP), 403, located_token, "location only"
        )
        await phone.agree(caller_token)
        logs.new_refusals()
        hang_up = await phone.request("DELETE", f"/c/{caller_token}/whip/no-such-session")
        logs.refused(hang_up, 404, caller_token, "no such media session")

    serve(scenario)


class MovingPattern(VideoStreamTrack):
    """A camera without a file: a 320x240 picture whose colour moves frame by frame."""

    def __init__(self) -> None:
        super().__init__()
        self._count = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        self._count += 1
        picture = np.zeros((240, 320, 3), np.uint8)
        picture[:, :, 0] = (self._count * 8) % 256
        picture[:, :160, 1] = 200
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        frame.pts = pts
        frame.time_base = Fraction(time_base)
        return frame


async def until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


def test_whip_exchange_with_an_aiortc_sender(serve: Serve) -> None:
    """In: a consented caller link; an aiortc peer connection sending a 320x240 test pattern
    offers over WHIP (media on 127.0.0.1 only), takes the answer; later it hangs up with a
    DELETE of the Location it was given.
    Out: 201 with Content-Type application/sdp and Location /c/TOKEN/whip/SESSION; the
    connection comes up, the link turns LIVE, the caller's feed is LIVE with 320x240 frames;
    the DELETE gives 200, the link is back to CONSENTED and the feed says the caller stopped
    the video. No refusal is logged."""

    async def scenario(gw: Running, logs: Logs) -> None:
        link, token = gw.invite()
        gw.feeds.start()
        phone = gw.phone()
        await phone.agree(token)
        ice.offer_addresses([LOOPBACK])
        sender = RTCPeerConnection()
        try:
            sender.addTransceiver(MovingPattern(), direction="sendonly")
            await sender.setLocalDescription(await sender.createOffer())
            answer = await phone.whip(token, sender.localDescription.sdp)
            logs.accepted(answer, 201)
            assert answer.headers["Content-Type"].startswith("application/sdp")
            location = answer.headers["Location"]
            assert re.fullmatch(rf"/c/{re.escape(token)}/whip/[A-Za-z0-9_-]+", location)
            await sender.setRemoteDescription(RTCSessionDescription(answer.text, "answer"))
            feed = gw.feeds.feeds[0]
            await until(lambda: gw.desk.links.get(link.id).state is LinkState.LIVE, 10, "link LIVE")
            await until(lambda: feed.stats.frames >= 3, 10, "frames on the caller's feed")
            assert (feed.stats.width, feed.stats.height) == (320, 240)
            live = feed.connection
            assert live.state is FeedState.LIVE
            assert sender.connectionState == "connected"

            hung_up = await phone.request("DELETE", location)
            logs.accepted(hung_up)
            assert gw.desk.links.get(link.id).state is LinkState.CONSENTED
            stopped = feed.connection
            assert stopped.state is FeedState.ENDED
            assert "stopped the video" in (stopped.error or "")
        finally:
            await sender.close()
            ice.offer_addresses(None)

    serve(scenario)


# -- rate limits and logs ---------------------------------------------------------------


def test_a_flood_is_refused_and_no_other_caller_notices(serve: Serve) -> None:
    """In: two consented callers on different addresses (127.0.0.2 and 127.0.0.1); the
    first posts 70 location fixes at once (beyond both its link's 10-request burst and its
    address's 60), while the second posts a fix every 20 ms, five in all.
    Out: the first gets 200 for its burst of 10 (and what its 2/s refills meanwhile) and
    429 for the rest, each 429 with a Retry-After of a whole number of seconds ≥ 1 and one
    refusal line (without its token); all five of the second's fixes get 200 and the second's feed holds its last fix."""

    async def scenario(gw: Running, logs: Logs) -> None:
        _flood_link, flood_token = gw.invite("Flood")
        calm_link, calm_token = gw.invite("Calm")
        flooder, calm = gw.phone(OTHER_ADDRESS), gw.phone(LOOPBACK)
        await flooder.agree(flood_token)
        await calm.agree(calm_token)
        logs.new_refusals()

        async def steady() -> list[Reply]:
            replies = []
            for n in range(5):
                replies.append(await calm.location(calm_token, fix(lat=50 + n)))
                await asyncio.sleep(0.02)
            return replies

        started = time.monotonic()
        flood_task = asyncio.gather(*(flooder.location(flood_token, fix()) for _ in range(70)))
        flood, calm_replies = await asyncio.gather(flood_task, steady())
        refilled = math.ceil(2 * (time.monotonic() - started))  # the link's 2/s meanwhile

        assert [r.status for r in calm_replies] == [200] * 5
        calm_feed = gw.feeds.find(f"caller-{calm_link.id}")
        assert calm_feed is not None
        assert calm_feed.location is not None
        assert calm_feed.location.lat == 54
        statuses = [r.status for r in flood]
        assert set(statuses) == {200, 429}
        assert 10 <= statuses.count(200) <= 10 + refilled, statuses
        for reply in flood:
            if reply.status == 429:
                assert int(reply.headers["Retry-After"]) >= 1
                assert "requests/s" in reply.json()["error"]
                assert_security_headers(reply)
        lines = logs.new_refusals()
        assert len(lines) == statuses.count(429)
        for line in lines:
            assert ": 429 " in line
            assert OTHER_ADDRESS in line
            assert flood_token not in line

    serve(scenario)


def test_access_log_masks_the_token(serve: Serve) -> None:
    """In: a caller opens the page, agrees, posts a fix; an unknown token is fetched.
    Out: aiohttp.access has a line for each request, with the path as /c/… (GET /c/… 200,
    POST /c/…/consent 200, POST /c/…/location 200, GET /c/… 404), and no line holds the
    token, the unknown token or the device secret (checked after the server closed)."""
    lines: list[str] = []

    async def scenario(gw: Running, logs: Logs) -> None:
        _link, token = gw.invite()
        unknown = secrets.token_urlsafe(18)
        gw.secrets.append(unknown)
        phone = gw.phone()
        await phone.agree(token)
        logs.accepted(await phone.location(token, fix()))
        logs.refused(await phone.open(unknown), 404, unknown)
        await asyncio.sleep(0.1)  # the access line follows the answer
        lines.extend(logs.access_lines())

    serve(scenario)
    joined = "\n".join(lines)
    for expected in (
        "GET /c/… 200",
        "POST /c/…/consent 200",
        "POST /c/…/location 200",
        "GET /c/… 404",
    ):
        assert expected in joined, joined
    assert len(lines) >= 4


# -- bugs found -------------------------------------------------------------------------


def test_malformed_media_line_is_400(serve: Serve) -> None:
    """In: a consented caller link; a WHIP offer "v=0\\r\\nm=video\\r\\n" (an m-line with
    no port, protocol or formats).
    Out: 400, one refusal line, like any other offer that is not SDP."""

    async def scenario(gw: Running, logs: Logs) -> None:
        _link, token = gw.invite()
        phone = gw.phone()
        await phone.agree(token)
        logs.new_refusals()
        logs.refused(await phone.whip(token, "v=0\r\nm=video\r\n"), 400, token)

    serve(scenario)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param("[" * 4000, 400, id="nested-4000-deep"),
        pytest.param(fix(lat=10**400), 422, id="integer-beyond-float"),
    ],
)
def test_location_body_that_breaks_the_parser_is_refused(
    serve: Serve, body: str, status: int
) -> None:
    """In: a consented caller posts a location body of 4000 "[" (under 4 KiB), or one whose
    lat is the integer 10**400.
    Out: 400 (not a JSON object) or 422 (out of range) with one refusal line, not a 500."""

    async def scenario(gw: Running, logs: Logs) -> None:
        _link, token = gw.invite()
        phone = gw.phone()
        await phone.agree(token)
        logs.new_refusals()
        logs.refused(await phone.location(token, body), status, token)

    serve(scenario)

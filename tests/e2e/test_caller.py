"""A 999 caller, end to end: a link from `vigil link create`, opened in a real headless
Chromium (fake camera, location set by the test) against the wall's own gateway over
HTTPS on loopback, with the wall read back only through `vigil status` and the database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.harness import RunningVigil, vigil
from tests.phone import LONDON, open_link, phone, phone_browser
from tests.servers import free_port

pytestmark = pytest.mark.network


def write_config(folder: Path, port: int, extra: str = "") -> Path:
    config = folder / "vigil.toml"
    config.write_text(
        "[gateway]\n"
        f'listen = "127.0.0.1:{port}"\n'
        f'public_url = "https://127.0.0.1:{port}"\n'
        'organisation = "Northshire Police control room"\n'
        'ice_addresses = ["127.0.0.1"]\n' + extra
    )
    return config


class Desk:
    """A running wall with a gateway, and the commands an operator would type."""

    def __init__(self, folder: Path, extra: str = "") -> None:
        self.port = free_port()
        self.config = write_config(folder, self.port, extra)
        self.base = folder / "base"
        self.wall = RunningVigil(self.base, ["--config", self.config])
        self.wall.wait_for(lambda s: bool(s["gateway"] and s["gateway"]["listening"]))

    def link(self, *args: str) -> str:
        made = vigil("link", "create", "--config", self.config, "--base-dir", self.base, *args)
        assert made.returncode == 0, made.stderr
        return made.stdout.strip().splitlines()[-1]

    def caller(self, status: dict[str, Any]) -> dict[str, Any] | None:
        callers = [f for f in status["feeds"] if f["kind"] in ("caller", "officer")]
        return callers[0] if callers else None

    def consents(self) -> list[dict[str, Any]]:
        db = sqlite_utils.Database(self.base / "vigil.db")
        return list(db["consents"].rows_where(order_by="id"))


@pytest.fixture
def desk(short_tmp: Path) -> Iterator[Desk]:
    desk = Desk(short_tmp)
    yield desk
    desk.wall.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with phone_browser() as browser:
        yield browser


def test_caller_agrees_streams_and_ends(desk: Desk, browser: Any) -> None:
    """In: a link for "Jane Doe" (incident INC-7), opened by a phone at London's position
    (±8 m), the caller taps Agree, then End.
    Out: `vigil status` shows a caller feed named for Jane, live with frames and the
    phone's exact position and accuracy; after End it is ended "by the caller"; the
    database holds two consent records (agree, withdraw) with the text's hash and the
    browser's user agent."""
    url = desk.link("--name", "Jane Doe", "--incident", "INC-7")
    context, page = open_link(browser, url)
    assert "Northshire Police control room" in page.content()
    page.click("#agree")
    page.wait_for_selector("body[data-state=live]", timeout=15_000)

    status = desk.wall.wait_for(
        lambda s: bool(
            (c := desk.caller(s))
            and c["state"] == "live"
            and c["frames"] > 10
            and c["location"] is not None
        ),
        timeout=20,
    )
    caller = desk.caller(status)
    assert caller is not None
    assert caller["name"].startswith("Jane Doe")
    assert caller["incident"] == "INC-7"
    assert caller["codec"] in ("vp8", "h264")
    assert caller["location"]["lat"] == pytest.approx(LONDON["latitude"], abs=1e-9)
    assert caller["location"]["lon"] == pytest.approx(LONDON["longitude"], abs=1e-9)
    assert caller["location"]["accuracy_m"] == pytest.approx(LONDON["accuracy"])

    page.click("#end")
    page.wait_for_selector("body[data-state=ended]", timeout=10_000)
    status = desk.wall.wait_for(lambda s: desk.caller(s)["state"] == "ended", timeout=10)
    assert "caller ended" in desk.caller(status)["error"]

    records = desk.consents()
    assert [r["answer"] for r in records] == ["agree", "withdraw"]
    assert all(len(r["text_sha256"]) == 64 for r in records)
    assert "Chrome" in records[0]["user_agent"]
    context.close()


def test_decline_shares_nothing(desk: Desk, browser: Any) -> None:
    """In: the caller opens the link and taps Decline.
    Out: the page says declined; the feed is ended "declined" with no frames and no
    location; one consent record, "decline"; reopening the link answers 410."""
    url = desk.link("--name", "Sam")
    context, page = open_link(browser, url)
    page.click("#decline")
    page.wait_for_selector("body[data-state=declined]", timeout=10_000)
    status = desk.wall.wait_for(lambda s: desk.caller(s)["state"] == "ended", timeout=10)
    caller = desk.caller(status)
    assert "declined" in caller["error"]
    assert caller["frames"] == 0
    assert caller["location"] is None
    assert [r["answer"] for r in desk.consents()] == ["decline"]
    assert page.goto(url).status == 410
    context.close()


def test_link_holds_to_its_first_phone_and_survives_a_reload(desk: Desk, browser: Any) -> None:
    """In: phone A opens the link and goes live; phone B opens the same link; phone A
    reloads the page (a dropped connection) and agrees again.
    Out: phone B gets 410 and nothing changes on the wall; phone A streams again on the
    same feed (one caller feed, live, more frames than before); consent was recorded once."""
    url = desk.link("--name", "Alex")
    first, page = open_link(browser, url)
    page.click("#agree")
    page.wait_for_selector("body[data-state=live]", timeout=15_000)
    before = desk.caller(desk.wall.wait_for(lambda s: desk.caller(s)["frames"] > 5, timeout=20))

    second = phone(browser)
    assert second.new_page().goto(url).status == 410
    second.close()

    page.reload()
    page.click("#agree")
    page.wait_for_selector("body[data-state=live]", timeout=15_000)
    after = desk.wall.wait_for(
        lambda s: (
            desk.caller(s)["state"] == "live" and desk.caller(s)["frames"] > before["frames"] + 20
        ),
        timeout=20,
    )
    callers = [f for f in after["feeds"] if f["kind"] == "caller"]
    assert len(callers) == 1
    assert [r["answer"] for r in desk.consents()] == ["agree"]
    first.close()


def test_location_only_link_never_opens_the_camera(desk: Desk, browser: Any) -> None:
    """In: a --location-only link; the caller agrees.
    Out: the position arrives; no video frames and no media session ever exist."""
    url = desk.link("--name", "Pat", "--location-only")
    context, page = open_link(
        browser, url, {"latitude": 53.4808, "longitude": -2.2426, "accuracy": 25}
    )
    page.click("#agree")
    status = desk.wall.wait_for(
        lambda s: bool((c := desk.caller(s)) and c["location"] is not None), timeout=15
    )
    caller = desk.caller(status)
    assert caller["location"]["lat"] == pytest.approx(53.4808)
    assert caller["location"]["accuracy_m"] == pytest.approx(25)
    assert caller["frames"] == 0
    context.close()


def test_h264_when_the_control_room_prefers_it(short_tmp: Path, browser: Any) -> None:
    """In: a gateway configured with video_codec = "h264"; a caller agrees.
    Out: the caller's feed is live in H.264 (Chromium offers both; the answer picks it)."""
    desk = Desk(short_tmp, 'video_codec = "h264"\n')
    try:
        context, page = open_link(browser, desk.link("--name", "Chris"))
        page.click("#agree")
        status = desk.wall.wait_for(
            lambda s: bool((c := desk.caller(s)) and c["frames"] > 5), timeout=20
        )
        assert desk.caller(status)["codec"] == "h264"
        context.close()
    finally:
        desk.wall.stop()


def test_revoked_link_ends_the_stream(desk: Desk, browser: Any) -> None:
    """In: a caller is live; the operator runs `vigil link revoke ID` from another shell.
    Out: the feed ends and the page shows the ended screen (the desk re-reads live links
    every 0.5 s, so within a second; waited for with a generous limit on a busy machine)."""
    url = desk.link("--name", "Robin")
    context, page = open_link(browser, url)
    page.click("#agree")
    desk.wall.wait_for(lambda s: bool((c := desk.caller(s)) and c["frames"] > 5), timeout=20)
    listed = vigil("link", "list", "--json", "--base-dir", desk.base)
    link_id = json.loads(listed.stdout)[0]["id"]
    revoked = vigil("link", "revoke", link_id, "--base-dir", desk.base)
    assert revoked.returncode == 0, revoked.stderr
    desk.wall.wait_for(
        lambda s: any(f["name"].startswith("Robin") and f["state"] == "ended" for f in s["feeds"]),
        timeout=10,
    )
    page.wait_for_selector("body[data-state=ended]", timeout=15_000)
    context.close()


def test_caller_starts_at_720p_and_reports_its_bitrate(desk: Desk, browser: Any) -> None:
    """In: a phone whose camera gives 1280x720 (Chromium's fake camera, asked for 720p),
    with the gateway's default start bitrate in its answer.
    Out: the caller's feed is 1280x720 within seconds of going live (not 360p for the
    first 20 s, which is what Chromium's own 300 kbit/s start gives), and `vigil status`
    shows a bitrate measured from the session, not 0."""
    context, page = open_link(browser, desk.link("--name", "Lee"))
    page.click("#agree")
    status = desk.wall.wait_for(
        lambda s: bool((c := desk.caller(s)) and c["width"] == 1280 and c["bitrate_kbps"] > 300),
        timeout=15,
    )
    assert desk.caller(status)["height"] == 720
    context.close()


def test_agree_is_never_a_dead_button_while_the_page_script_loads(desk: Desk, browser: Any) -> None:
    """In: a link opened by a phone whose network holds the page's script (caller.js) back
    until the test lets it through, as a slow mobile connection would; the caller tries to
    tap Agree meanwhile; then the script arrives and the caller taps Agree.
    Out: while the script is held, Agree and Decline are disabled and the status says the
    page is getting ready (a tap there is refused by the browser, never silently lost);
    once the script has run, both are enabled and the page offers consent; the tap then
    shares: the caller's page goes live and the wall receives frames."""
    url = desk.link("--name", "Sam Slow")
    context = phone(browser)
    page = context.new_page()
    held: list[Any] = []

    def hold(route: Any) -> None:  # Playwright calls a Python function, not a bound builtin
        held.append(route)

    page.route("**/caller/caller.js", hold)
    page.goto(url, wait_until="commit")
    page.wait_for_selector("#agree", state="attached")
    for _ in range(100):  # the page asks for its script as soon as it has read the head
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the phone never asked for caller.js"
    assert page.is_disabled("#agree")
    assert page.is_disabled("#decline")
    assert "Getting the page ready" in (page.text_content("#status") or "")
    with pytest.raises(PlaywrightTimeout):
        page.click("#agree", timeout=500)  # refused: disabled, so nothing pretends to happen
    held[0].continue_()
    page.wait_for_function("() => !document.getElementById('agree').disabled")
    assert not page.is_disabled("#decline")
    assert page.get_attribute("body", "data-state") == "consent"
    page.click("#agree")
    page.wait_for_selector("body[data-state=live]", timeout=15_000)
    desk.wall.wait_for(
        lambda s: any(f["name"].startswith("Sam Slow") and f["frames"] > 5 for f in s["feeds"]),
        timeout=20,
    )
    context.close()

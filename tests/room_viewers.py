"""Viewer links on a real room server, run inside a network namespace the test made
(tests/netns.py), with the room of tests/room_callers.py: `RoomServer` with its managed Janus
and gateway on 10.203.0.1, a headless Chromium phone publishing as a caller, and a second
Chromium context as the viewer.

`python -m tests.room_viewers FOLDER [SHOTS]` prints one JSON line of what it saw: a caller
streams through Janus; a viewer link names the caller, a body cam the server has configured
(unreachable, and not in Janus) and a drone; the viewer's phone opens it and decodes the
caller's video (frames counted on the page); the body cam's reason is stated from the page;
a second device and an unknown token are refused; a malformed and an oversized answer are
refused; the link is revoked and the page cut off. Phone-sized screenshots go to SHOTS.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from app.callers import make_link
from app.config import load
from app.paths import BaseDir
from app.room.server import RoomServer
from tests.phone import CHROMIUM, chromium_args
from tests.room_callers import open_phone, publishers, until, write_config

BODY_CAM, DRONE = "BWV-4521", "Drone 2"
VIEWER_PHONE = {"width": 390, "height": 844}


def write_viewer_config(folder: Path) -> Path:
    """The callers' room config, with a body cam and a drone that never answer (a port
    nothing listens on): feeds the server has but Janus does not."""
    config = write_config(folder)
    with config.open("a") as out:
        for name, kind in ((BODY_CAM, "bodycam"), (DRONE, "drone")):
            out.write(f'\n[[feeds]]\nname = "{name}"\nkind = "{kind}"\n')
            out.write('url = "rtsp://10.203.0.2:9/none"\nrtsp_transport = "tcp"\n')
    return config


async def janus_subscribers(server: RoomServer) -> int:
    """VideoRoom subscriber handles on the room's Janus now, from its admin API."""
    assert server.janus is not None
    assert server.janus.files is not None
    files = server.janus.files
    url = files.admin_url

    async def admin(http: aiohttp.ClientSession, path: str, verb: str) -> dict[str, Any]:
        body = {
            "janus": verb,
            "transaction": secrets.token_hex(6),
            "admin_secret": files.admin_secret,
        }
        async with http.post(url + path, json=body) as response:
            answer: dict[str, Any] = await response.json(content_type=None)
            return answer

    count = 0
    async with aiohttp.ClientSession() as http:
        for session in (await admin(http, "", "list_sessions")).get("sessions", []):
            handles = (await admin(http, f"/{session}", "list_handles")).get("handles", [])
            for handle in handles:
                info = (await admin(http, f"/{session}/{handle}", "handle_info")).get("info", {})
                if info.get("plugin_specific", {}).get("type") == "subscriber":
                    count += 1
    return count


def custody(base: Path, link_id: str) -> list[dict[str, Any]]:
    with sqlite3.connect(base / "vigil.db") as db:
        rows = db.execute(
            "SELECT action, subject, actor, details FROM custody "
            "WHERE action IN ('view_opened', 'view_closed') ORDER BY id"
        ).fetchall()
    entries = [{"action": a, "subject": s, "actor": who, **json.loads(d)} for a, s, who, d in rows]
    return [e for e in entries if e.get("link") == link_id]


async def viewer_context(browser: Any) -> Any:
    return await browser.new_context(
        viewport=VIEWER_PHONE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        ignore_https_errors=True,
    )


async def tiles(page: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await page.evaluate("window.vigilViewer.tiles()")
    return found


async def viewer(server: RoomServer, browser: Any, shots: Path | None) -> dict[str, Any]:
    assert server.gateway is not None
    desk = server.gateway.desk
    out: dict[str, Any] = {}
    caller, url = desk.invite(name="Jane Doe", incident="INC-0412")
    phone, phone_page, _ = await open_phone(browser, url)
    await phone_page.click("#agree")
    await phone_page.wait_for_selector("body[data-state=live]", timeout=20_000)
    await until(lambda: _published(server, caller.feed_name), 10)

    link, view_url = make_link(
        desk.links,
        desk.settings,
        name="Supt. Ward",
        viewer=True,
        incident="INC-0412",
        feeds=(caller.feed_name, BODY_CAM, DRONE),
    )
    out["link"] = {"id": link.id, "kind": link.kind.value, "feeds": list(link.feeds)}
    out["url_path"] = view_url.split("/", 3)[3].split("/")[0]

    context = await viewer_context(browser)
    page = await context.new_page()
    opened = time.monotonic()
    response = await page.goto(view_url)
    out["page_status"] = response.status if response else None
    await page.wait_for_function(
        "() => window.vigilViewer && window.vigilViewer.tiles()[0].frames >= 30", timeout=20_000
    )
    out["first_frame_s"] = round(time.monotonic() - opened, 2)
    shown = await tiles(page)
    out["first_frame_page_ms"] = shown[0]["firstFrameMs"]
    await asyncio.sleep(2.5)  # a status tick or two, and frames going on
    out["tiles"] = await tiles(page)
    out["said"] = await page.eval_on_selector_all(
        ".tile", "els => els.map(e => [e.dataset.state, e.querySelector('.said').textContent])"
    )
    out["video_size"] = await page.evaluate(
        "(() => { const v = document.querySelector('video'); return [v.videoWidth, v.videoHeight] })()"
    )
    out["subscribers_watching"] = await janus_subscribers(server)
    out["viewings"] = server.gateway.gateway.viewers.viewings()  # type: ignore[union-attr]
    if shots is not None:
        await page.screenshot(path=str(shots / "viewer-live.png"))
        await page.screenshot(path=str(shots / "viewer-live-full.png"), full_page=True)

    # The body cam: its shutter, a reason refused, then one accepted.
    shutter = page.locator(".tile[data-index='1'] .shutter")
    out["shutter_visible"] = await shutter.is_visible()
    if shots is not None:
        await page.locator(".tile[data-index='1']").screenshot(
            path=str(shots / "viewer-shutter.png")
        )
    await shutter.locator(".ask").click()
    if shots is not None:
        await page.locator(".tile[data-index='1']").screenshot(
            path=str(shots / "viewer-reasons.png")
        )
    await shutter.locator("input[value^='Other']").check()
    await shutter.locator(".open").click()
    await page.wait_for_function(
        "() => document.querySelector(\".tile[data-index='1'] .shutter-error\").textContent"
    )
    out["reason_refused"] = await shutter.locator(".shutter-error").text_content()
    await shutter.locator("input[value^='Live incident']").check()
    await shutter.locator(".open").click()
    await page.wait_for_selector(".tile[data-index='1'] .chip:not([hidden])", timeout=5_000)
    out["chip"] = await page.locator(".tile[data-index='1'] .chip").text_content()
    out["shuttered_after"] = (await tiles(page))[1]["shuttered"]

    # Bad input from the page's own origin (its cookie: the holder's requests).
    out["bad"] = await page.evaluate(
        """async () => {
            const post = async (path, type, body) => {
                const r = await fetch(location.pathname + path, {method: "POST",
                    headers: {"Content-Type": type}, body});
                return [r.status, (await r.text()).slice(0, 200)];
            };
            return {
                not_sdp: await post("/watch/nonesuch", "application/sdp", "hello"),
                oversized: await post("/watch/x", "application/sdp", "v=0\\r\\n" + "a".repeat(70000)),
                not_json: await post("/watch", "application/json", "{feed"),
                no_feed: await post("/watch", "application/json", JSON.stringify({feed: 7})),
                drone: await post("/watch", "application/json", JSON.stringify({feed: 2})),
            };
        }"""
    )
    async with aiohttp.ClientSession() as http:
        base_url = view_url.rsplit("/v/", 1)[0]
        async with http.get(view_url, ssl=False) as second:
            out["second_device"] = second.status
        async with http.get(f"{base_url}/v/{secrets.token_urlsafe(18)}", ssl=False) as unknown:
            out["unknown"] = unknown.status
        caller_token = url.rsplit("/", 1)[1]
        async with http.get(f"{base_url}/v/{caller_token}", ssl=False) as wrong:
            out["caller_token_as_viewer"] = wrong.status

    # Revocation: the page is cut off and says so; Janus keeps no subscriber for it.
    revoked = time.monotonic()
    desk.links.revoke(link.id)  # as `vigil link revoke` does, from any process
    await page.wait_for_selector("body[data-state=ended]", timeout=10_000)
    out["cut_off_s"] = round(time.monotonic() - revoked, 2)
    frames_before = (await tiles(page))[0]["frames"]
    left = await until(lambda: _no_subscribers(server), 5)
    out["subscribers_gone_s"] = round(time.monotonic() - revoked, 2) if left else None
    await asyncio.sleep(1.0)
    out["frames_after_cut"] = (await tiles(page))[0]["frames"] - frames_before
    out["ended_text"] = await page.locator(".ended h1").text_content()
    if shots is not None:
        await page.screenshot(path=str(shots / "viewer-ended.png"))
    async with aiohttp.ClientSession() as http, http.get(view_url, ssl=False) as after:
        out["after_revoke"] = after.status
    out["custody"] = custody(server.base.root, link.id)
    out["caller"] = caller.feed_name
    await context.close()
    await phone.close()
    return out


async def _published(server: RoomServer, name: str) -> bool:
    return name in await publishers(server)


async def _no_subscribers(server: RoomServer) -> bool:
    return await janus_subscribers(server) == 0


async def main(folder: Path, shots: Path | None) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    base = BaseDir(folder / "base").ensure()
    server = RoomServer(load(write_viewer_config(folder)), base)
    await server.start()
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[*chromium_args(), "--disable-features=WebRtcHideLocalIpsWithMdns"],
            )
            try:
                return await viewer(server, browser, shots)
            finally:
                await browser.close()
    finally:
        await server.close()


if __name__ == "__main__":
    shots_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    print(json.dumps(asyncio.run(main(Path(sys.argv[1]), shots_dir))), flush=True)

"""Callers on a real room server, run inside a network namespace the test made
(tests/netns.py): `RoomServer` with its managed Janus and its caller gateway on 10.203.0.1,
and a headless Chromium phone that opens a link and agrees.

`python -m tests.room_callers FOLDER SCENARIO` prints one JSON line of what it saw:

- `record`: a caller streams until two segments are recorded, then presses End; a second
  caller streams and has their link revoked; the server is stopped. Says what the server
  showed (feed status, Janus's publishers, which media sessions were made), how soon Janus
  lost each publisher, and what is on disk and in the ledger.
- `faults`: Janus is stopped before the caller agrees, so the phone's offers are answered
  503; a malformed offer is sent from the phone's page; Janus is started again and the
  phone's own retry goes live and is recorded.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av

import app.callers.gateway.desk as desk_module
from app.callers.gateway.whip import WhipSession
from app.config import load
from app.paths import BaseDir
from app.room.server import RoomServer
from tests.netns import SERVER_ADDRESS
from tests.phone import CHROMIUM, LONDON, chromium_args

GATEWAY_PORT, API_PORT = 8443, 8444
made_here: list[str] = []
"""The WHIP sessions aiortc answered in this process (none, when Janus takes the phone)."""


class CountedWhipSession(WhipSession):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        made_here.append(self.id)


setattr(desk_module, "WhipSession", CountedWhipSession)  # noqa: B010 (mypy: not exported)


def write_config(folder: Path) -> Path:
    config = folder / "vigil.toml"
    config.write_text(
        f'[server]\nlisten = "127.0.0.1:{API_PORT}"\n\n'
        '[sfu]\napi_port = 8088\nadmin_port = 7088\nrtp_ports = "33000-33200"\n\n'
        "[gateway]\n"
        f'listen = "{SERVER_ADDRESS}:{GATEWAY_PORT}"\n'
        f'public_url = "https://{SERVER_ADDRESS}:{GATEWAY_PORT}"\n'
        f'ice_addresses = ["{SERVER_ADDRESS}"]\n\n'
        "[recording]\nsegment_seconds = 2\n"
    )
    return config


async def until(check: Callable[[], Any], timeout: float, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(step)


def caller_status(server: RoomServer, name: str) -> dict[str, Any]:
    status = server.status()
    feed: dict[str, Any] = next((f for f in status["feeds"] if f["name"] == name), {})
    return {"feed": feed, "recording": status["recording"]["feeds"].get(name, {})}


async def publishers(server: RoomServer) -> list[str]:
    assert server.room is not None
    try:
        return [str(p.get("display")) for p in await server.room.publishers()]
    except Exception as exc:  # Janus down: say so rather than fail the run
        return [f"error: {exc}"]


def on_disk(base: Path, name: str) -> dict[str, Any]:
    """The caller's segments as files (codec, frames a decoder finds) and ledger rows."""
    files = sorted((base / "recordings").glob(f"*/{'*'}.ts"))
    mine = [p for p in files if p.parent.name == name]
    codecs, frames = set(), []
    for path in mine:
        with av.open(str(path)) as container:
            video = container.streams.video[0]
            codecs.add(video.codec_context.name)
            frames.append(sum(1 for _ in container.decode(video)))
    with sqlite3.connect(base / "vigil.db") as db:
        rows = db.execute("SELECT COUNT(*) FROM segments WHERE feed_name = ?", (name,))
        ledger = rows.fetchone()[0]
    return {"segments": len(mine), "codecs": sorted(codecs), "frames": frames, "ledger": ledger}


async def open_phone(browser: Any, url: str) -> tuple[Any, Any, list[int]]:
    context = await browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        geolocation=LONDON,
        permissions=["geolocation", "camera"],
        ignore_https_errors=True,
    )
    page = await context.new_page()
    whip: list[int] = []
    page.on(
        "response",
        lambda r: (
            whip.append(r.status)
            if r.url.endswith("/whip") and r.request.method == "POST"
            else None
        ),
    )
    for attempt in range(5):
        try:
            await page.goto(url)
            break
        except Exception as exc:  # the veth's addresses settling: Chromium says so once
            if "ERR_NETWORK_CHANGED" not in str(exc) or attempt == 4:
                raise
            await asyncio.sleep(0.5)
    return context, page, whip


async def record(server: RoomServer, browser: Any) -> dict[str, Any]:
    assert server.gateway is not None
    desk = server.gateway.desk
    out: dict[str, Any] = {}
    link, url = desk.invite(name="Jane Doe")
    context, page, _ = await open_phone(browser, url)
    await page.click("#agree")
    await page.wait_for_selector("body[data-state=live]", timeout=20_000)
    name = link.feed_name
    await until(lambda: caller_status(server, name)["recording"].get("segments", 0) >= 2, 30)
    out["live"] = caller_status(server, name)
    out["publishers_live"] = await publishers(server)
    out["session"] = type(desk._calls[link.id].session).__name__
    started = time.monotonic()
    await page.click("#end")
    await page.wait_for_selector("body[data-state=ended]", timeout=10_000)
    gone = await until(lambda: _without(server, name), 10)
    out["hang_up"] = {"gone": bool(gone), "after_s": round(time.monotonic() - started, 2)}
    await until(lambda: caller_status(server, name)["feed"].get("state") == "ended", 5)
    out["ended"] = caller_status(server, name)["feed"]
    await context.close()

    second, url = desk.invite(name="John Roe")
    context, page, _ = await open_phone(browser, url)
    await page.click("#agree")
    await page.wait_for_selector("body[data-state=live]", timeout=20_000)
    out["publishers_second"] = await publishers(server)
    started = time.monotonic()
    await desk.revoke(second.id)
    cut = time.monotonic() - started
    gone = await until(lambda: _without(server, second.feed_name), 10)
    out["revoked"] = {
        "gone": bool(gone),
        "cut_s": round(cut, 2),
        "after_s": round(time.monotonic() - started, 2),
    }
    await until(lambda: caller_status(server, second.feed_name)["feed"].get("state") == "ended", 5)
    out["revoked"]["feed"] = caller_status(server, second.feed_name)["feed"]
    await context.close()
    out["whip_sessions_made_here"] = len(made_here)
    out["caller"] = name
    return out


async def _without(server: RoomServer, name: str) -> bool:
    return name not in await publishers(server)


async def faults(server: RoomServer, browser: Any) -> dict[str, Any]:
    assert server.gateway is not None
    assert server.janus is not None
    desk = server.gateway.desk
    out: dict[str, Any] = {}
    await server.janus.stop()
    link, url = desk.invite(name="Jane Doe")
    context, page, whip = await open_phone(browser, url)
    await page.click("#agree")
    await until(lambda: 503 in whip, 20)
    out["whip_while_down"] = list(whip)
    out["malformed"] = await page.evaluate(
        """async () => {
            const r = await fetch(location.pathname + "/whip", {method: "POST",
                headers: {"Content-Type": "application/sdp"}, body: "v=0\\r\\nm=video\\r\\n"});
            return [r.status, await r.text()];
        }"""
    )
    out["link_while_down"] = desk.links.get(link.id).state.value
    out["feed_while_down"] = caller_status(server, link.feed_name)["feed"].get("state")
    await server.janus.start()
    await server._open_room()
    await page.wait_for_selector("body[data-state=live]", timeout=30_000)
    name = link.feed_name
    await until(lambda: caller_status(server, name)["recording"].get("segments", 0) >= 1, 20)
    out["after"] = caller_status(server, name)
    out["whip"] = list(whip)
    out["publishers"] = await publishers(server)
    await context.close()
    return out


async def main(folder: Path, scenario: str) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    base = BaseDir(folder / "base").ensure()
    server = RoomServer(load(write_config(folder)), base)
    await server.start()
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[*chromium_args(), "--disable-features=WebRtcHideLocalIpsWithMdns"],
            )
            try:
                if scenario == "record":
                    out = await record(server, browser)
                else:
                    out = await faults(server, browser)
            finally:
                await browser.close()
    finally:
        await server.close()  # the open segments close whole
    if scenario == "record":
        out["disk"] = on_disk(base.root, out["caller"])
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))), flush=True)

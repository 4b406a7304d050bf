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
- `janus_dies`: a caller streams through Janus, and two desks signed in to the server decode
  it from the server's restream; Janus is killed (SIGKILL, its pid from the server's
  status). Says how soon, after the kill, Janus ran again, the room was reopened, the phone
  offered again and was answered, its connection was up, a packet of it reached the
  recorder, its feed was live and each desk decoded a picture again; and what was
  recorded after the gap.
- `desks`: three callers one after another, each seen by two desks (a supervisor's and an
  operator's) in GET /api/v1/room and decoded from the server's restream. Says, for each,
  how soon after Agree each desk listed the caller and decoded its first picture, and its
  size, while the server decoded nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import av

import app.callers.gateway.desk as desk_module
from app.access.accounts import AccountBook
from app.access.roles import Role
from app.callers.gateway.whip import WhipSession
from app.config import RoomSettings, load
from app.database import open_database
from app.evidence import CustodyLog
from app.paths import BaseDir
from app.room.client import RoomClient
from app.room.desk_feeds import RoomRelay, room_feed_spec
from app.room.server import RoomServer
from media.live import Feed, FeedSource
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


def find_feed(server: RoomServer, name: str) -> Feed | None:
    return next((f for f in server.feeds.feeds if f.name == name), None)


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


PEER_LOG = """
(() => {
  window.__peerLog = [];
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    const n = window.__peerLog.filter((e) => e[1] === "new").length;
    window.__peerLog.push([Date.now(), "new", n]);
    pc.addEventListener("connectionstatechange", () =>
      window.__peerLog.push([Date.now(), pc.connectionState, n]));
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
})();
"""
"""Each of the page's peer connections and its states, with the wall-clock time (ms)."""


async def open_phone(
    browser: Any, url: str, whip_at: list[float] | None = None
) -> tuple[Any, Any, list[int]]:
    """A phone on `url`: its context, its page, and the status of each WHIP offer it made
    (with the time.time() of each in `whip_at`, if given)."""
    context = await browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        geolocation=LONDON,
        permissions=["geolocation", "camera"],
        ignore_https_errors=True,
    )
    await context.add_init_script(PEER_LOG)
    page = await context.new_page()
    whip: list[int] = []

    def on_response(response: Any) -> None:
        if response.url.endswith("/whip") and response.request.method == "POST":
            whip.append(response.status)
            if whip_at is not None:
                whip_at.append(time.time())

    page.on("response", on_response)
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


PASSWORDS = {"chief": "chief-of-the-room", "ann": "ann-at-the-wall", "olly": "olly-takes-calls"}
ROLES = {"chief": Role.ADMIN, "ann": Role.SUPERVISOR, "olly": Role.OPERATOR}
"""The room's people: an admin (so the server is out of setup mode), the supervisor at the
wall and a call handler, each able to watch feeds."""


def add_people(base: BaseDir) -> None:
    db = open_database(base.database)
    try:
        book = AccountBook(db, CustodyLog(db))
        for user, role in ROLES.items():
            book.add(user, role, by="test", password=PASSWORDS[user])
    finally:
        db.close()


class PacketClock:
    """A tap on a feed beside its recorder: when each of its packets went by."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def begin(self, streams: Any) -> None:
        pass

    def put(self, packet: Any) -> None:
        self.times.append(time.monotonic())

    def end(self) -> None:
        pass

    def first_after(self, moment: float) -> float | None:
        return next((t for t in self.times if t > moment), None)


class RoomDesk:
    """One desk of the room as the tests play it: a `RoomClient` signed in as `user`, which
    reads GET /api/v1/room every `POLL_S` (as app/room/desk.py does) and decodes a feed it
    finds there from the server's restream (`RoomRelay` into a `FeedSource`)."""

    POLL_S = 2.0

    def __init__(self, server: RoomServer, user: str) -> None:
        assert server.fingerprint is not None
        self.user = user
        self.client = RoomClient(RoomSettings(f"https://127.0.0.1:{API_PORT}", server.fingerprint))
        self.feed: Feed | None = None
        self.source: FeedSource | None = None

    async def sign_in(self) -> None:
        await asyncio.to_thread(self.client.sign_in, self.user, PASSWORDS[self.user])

    async def listed(self, name: str) -> dict[str, Any] | None:
        room = await asyncio.to_thread(self.client.room)
        return next((f for f in room["feeds"] if f["name"] == name), None)

    async def follow(self, name: str, timeout: float = 20) -> float | None:
        """Poll the room every `POLL_S` until `name` is listed, then decode it; when it was
        listed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            listed = await self.listed(name)
            if listed is not None:
                seen = time.monotonic()
                self.watch(listed)
                return seen
            await asyncio.sleep(self.POLL_S)
        return None

    def watch(self, listed: dict[str, Any]) -> None:
        self.feed = Feed(room_feed_spec(listed, self.client.server), feed_id=str(listed["id"]))
        relay = RoomRelay(self.client, str(listed["id"]), name=self.feed.name)
        self.source = FeedSource(self.feed, relay=relay)
        self.source.start()

    @property
    def frames(self) -> int:
        return self.feed.stats.frames if self.feed is not None else 0

    def size(self) -> list[int | None]:
        stats = self.feed.stats if self.feed is not None else None
        return [stats.width, stats.height] if stats is not None else [None, None]

    def stop(self) -> None:
        if self.source is not None:
            self.source.stop()
        self.feed = self.source = None


async def _after(delay: float, then: Any) -> Any:
    await asyncio.sleep(delay)
    return await then


def recorded(base: Path, name: str) -> int:
    """The caller's segments in the ledger now."""
    with sqlite3.connect(base / "vigil.db") as db:
        rows = db.execute("SELECT COUNT(*) FROM segments WHERE feed_name = ?", (name,))
        return int(rows.fetchone()[0])


def since(moment: float | None, start: float) -> float | None:
    return round(moment - start, 2) if moment is not None else None


async def janus_dies(server: RoomServer, browser: Any) -> dict[str, Any]:
    assert server.gateway is not None
    assert server.janus is not None
    out: dict[str, Any] = {}
    desks = [RoomDesk(server, "ann"), RoomDesk(server, "olly")]
    for desk in desks:
        await desk.sign_in()
    link, url = server.gateway.desk.invite(name="Jane Doe")
    name = link.feed_name
    whip_at: list[float] = []
    context, page, whip = await open_phone(browser, url, whip_at)
    await page.click("#agree")
    await page.wait_for_selector("body[data-state=live]", timeout=20_000)
    feed = next(f for f in server.feeds.feeds if f.name == name)
    clock = PacketClock()
    feed.packet_taps = (*feed.packet_taps, clock)
    for desk in desks:
        listed = await desk.listed(name)
        assert listed is not None, f"{desk.user}'s desk does not list {name}"
        desk.watch(listed)
    await until(lambda: all(d.frames >= 5 for d in desks), 20)
    await until(lambda: caller_status(server, name)["recording"].get("segments", 0) >= 1, 20)
    out["before"] = {
        "frames": [d.frames for d in desks],
        "segments": recorded(server.base.root, name),
    }

    old_pid = server.janus.pid
    old_session = server.session
    assert old_pid is not None
    out["janus_pid"] = server.status()["room"]["janus"]["pid"] == old_pid
    killed, killed_wall = time.monotonic(), time.time()
    os.kill(old_pid, signal.SIGKILL)
    call = server.gateway.desk._calls[link.id]
    old_media = call.session
    seen: dict[str, float | None] = dict.fromkeys(
        ("janus_running", "room_open", "feed_left_live", "republished", "packet", "feed_live")
    )
    desk_again: list[float | None] = [None, None]
    desk_last = [d.frames for d in desks]
    deadline = killed + 40
    while time.monotonic() < deadline:
        now = time.monotonic()
        pid = server.janus.pid
        if seen["janus_running"] is None and pid is not None and pid != old_pid:
            seen["janus_running"] = now
        if (
            seen["room_open"] is None
            and server.room is not None
            and server.session
            not in (
                None,
                old_session,
            )
        ):
            seen["room_open"] = now
        if seen["republished"] is None and call.session not in (None, old_media):
            seen["republished"] = now
        state = caller_status(server, name)["feed"].get("state")
        if seen["feed_left_live"] is None and state != "live":
            seen["feed_left_live"] = now
        if seen["republished"] is not None:  # not the old reader's last buffered packets
            seen["packet"] = seen["packet"] or clock.first_after(seen["republished"])
            if seen["feed_live"] is None and state == "live":
                seen["feed_live"] = now
        for i, desk in enumerate(desks):
            if seen["packet"] is None:
                desk_last[i] = desk.frames
            elif desk_again[i] is None and desk.frames > desk_last[i]:
                desk_again[i] = now
        if all(v is not None for v in seen.values()) and None not in desk_again:
            break
        await asyncio.sleep(0.05)
    out["after_kill_s"] = {key: since(value, killed) for key, value in seen.items()}
    out["after_kill_s"]["desks_decoding"] = [since(t, killed) for t in desk_again]
    out["whip_after_kill"] = [
        [status, round(at - killed_wall, 2)]
        for status, at in zip(whip, whip_at, strict=True)
        if at > killed_wall
    ]
    log = await page.evaluate("window.__peerLog")
    out["peer_after_kill"] = [
        [round(at / 1000 - killed_wall, 2), state, n]
        for at, state, n in log
        if at / 1000 > killed_wall
    ]
    out["peer_log"] = len(log)
    out["page_state"] = await page.get_attribute("body", "data-state")
    segments_at_packet = recorded(server.base.root, name)
    await until(lambda: recorded(server.base.root, name) > segments_at_packet, 15)
    out["janus"] = {
        k: v for k, v in server.status()["room"]["janus"].items() if k in ("restarts", "running")
    }
    out["publishers"] = await publishers(server)
    out["feed"] = caller_status(server, name)["feed"]
    out["desk_frames"] = [d.frames for d in desks]
    out["caller"] = name
    for desk in desks:
        desk.stop()
    await context.close()
    return out


async def desks(server: RoomServer, browser: Any, callers: int = 3) -> dict[str, Any]:
    assert server.gateway is not None
    out: dict[str, Any] = {"callers": []}
    watching = [RoomDesk(server, "ann"), RoomDesk(server, "olly")]
    for desk in watching:
        await desk.sign_in()
    for n in range(callers):
        link, url = server.gateway.desk.invite(name=f"Caller {n + 1}")
        name = link.feed_name
        whip_at: list[float] = []
        context, page, whip = await open_phone(browser, url, whip_at)
        # The desks poll the room every 2 s from before Agree, each in its own phase.
        following = [
            asyncio.ensure_future(_after(0.7 * (n + i), d.follow(name)))
            for i, d in enumerate(watching)
        ]
        await asyncio.sleep(0.5)
        agreed, agreed_wall = time.monotonic(), time.time()
        await page.click("#agree")
        clock = PacketClock()
        feed = await until(partial(find_feed, server, name), 5)
        feed.packet_taps = (*feed.packet_taps, clock)
        listed_at = await asyncio.gather(*following)
        pictured: list[float | None] = [None, None]

        def pictures(pictured: list[float | None] = pictured) -> bool:
            for i, desk in enumerate(watching):
                if pictured[i] is None and desk.frames >= 1:
                    pictured[i] = time.monotonic()
            return None not in pictured

        await until(pictures, 20, step=0.02)
        await until(lambda: all(d.frames >= 10 for d in watching), 10)
        await page.wait_for_selector("body[data-state=live]", timeout=10_000)
        status = caller_status(server, name)["feed"]
        peers = await page.evaluate("window.__peerLog")
        phone = await page.evaluate(
            "(() => { const s = app.track.getSettings(); return [s.width, s.height]; })()"
        )
        out["callers"].append(
            {
                "name": name,
                "listed_s": [since(t, agreed) for t in listed_at],
                "first_frame_s": [since(t, agreed) for t in pictured],
                "whip_201_s": [round(t - agreed_wall, 2) for t in whip_at],
                "whip": whip,
                "connected_s": next(
                    (
                        round(at / 1000 - agreed_wall, 2)
                        for at, state, _ in peers
                        if state == "connected"
                    ),
                    None,
                ),
                "server_packet_s": since(clock.first_after(agreed), agreed),
                "desk_frames": [d.frames for d in watching],
                "desk_sizes": [d.size() for d in watching],
                "desk_states": [d.feed.state().value if d.feed else None for d in watching],
                "phone_size": phone,
                "server": {k: status.get(k) for k in ("state", "codec", "decoding", "frames")},
                "restream": status.get("restream"),
            }
        )
        await page.click("#end")
        await page.wait_for_selector("body[data-state=ended]", timeout=10_000)
        for desk in watching:
            desk.stop()
        await context.close()
    return out


async def main(folder: Path, scenario: str) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    base = BaseDir(folder / "base").ensure()
    add_people(base)
    server = RoomServer(load(write_config(folder)), base)
    await server.start()
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[*chromium_args(), "--disable-features=WebRtcHideLocalIpsWithMdns"],
            )
            try:
                scenarios = {
                    "record": record,
                    "faults": faults,
                    "janus_dies": janus_dies,
                    "desks": desks,
                }
                out = await scenarios[scenario](server, browser)
            finally:
                await browser.close()
    finally:
        await server.close()  # the open segments close whole
    if scenario in ("record", "janus_dies"):
        out["disk"] = on_disk(base.root, out["caller"])
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))), flush=True)

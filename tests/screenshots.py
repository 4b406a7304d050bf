"""Writes the README's pictures of the supervisor's wall and of a wall in trouble:
`python -m tests.screenshots`.

The real instance (the demo feeds, recording, the map) on Qt's offscreen platform with the
two virtual screens of tests/screens.json and `[wall] screens = "all"`: the drones and two
callers sent to screen 2 in 2x2, one body cam opened for a stated reason, the rest shuttered. It writes
docs/supervisor-wall.png (screen 1, the supervisor's window) and docs/wall-screen-2.png.

`python -m tests.screenshots caller` writes docs/wall-caller.png: a caller desk (the wall
with a gateway, in process, on the Qt loop through qasync as `vigil run` runs it) with one
live caller, a headless Chromium with a 1280x720 fake camera at a fix of ±8 m.

Then docs/trouble.png: `vigil snapshot` of a 2x2 wall whose feeds are a looping clip (live),
a camera whose server refuses (reconnecting), a drone's UDP port nobody sends to
(connecting) and a body cam whose source does not exist (failed, said through its shutter).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs"


def trouble() -> None:
    """docs/trouble.png: what trouble looks like beside a live feed, as `vigil snapshot`."""
    import socket
    import subprocess

    from tests.e2e.test_configured_feeds import write_clip

    work = Path(tempfile.mkdtemp(prefix="vigil-trouble-"))
    clip = work / "market.mp4"
    write_clip(clip, seconds=4)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        silent = probe.getsockname()[1]
    config = work / "vigil.toml"
    config.write_text(
        '[wall]\nlayout = "2x2"\n\n'
        f'[[feeds]]\nname = "Camera 3 · Market St"\nurl = "{clip}"\nloop = true\n\n'
        '[[feeds]]\nname = "Camera 7 · Ouse Bridge"\nurl = "rtsp://127.0.0.1:9/live"\n\n'
        f'[[feeds]]\nname = "Drone Charlie"\nkind = "drone"\nurl = "udp://127.0.0.1:{silent}"\n\n'
        f'[[feeds]]\nname = "BWV-4780"\nkind = "bodycam"\nurl = "{work}/bwv-4780.ts"\n',
        encoding="utf-8",
    )
    out = DOCS / "trouble.png"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "snapshot",
            "--config",
            str(config),
            "--size",
            "1280x720",
            "--after",
            "6",
            "--out",
            str(out),
            "--base-dir",
            str(work / "base"),
        ],
        check=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    print(f"wrote {out}")


def wall_caller() -> None:
    """docs/wall-caller.png: a live caller in the wall's big cell, with the incident, the
    picture's size and codec, and the GPS fix's accuracy and age."""
    import asyncio
    import threading

    import qasync

    from app.instance import Options, _compose
    from tests.phone import open_link, phone_browser
    from tests.servers import free_port

    os.environ.setdefault("QT_QUICK_BACKEND", "software")
    work = Path(tempfile.mkdtemp(prefix="vigil-caller-shot-"))
    port = free_port()
    config = work / "vigil.toml"
    config.write_text(
        '[wall]\nlayout = "auto"\n\n'
        f'[gateway]\nlisten = "127.0.0.1:{port}"\npublic_url = "https://127.0.0.1:{port}"\n'
        'organisation = "Northshire Police control room"\n',
        encoding="utf-8",
    )
    _, app, instance, window = _compose(
        Options(config=config, base_dir=work / "base"), offscreen=True
    )
    window.resize(1280, 800)
    gateway = instance.gateway
    assert gateway is not None
    hang_up = threading.Event()

    def phone(url: str) -> None:
        york = {"latitude": 53.9599, "longitude": -1.0873, "accuracy": 8}
        with phone_browser() as browser:
            context, page = open_link(browser, url, york)
            page.click("#agree")
            page.wait_for_selector("body[data-state=live]", timeout=30_000)
            hang_up.wait(60)
            context.close()

    async def shoot() -> None:
        instance.start()
        await gateway.start()
        window.show()
        _, url = gateway.desk.invite(name="Sam Okafor", incident="INC-2417", created_by="docs")
        caller = threading.Thread(target=phone, args=(url,), daemon=True)
        caller.start()
        for _ in range(600):
            feeds = [f for f in instance.feeds.feeds if f.stats.frames > 90]
            if feeds and feeds[0].location is not None and feeds[0].stats.height >= 720:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)
        window.grab().save(str(DOCS / "wall-caller.png"), "PNG")
        hang_up.set()
        caller.join(20)
        await gateway.close()
        instance.stop()

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(shoot())
    print(f"wrote {DOCS / 'wall-caller.png'}")


def main() -> int:
    if sys.argv[1:] == ["caller"]:
        wall_caller()
        return 0
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={HERE / 'screens.json'}"
    os.environ.setdefault("QT_QUICK_BACKEND", "software")
    from PySide6.QtCore import QTimer

    from app.access.bodycam import stated_reason
    from app.instance import Options, _compose

    work = Path(tempfile.mkdtemp(prefix="vigil-shots-"))
    config = work / "vigil.toml"
    config.write_text('[wall]\nscreens = "all"\nlayout = "3x3"\n', encoding="utf-8")
    _, app, instance, window = _compose(
        Options(config=config, base_dir=work / "base", demo=True), offscreen=True
    )
    instance.start()
    window.show()

    def arrange() -> None:
        screens = window.screens
        for name in ("Drone Alpha", "Drone Bravo", "Caller · Priya N", "Caller · Tom H"):
            screens.send(name, 2)
        screens.set_layout(2, "2x2")
        tile = window.wall.tile_of("BWV-4533")
        assert tile is not None
        window.bodycams.open_for(
            tile.feed, stated_reason("Officer asked for support", "", "INC-0412")
        )
        screens.save_preset("Incident 0412")

    def take() -> None:
        window.grab().save(str(DOCS / "supervisor-wall.png"), "PNG")
        window.screens.windows[0].grab().save(str(DOCS / "wall-screen-2.png"), "PNG")
        app.quit()

    QTimer.singleShot(3000, arrange)
    QTimer.singleShot(9000, take)
    try:
        app.exec()
    finally:
        window.close()
        instance.stop()
    print(f"wrote {DOCS / 'supervisor-wall.png'} and {DOCS / 'wall-screen-2.png'}")
    trouble()
    return 0


if __name__ == "__main__":
    sys.exit(main())

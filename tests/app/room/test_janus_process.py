"""The managed Janus (app/room/janus_process.py, app/room/janus_config.py): Debian's real
`janus` started from a config Vigil writes under a temporary base dir, on loopback ports of
its own, talked to through its real HTTP API (app/room/janus_api.py)."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from app.room.janus_api import JanusError, JanusSession
from app.room.janus_config import JanusSettings
from app.room.janus_process import JanusProcess, JanusStartError
from tests.servers import free_port


def settings() -> JanusSettings:
    return JanusSettings(api_port=free_port(), admin_port=free_port(), rtp_ports=(31000, 31100))


def test_janus_runs_videoroom_and_http_alone_behind_a_secret(tmp_path: Path) -> None:
    """In: a JanusProcess started in a fresh folder. Out: Janus answers `info` with exactly
    the VideoRoom plugin and the HTTP transport (Debian's samples, mqtt and lua among them,
    are not loaded); the folder is 0700 and each config file 0600; the API is bound to
    127.0.0.1; a session with the right secret creates a VideoRoom room and lists it, one
    with a wrong secret is refused; after stop() nothing runs."""

    async def run() -> None:
        janus = JanusProcess(tmp_path / "janus", settings(), tmp_path / "janus.log")
        await janus.start()
        try:
            assert janus.files is not None
            assert janus.pid is not None
            assert stat.S_IMODE(os.stat(janus.folder).st_mode) == 0o700
            for config in janus.folder.iterdir():
                assert stat.S_IMODE(config.stat().st_mode) == 0o600, config
            assert '\tip = "127.0.0.1"' in (janus.folder / "janus.transport.http.jcfg").read_text()
            async with JanusSession(janus.files.api_url, janus.files.api_secret) as session:
                info = await session.info()
                assert sorted(info["plugins"]) == ["janus.plugin.videoroom"]
                assert sorted(info["transports"]) == ["janus.transport.http"]
                room = await session.attach("janus.plugin.videoroom")
                made, _ = await room.request(
                    {"request": "create", "room": 4521, "admin_key": janus.files.admin_secret}
                )
                assert made["videoroom"] == "created"
                listed, _ = await room.request({"request": "list"})
                assert [r["room"] for r in listed["list"]] == [4521]
                with pytest.raises(JanusError, match="admin"):
                    await room.request({"request": "create", "room": 9, "admin_key": "guess"})
            with pytest.raises(JanusError, match="Unauthorized"):
                await JanusSession(janus.files.api_url, "not-the-secret").create()
        finally:
            await janus.stop()
        assert janus.pid is None
        assert janus.status()["running"] is False

    asyncio.run(run())


def test_a_janus_that_dies_is_started_again_and_says_so(tmp_path: Path) -> None:
    """In: the running Janus killed with SIGKILL. Out: the supervisor starts it again
    (a new pid, restarts = 1, last exit -9), the `restarted` callbacks run once, and the new
    Janus answers a session with its new secret."""

    async def run() -> None:
        janus = JanusProcess(tmp_path / "janus", settings(), tmp_path / "janus.log")
        told: list[int | None] = []

        async def republish() -> None:
            told.append(janus.pid)

        janus.restarted.append(republish)
        await janus.start()
        try:
            first = janus.pid
            assert first is not None
            os.kill(first, 9)
            for _ in range(200):  # up to 20 s on a busy machine; it takes about 1 s
                if told:
                    break
                await asyncio.sleep(0.1)
            assert told == [janus.pid]
            assert janus.pid not in (None, first)
            assert (janus.restarts, janus.last_exit) == (1, -9)
            assert janus.files is not None
            async with JanusSession(janus.files.api_url, janus.files.api_secret) as session:
                assert (await session.info())["name"]
        finally:
            await janus.stop()

    asyncio.run(run())


def test_no_janus_program_is_a_clear_error(tmp_path: Path) -> None:
    """In: a JanusProcess told to run a program that is not installed. Out: JanusStartError
    saying to install Debian's janus package or to name a Janus in [sfu]."""
    janus = JanusProcess(
        tmp_path / "janus", settings(), tmp_path / "janus.log", program="no-such-janus"
    )
    with pytest.raises(JanusStartError, match=r"apt-get install janus.*\[sfu\]"):
        asyncio.run(janus.start())

"""One instance per base dir, and a snapshot that keeps nothing, run as the real `vigil`.

A second `vigil run` (or `vigil snapshot`) on a base dir whose instance is running stops
before it opens anything, with one line naming the base dir and exit 1; the lock it meets
dies with the process that held it, kill -9 included. `vigil snapshot` without
`--base-dir` works in a temporary base dir and removes it, so the user's data folder
never receives its recordings.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.harness import RunningVigil, _env, vigil
from tests.servers import free_port


def quiet_config(folder: Path) -> Path:
    """One camera on a loopback UDP port nobody sends to: a wall that costs nothing."""
    config = folder / "vigil.toml"
    port = free_port(socket.SOCK_DGRAM)
    config.write_text(f'[[feeds]]\nname = "Quiet"\nurl = "udp://127.0.0.1:{port}"\n')
    return config


def test_a_second_instance_on_a_base_dir_is_refused_in_one_line(short_tmp: Path) -> None:
    """In: `vigil run` on a base dir, answering `vigil status`; then a second `vigil run`
    and a `vigil snapshot` given the same base dir; then the first killed with SIGKILL and
    `vigil run` started again there.
    Out: the second run and the snapshot each exit 1 within seconds, stderr exactly one line
    "vigil: another vigil is running with base dir BASE (pid PID)" with the first's pid, no
    traceback, no PNG; the first still answers status with its own pid and its wall layout
    file is as it was; after the kill the new run starts and answers status (a lock never
    outlives its process)."""
    base = short_tmp / "base"
    config = quiet_config(short_tmp)
    first = RunningVigil(base, ["--config", config])
    try:
        status = first.wait_for(lambda s: len(s["feeds"]) == 1)
        pid = status["pid"]
        layout = (base / "wall.json").read_bytes() if (base / "wall.json").exists() else None
        expected = f"vigil: another vigil is running with base dir {base} (pid {pid})"

        # vigil() fails at 30 s: a second run that waits for the first never gets past it.
        second = vigil("run", "--offscreen", "--config", config, "--base-dir", base, timeout=30)
        assert second.returncode == 1, second.stderr
        assert second.stderr.strip().splitlines() == [expected]

        png = short_tmp / "wall.png"
        shot = vigil("snapshot", "--out", png, "--config", config, "--base-dir", base)
        assert shot.returncode == 1
        assert shot.stderr.strip().splitlines() == [expected]
        assert not png.exists()

        assert first.wait_for(lambda s: s["pid"] == pid)
        now = (base / "wall.json").read_bytes() if (base / "wall.json").exists() else None
        assert now == layout
    finally:
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.communicate(timeout=15)

    again = RunningVigil(base, ["--config", config])
    try:
        assert again.wait_for(lambda s: s["pid"] == again.process.pid)["pid"] > 0
    finally:
        code, _, err = again.stop()
    assert code == 0, err
    assert "Traceback" not in err


def test_snapshot_without_a_base_dir_keeps_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In: `vigil snapshot --demo --after 6` with no --base-dir, the user's data and config
    folders (XDG_DATA_HOME, XDG_CONFIG_HOME) and the temporary folder (TMPDIR) each an empty
    folder of the test's; the temporary folder watched while it runs.
    Out: while it runs, a vigil-snapshot-* base dir in TMPDIR receives the demo's recordings
    (MPEG-TS segment files); it exits 0 printing the PNG's name; afterwards TMPDIR is empty
    again and the data folder holds nothing at all (no database, no recordings, no logs)."""
    data, conf, temp = tmp_path / "data", tmp_path / "config", tmp_path / "t"
    for folder in (data, conf, temp):
        folder.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(conf))
    monkeypatch.setenv("TMPDIR", str(temp))
    png = tmp_path / "wall.png"
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "snapshot", "--demo", "--out", str(png), "--after", "6"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    recorded: list[Path] = []
    deadline = time.monotonic() + 90
    while process.poll() is None and time.monotonic() < deadline:
        recorded = recorded or [
            path
            for path in temp.glob("vigil-snapshot-*/recordings/**/*")
            if path.suffix in (".ts", ".part")
        ]
        time.sleep(0.2)
    out, err = process.communicate(timeout=60)

    assert process.returncode == 0, err
    assert out.strip() == str(png)
    assert png.stat().st_size > 0
    assert recorded, "the snapshot recorded nothing into its temporary base dir"
    assert list(temp.iterdir()) == []
    assert list(data.rglob("*")) == []

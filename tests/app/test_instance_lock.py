"""One instance per base dir, at the level of app/control.py: the InstanceLock on a real file
in a real base dir's run folder, and the control server that takes it when not handed one."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from app.control import ControlServer, InstanceLock, InstanceRunningError
from app.paths import BaseDir


async def nothing(_request: dict[str, object], _peer: str) -> dict[str, object]:
    return {}


def test_a_held_lock_names_the_base_dir_and_its_holder(short_tmp: Path) -> None:
    """In: a base dir's lock taken, then taken again (another open file, as a second process
    would), then released and taken again.
    Out: the second take raises InstanceRunningError "another vigil is running with base dir
    BASE (pid PID)" with this process's pid; after release the lock is free and taken; the
    lock file is private to its owner (0600)."""
    base = BaseDir(short_tmp / "base").ensure()
    first = InstanceLock.take(base.run_dir)
    with pytest.raises(InstanceRunningError) as held:
        InstanceLock.take(base.run_dir)
    assert str(held.value) == (
        f"another vigil is running with base dir {base.root} (pid {os.getpid()})"
    )
    assert (first.path.stat().st_mode & 0o777) == 0o600
    first.release()
    first.release()  # twice is harmless
    InstanceLock.take(base.run_dir).release()


def test_the_control_server_takes_the_lock_and_lets_it_go(short_tmp: Path) -> None:
    """In: a ControlServer started on a base dir with no lock given, then a second one on the
    same socket; the first closed; a server handed a lock already taken.
    Out: the second's start raises InstanceRunningError naming the base dir, and the first
    still serves; once the first is closed the lock is free (take succeeds); a server handed
    a lock starts without taking another and releases it on close."""
    base = BaseDir(short_tmp / "base").ensure()

    async def scenario() -> None:
        first = ControlServer(base.control_socket, nothing)
        await first.start()
        second = ControlServer(base.control_socket, nothing)
        with pytest.raises(InstanceRunningError, match=f"base dir {base.root}"):
            await second.start()
        assert base.control_socket.exists()
        await first.close()
        InstanceLock.take(base.run_dir).release()

        handed = ControlServer(base.control_socket, nothing, lock=InstanceLock.take(base.run_dir))
        await handed.start()
        await handed.close()
        InstanceLock.take(base.run_dir).release()

    asyncio.run(scenario())

"""Starts the real `vigil` program with a temporary base dir and talks to it only through
its public interface: the command line and `vigil status`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

SCREENS = Path(__file__).parents[1] / "screens.json"
"""tests/conftest.py's two virtual screens, for the program under test too."""


def vigil(
    *args: str | Path, timeout: float = 60, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one `vigil` command to completion; `stdin` is text for its standard input. From
    `cwd`, a tree of another version's packages is the one run (`python -m app` looks there
    first)."""
    return subprocess.run(
        [sys.executable, "-m", "app", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=_env(),
        cwd=cwd,
    )


def _env() -> dict[str, str]:
    """The offscreen platform with the in-process tests' two virtual 1920x1080 screens,
    WALL-1 and WALL-2 (tests/screens.json), so a wall set to span every screen spans two."""
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = f"offscreen:configfile={SCREENS}"
    return env


class RunningVigil:
    def __init__(
        self,
        base_dir: Path,
        extra: Sequence[str | Path] = (),
        cwd: Path | None = None,
        command: Sequence[str] = ("run", "--offscreen"),
    ) -> None:
        self.base_dir, self.cwd = base_dir, cwd
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app",
                *command,
                "--base-dir",
                str(base_dir),
                *map(str, extra),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            cwd=cwd,
        )

    def status(self) -> subprocess.CompletedProcess[str]:
        return vigil("status", "--base-dir", self.base_dir, timeout=15, cwd=self.cwd)

    def wait_for(
        self, check: Callable[[dict[str, Any]], bool], timeout: float = 30
    ) -> dict[str, Any]:
        """Poll `vigil status` until `check` holds for its answer."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] | str = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"vigil exited early: {self.process.communicate()}")
            result = self.status()
            if result.returncode == 0:
                last = json.loads(result.stdout)
                if check(last):
                    return last
            time.sleep(0.3)
        raise AssertionError(f"status never satisfied the check; last: {last}")

    def stop(self, timeout: float = 15) -> tuple[int, str, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
            raise AssertionError(f"vigil did not stop on SIGTERM; stderr: {err}") from None
        return self.process.returncode, out, err

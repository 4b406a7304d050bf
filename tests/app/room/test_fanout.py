"""One feed into the room's Janus, forwarded to several subscribers: the SFU does the
fan-out, Vigil only signals (app/room/videoroom.py). Real Janus and real aiortc peers, in a
network namespace the test makes (Janus gathers no ICE candidates on loopback and aiortc
ignores 127.0.0.1): a veth pair whose addresses exist only inside it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

NAMESPACE_SETUP = (
    "ip link set lo up && ip link add v0 type veth peer name v1"
    " && ip addr add 10.203.0.1/24 dev v0 && ip addr add 10.203.0.2/24 dev v1"
    " && ip link set v0 up && ip link set v1 up"
)


def in_namespace(*command: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """Run `command` in a new network namespace of its own (root, as `make test` runs)."""
    assert shutil.which("unshare"), "unshare (util-linux) is needed for the room's tests"
    script = NAMESPACE_SETUP + " && exec " + " ".join(command)
    return subprocess.run(
        ["unshare", "--net", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=Path(__file__).resolve().parents[3],
    )


def test_one_published_feed_reaches_every_subscriber_through_janus(tmp_path: Path) -> None:
    """In: the managed Janus; an aiortc peer publishing a 320x240 30 fps picture into a room
    through Room.publish; three aiortc peers subscribing to it through Room.subscribe. Out:
    every subscriber decodes 60 frames or more, all 320x240; Janus lists "Cam-1" publishing;
    Janus never restarted."""
    done = in_namespace(sys.executable, "-m", "tests.room_fanout", str(tmp_path), "3", "60")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert min(result["frames"]) >= 60, result
    assert result["sizes"] == [[320, 240]]
    assert result["publishers"] == ["Cam-1"]
    assert result["janus"]["restarts"] == 0

"""A network namespace of the test's own, for the room's tests: Janus gathers no ICE
candidates on loopback and aiortc ignores 127.0.0.1, so Janus and its peers (aiortc, a
headless Chromium phone) run inside `unshare --net`, on a veth pair whose addresses
(10.203.0.1 and 10.203.0.2) exist only there. Nothing is sent anywhere else."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SERVER_ADDRESS, PEER_ADDRESS = "10.203.0.1", "10.203.0.2"
NAMESPACE_SETUP = (
    "ip link set lo up && ip link add v0 type veth peer name v1"
    f" && ip addr add {SERVER_ADDRESS}/24 dev v0 && ip addr add {PEER_ADDRESS}/24 dev v1"
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
        cwd=Path(__file__).resolve().parents[1],
    )

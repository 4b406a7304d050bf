"""One feed into the room's Janus, forwarded to several subscribers: the SFU does the
fan-out, Vigil only signals (app/room/videoroom.py). Real Janus and real aiortc peers, in a
network namespace the test makes (Janus gathers no ICE candidates on loopback and aiortc
ignores 127.0.0.1): a veth pair whose addresses exist only inside it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.netns import in_namespace


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

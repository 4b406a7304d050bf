"""The demo wall, end to end: `vigil run --demo` reports nine live feeds through `vigil status`;
`vigil snapshot --demo` renders real moving pictures to a PNG."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.e2e.harness import RunningVigil, vigil

FIELDS = {
    "id",
    "name",
    "kind",
    "state",
    "fps",
    "frames",
    "width",
    "height",
    "codec",
    "last_frame_age_s",
    "recording",
    "location",
}


def test_status_of_the_running_demo_wall(short_tmp: Path) -> None:
    """Nine demo feeds (3 callers, 4 body cams, 2 drones) go live; status has DESIGN.md's
    fields; the drones report positions over York from their KLV; the socket is private;
    SIGTERM stops the wall cleanly; then status exits 3."""
    base = short_tmp / "base"
    wall = RunningVigil(base, ["--demo"])
    try:
        answer = wall.wait_for(
            lambda s: len(s["feeds"]) == 9 and all(f["state"] == "live" for f in s["feeds"])
        )
        kinds = sorted(f["kind"] for f in answer["feeds"])
        assert kinds == ["bodycam"] * 4 + ["caller"] * 3 + ["drone"] * 2
        for feed in answer["feeds"]:
            assert feed.keys() >= FIELDS
            assert (feed["width"], feed["height"], feed["codec"]) == (640, 360, "h264")
            assert feed["frames"] > 0
            assert feed["last_frame_age_s"] < 2
        answer = wall.wait_for(
            lambda s: all(f["location"] for f in s["feeds"] if f["kind"] == "drone"), timeout=5
        )
        for drone in (f for f in answer["feeds"] if f["kind"] == "drone"):
            assert abs(drone["location"]["lat"] - 53.959) < 0.01
            assert abs(drone["location"]["lon"] + 1.0815) < 0.01
            assert drone["telemetry"]["klv_packets"] > 0
            assert drone["telemetry"]["klv_dropped"] == 0
        socket_path = base / "run" / "control.sock"
        assert stat.S_IMODE(os.stat(socket_path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(base / "run").st_mode) == 0o700
    finally:
        code, _, err = wall.stop()
    assert code == 0, err
    assert not (base / "run" / "control.sock").exists()
    assert vigil("status", "--base-dir", base).returncode == 3
    log = (base / "logs" / "vigil.log").read_text()
    assert "Vigil running with 9 feeds" in log
    assert "Traceback" not in log


def test_status_without_an_instance_exits_3(short_tmp: Path) -> None:
    result = vigil("status", "--base-dir", short_tmp / "nobody")
    assert result.returncode == 3
    assert "no instance is running" in result.stderr


def test_snapshot_of_the_demo_shows_nine_moving_pictures(short_tmp: Path) -> None:
    """The PNG holds a 3x3 grid (the wall, left of the map panel) whose every cell is a
    real picture: many colours and a bright moving block, not a flat placeholder or a
    'Connecting…' tile."""
    out = short_tmp / "wall.png"
    result = vigil(
        "snapshot",
        "--demo",
        "--out",
        out,
        "--after",
        "4",
        "--size",
        "1280x720",
        "--base-dir",
        short_tmp / "base",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    image = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert image.shape == (720, 1280, 3)
    top, bottom = 30, 690  # inside the menu and status bars
    # The wall ends at the first column past its second gap between tiles that is one flat
    # colour from top to bottom: the gap between the wall and the map panel docked beside it.
    flat = [x for x in range(560, 1280) if image[top:bottom, x].std(axis=0).max() < 1]
    assert flat, "no edge between the wall and the map"
    wall_width = flat[0]
    assert wall_width > 640, f"the wall is only {wall_width} px wide beside the map"
    cell_h, cell_w = (bottom - top) // 3, wall_width // 3
    for row in range(3):
        for col in range(3):
            cell = image[
                top + row * cell_h + 40 : top + (row + 1) * cell_h - 40,
                col * cell_w + 20 : (col + 1) * cell_w - 20,
            ]
            colours = len(np.unique(cell.reshape(-1, 3) // 16, axis=0))
            assert colours > 40, f"cell {row},{col} is flat ({colours} colours): no picture"
            assert cell.std() > 20


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            '[[feeds]]\nname = "A"\nurl = "udp://127.0.0.1:1"\n\n[[feeds]]\nname = "B"\nkind = "blimp"\nurl = "x"\n',
            "bad.toml:7: feeds[2].kind: 'blimp' is not one of",
        ),
        (
            '[wall]\nlayout = "3x3"\n[[feeds]]\nname = "A"\nurl = "rtsp://u:pw@127.0.0.1/x"\n',
            "bad.toml:5: feeds[1].url: the URL holds a password",
        ),
    ],
)
def test_config_errors_stop_start_up_with_file_line_and_key(
    short_tmp: Path, config: str, message: str
) -> None:
    path = short_tmp / "bad.toml"
    path.write_text(config)
    result = vigil(
        "run", "--offscreen", "--config", path, "--base-dir", short_tmp / "base", timeout=30
    )
    assert result.returncode == 2
    assert message in result.stderr

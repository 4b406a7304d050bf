"""The demo wall, end to end: `vigil run --demo` reports nine live feeds through `vigil status`;
`vigil snapshot --demo` renders real moving pictures to a PNG, body cams shuttered."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.e2e.harness import RunningVigil, vigil
from widgets import theme
from widgets.layout import cell_rects, layout_for

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
    fields; the body cams and drones are shown from their sub-streams; the drones report positions over York from their KLV; the socket is private;
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
            # Callers send one 640x360 stream; cameras a 960x540 main and a 480x270 sub.
            sizes = {(640, 360)} if feed["kind"] == "caller" else {(960, 540), (480, 270)}
            assert (feed["width"], feed["height"]) in sizes
            assert feed["codec"] == "h264"
            assert feed["frames"] > 0
            assert feed["last_frame_age_s"] < 2
        # A newcomer sees SUB on the cameras' small tiles (issue 17, item 5).
        wall.wait_for(
            lambda s: all(f["stream"] == "sub" for f in s["feeds"] if f["kind"] != "caller"),
            timeout=10,
        )
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


TILE_BACKGROUND = theme.TILE_BACKGROUND.getRgb()[:3]
"""What a tile with no picture (a shutter) is filled with."""
THEME_BACKGROUND = theme.BACKGROUND.getRgb()[:3]
"""The wall's own background: the gaps between its tiles and the margin round them."""
BODYCAM_CELLS = {(1, 0), (1, 1), (1, 2), (2, 0)}
"""Where the 3x3 wall puts media/demo.py's four body cams: after its three callers, in order."""


def snapshot(short_tmp: Path, name: str, after_s: float) -> np.ndarray:
    """`vigil snapshot --demo` after `after_s` seconds, as RGB ints."""
    out = short_tmp / name
    result = vigil(
        "snapshot",
        "--demo",
        "--out",
        out,
        "--after",
        str(after_s),
        "--size",
        "1280x720",
        "--base-dir",
        short_tmp / "base",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    image = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert image.shape == (720, 1280, 3)
    return image


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """The [start, end) runs of True in a 1-D array of flags."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.astype(int), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def wall_cells(image: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    """The middle of each of the 3x3 wall's cells (away from the tile's header and footer).

    The cells are where the wall's own layout (widgets/layout.py's `cell_rects`, 2 px gaps
    in the wall's BACKGROUND) puts them in the wall's rectangle, which is found in the
    picture rather than assumed: whatever sits above it (menu bar, a setup banner of any
    number of lines) and beside it (the map panel). The wall's left margin, column 0, is
    BACKGROUND from its top to its bottom and nothing else is; the wall is as wide as the
    column of BACKGROUND where the layout's gaps fall as `cell_rects` says."""
    background = (image == THEME_BACKGROUND).all(axis=2)
    top, end = max(runs(background[:, 0]), key=lambda run: run[1] - run[0])
    height = end - top
    layout = layout_for("auto", 9)
    assert (layout.columns, layout.rows) == (3, 3)

    def gaps(rects: list[tuple[int, int, int, int]], axis: int, length: int) -> set[int]:
        """Lines the layout leaves as gaps along `axis` (0: x, 1: y), edges included."""
        starts = {rect[axis] for rect in rects}
        ends = {rect[axis] + rect[axis + 2] for rect in rects}
        return {0, length - 1} | {s - 1 for s in starts} | ends - {length}

    flat = {x for x in range(image.shape[1]) if background[top:end, x].all()}
    widths = [
        x + 1
        for x in sorted(flat)
        if x > 0
        and gaps(cell_rects(layout, x + 1, height), 0, x + 1) <= flat
        and gaps(cell_rects(layout, x + 1, height), 1, height)
        <= {y - top for y in range(top, end) if background[y, : x + 1].all()}
    ]
    assert widths, "no 3x3 wall found in the picture"
    width = widths[0]
    assert width > 640, f"the wall is only {width} px wide beside the map"
    rects = cell_rects(layout, width, height)
    return {
        (index // 3, index % 3): image[top + y + 40 : top + y + h - 40, x + 20 : x + w - 20]
        for index, (x, y, w, h) in enumerate(rects)
    }


def test_snapshot_of_the_demo_shows_five_moving_pictures_and_four_shutters(
    short_tmp: Path,
) -> None:
    """In: two snapshots of the demo wall (1280x720), after 3 s and after 6 s.

    Out: the wall is a 3x3 grid left of the map panel. The five cells of callers and
    drones are pictures: many colours, little of the plain tile background (letterbox
    bars only), and their content moved between the two snapshots (the demo's pattern
    scrolls and its block sweeps with the frame number). The four body cams' cells are shuttered: the plain
    tile background almost everywhere, with a little text on it (the shutter's words), and
    the same in both snapshots: no picture came through."""
    first = wall_cells(snapshot(short_tmp, "first.png", 3))
    second = wall_cells(snapshot(short_tmp, "second.png", 6))
    for cell, before in first.items():
        after = second[cell]
        background = (after == TILE_BACKGROUND).all(axis=2).mean()
        change = np.abs(after - before).mean()
        if cell in BODYCAM_CELLS:
            assert background > 0.8, f"body cam cell {cell} is not shuttered ({background:.0%})"
            assert background < 0.999, f"body cam cell {cell} says nothing"
            assert change < 0.5, f"body cam cell {cell} changed ({change:.1f}): a picture?"
        else:
            colours = len(np.unique(after.reshape(-1, 3) // 16, axis=0))
            assert colours > 40, f"cell {cell} is flat ({colours} colours): no picture"
            # Letterbox bars above and below a 16:9 picture are all the background it shows.
            assert background < 0.3, f"cell {cell} is mostly empty tile ({background:.0%})"
            assert change > 8, f"cell {cell} did not move between snapshots ({change:.1f})"


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

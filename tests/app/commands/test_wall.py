"""`vigil wall` against a real control socket: the request each action sends, and the exit
status and output each kind of answer gives.

The instance's side is a real ControlServer with a ControlDesk, on a loop in a thread, with
no GUI: its commands record what they were asked and answer as the wall would. The command
line runs in process (`app.cli.main`), and once as the real `vigil` program.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.access.control_desk import Command, ControlDesk
from app.access.person import Person
from app.access.roles import Permission, Role
from app.cli import main
from app.paths import BaseDir
from tests.app.access.test_control_desk import ME, make_accounts, refusals
from tests.app.test_control import serve_in_thread, stop
from tests.e2e.harness import vigil

WALL = {
    "screens": [
        {"index": 1, "name": "WALL-1", "layout": "2x2", "feeds": ["CAM-1", "DRONE-2"]},
        {"index": 2, "name": "WALL-2", "layout": "auto", "feeds": []},
    ],
    "presets": ["Day shift", "Night"],
    "current_preset": "Night",
}


@dataclass
class Wall:
    """The running instance's side: every request its commands were asked, in order."""

    base: BaseDir
    asked: list[dict[str, Any]] = field(default_factory=list)

    def command(self, permission: Permission | None, words: str, answer: dict[str, Any]) -> Command:
        def run(req: dict[str, Any], person: Person) -> dict[str, Any]:
            self.asked.append(req)
            if req.get("name") == "Nope":
                raise ValueError("no preset named 'Nope'; saved: Day shift, Night")
            return answer

        return Command(permission, words, run)


@pytest.fixture
def wall(short_tmp: Path) -> Iterator[Wall]:
    base = BaseDir(short_tmp / "base").ensure()
    state = Wall(base)
    desk = ControlDesk(base.database)
    layouts, bodycams = Permission.MANAGE_LAYOUTS, Permission.OPEN_BODYCAMS
    desk.add("wall", state.command(Permission.WATCH_FEEDS, "vigil wall show", WALL))
    desk.add(
        "wall-preset", state.command(layouts, "vigil wall preset", {"said": "Night on the wall"})
    )
    desk.add("wall-layout", state.command(layouts, "vigil wall layout", {}))
    desk.add("wall-send", state.command(layouts, "vigil wall send", {"said": "sent"}))
    desk.add("bodycam-open", state.command(bodycams, "vigil wall open", {"said": "opened"}))
    desk.add("bodycam-close", state.command(bodycams, "vigil wall close", {"said": "closed"}))
    loop, server, thread = serve_in_thread(base.control_socket, desk.handle)
    try:
        yield state
    finally:
        stop(loop, server, thread)


def run_vigil(wall: Wall, *argv: str) -> int:
    return main(["wall", *argv, "--base-dir", str(wall.base.root)])


def test_preset_sends_the_request_and_prints_what_the_instance_said(
    wall: Wall, capsys: pytest.CaptureFixture[str]
) -> None:
    """In: `vigil wall preset Night` (setup mode). Out: exit 0; the instance was asked
    {"cmd": "wall-preset", "name": "Night"}; stdout is its "said"."""
    assert run_vigil(wall, "preset", "Night") == 0
    assert wall.asked == [{"cmd": "wall-preset", "name": "Night"}]
    assert capsys.readouterr().out == "Night on the wall\n"


@pytest.mark.parametrize(
    ("argv", "sent", "printed"),
    [
        (["layout", "3x3"], {"cmd": "wall-layout", "layout": "3x3", "screen": 1}, "done"),
        (
            ["layout", "1+5", "--screen", "2"],
            {"cmd": "wall-layout", "layout": "1+5", "screen": 2},
            "done",
        ),
        (
            ["send", "CAM-1", "--screen", "3"],
            {"cmd": "wall-send", "feed": "CAM-1", "screen": 3},
            "sent",
        ),
        (
            ["open", "BWV-4521", "--reason", "Public order", "--incident", "INC-7"],
            {
                "cmd": "bodycam-open",
                "feed": "BWV-4521",
                "reason": "Public order",
                "detail": "",
                "incident": "INC-7",
            },
            "opened",
        ),
        (
            ["open", "BWV-4521", "--reason", "Other", "--incident", "INC-7", "--detail", "why"],
            {
                "cmd": "bodycam-open",
                "feed": "BWV-4521",
                "reason": "Other",
                "detail": "why",
                "incident": "INC-7",
            },
            "opened",
        ),
        (["close", "BWV-4521"], {"cmd": "bodycam-close", "feed": "BWV-4521"}, "closed"),
    ],
    ids=["layout", "layout-screen", "send", "open", "open-detail", "close"],
)
def test_each_action_sends_its_request(
    wall: Wall,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    sent: dict[str, Any],
    printed: str,
) -> None:
    """In: each action with its arguments. Out: exit 0, exactly that request sent, and the
    answer's "said" printed ("done" when there is none)."""
    assert run_vigil(wall, *argv) == 0
    assert wall.asked == [sent]
    assert capsys.readouterr().out == printed + "\n"


def test_show_prints_screens_and_presets_as_a_table(
    wall: Wall, capsys: pytest.CaptureFixture[str]
) -> None:
    """In: `vigil wall`, then `vigil wall show`. Out: both exit 0 having asked {"cmd":
    "wall"}; a table with each screen's number, name, layout and feeds, then the presets
    numbered with the current one marked."""
    assert main(["wall", "--base-dir", str(wall.base.root)]) == 0
    assert run_vigil(wall, "show") == 0
    assert wall.asked == [{"cmd": "wall"}, {"cmd": "wall"}]
    out = capsys.readouterr().out
    first, second = out[: len(out) // 2], out[len(out) // 2 :]
    assert first == second
    lines = first.splitlines()
    assert lines[0].split() == ["SCREEN", "NAME", "LAYOUT", "FEEDS"]
    assert lines[1].split() == ["1", "WALL-1", "2x2", "CAM-1,", "DRONE-2"]
    assert lines[2].split() == ["2", "WALL-2", "auto", "(none)"]
    assert lines[3] == ""
    assert lines[4].split() == ["PRESET", "NAME"]
    assert lines[5].split() == ["1", "Day", "shift"]
    assert lines[6].split() == ["2", "Night", "(current)"]


def test_show_json_prints_the_answer(wall: Wall, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_vigil(wall, "show", "--json") == 0
    assert json.loads(capsys.readouterr().out) == WALL


def test_a_refusal_exits_4_with_the_reason_on_stderr(
    wall: Wall, capsys: pytest.CaptureFixture[str]
) -> None:
    """In: ME is an operator; `vigil wall preset Night`. Out: exit 4; stderr names the
    permission; nothing on stdout; the instance's command never ran; a REFUSED entry."""
    make_accounts(wall.base, Role.OPERATOR)

    assert run_vigil(wall, "preset", "Night") == 4

    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("vigil: refused: ")
    assert f"{ME} (operator) may not manage layouts and presets" in err
    assert "the manage_layouts permission" in err
    assert wall.asked == []
    assert refusals(wall.base)[-1]["request"] == "vigil wall preset"


def test_an_error_answer_exits_1(wall: Wall, capsys: pytest.CaptureFixture[str]) -> None:
    """In: `vigil wall preset Nope`, which the instance does not know. Out: exit 1, its
    error on stderr."""
    assert run_vigil(wall, "preset", "Nope") == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", "vigil: no preset named 'Nope'; saved: Day shift, Night\n")


def test_no_instance_exits_3_as_status_does(
    short_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In: a base dir where nothing runs. Out: `vigil wall preset Night` and `vigil
    status` both exit 3 with the same message."""
    base = BaseDir(short_tmp / "idle").ensure()
    assert main(["wall", "preset", "Night", "--base-dir", str(base.root)]) == 3
    wall_err = capsys.readouterr().err
    assert main(["status", "--base-dir", str(base.root)]) == 3
    assert capsys.readouterr().err == wall_err
    assert wall_err == f"vigil: no instance is running with base dir {base.root}\n"


def test_screens_are_numbered_from_1(wall: Wall, capsys: pytest.CaptureFixture[str]) -> None:
    """In: `--screen 0`. Out: a usage error (exit 2) before anything is sent."""
    with pytest.raises(SystemExit) as exited:
        run_vigil(wall, "send", "CAM-1", "--screen", "0")
    assert exited.value.code == 2
    assert "numbered from 1" in capsys.readouterr().err
    assert wall.asked == []


def test_the_real_vigil_program_is_refused_as_its_own_user(wall: Wall) -> None:
    """In: ME is an operator; the installed program runs `vigil wall open` in a process of
    its own. Out: exit 4, stderr naming open_bodycams; the refusal names ME: the socket
    knew the other process's user from the kernel."""
    make_accounts(wall.base, Role.OPERATOR)

    result = vigil(
        "wall",
        "open",
        "BWV-4521",
        "--reason",
        "Public order",
        "--incident",
        "INC-7",
        "--base-dir",
        wall.base.root,
        timeout=30,
    )

    assert result.returncode == 4, (result.stdout, result.stderr)
    assert "the open_bodycams permission" in result.stderr
    entry = refusals(wall.base)[-1]
    assert (entry["actor"], entry["subject"], entry["via"]) == (ME, "BWV-4521", "control socket")


def test_wall_open_help_lists_every_reason_and_its_short_name() -> None:
    """In: the real `vigil wall open --help`. Out: exit 0; the help names each reason's
    short name (safety, support, command, missing, search, public-order, other) with its
    full text, and says Other needs --detail."""
    from app.access.bodycam import OTHER, REASON_KEYS

    result = vigil("wall", "open", "--help")

    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    for key, reason in REASON_KEYS.items():
        assert f"{key} = {reason if reason != OTHER else 'Other'}" in text
    assert "Other needs --detail" in text

"""`vigil wall`: drive the wall of a running instance from the supervisor's workstation.

The wall's screens have no keyboard; the supervisor changes them from a terminal, through
the instance's control socket (app/control.py). The instance checks the asker's role
(app/access/control_desk.py), so a refusal here exits 4 and leaves a REFUSED custody entry there,
as any other refused command does.

Each action sends one request:

- `vigil wall [show] [--json]`: `{"cmd": "wall"}`
- `vigil wall preset NAME`: `{"cmd": "wall-preset", "name"}`
- `vigil wall save NAME`: `{"cmd": "wall-save", "name"}` (the wall as it is, as a preset)
- `vigil wall layout LAYOUT [--screen N]`: `{"cmd": "wall-layout", "layout", "screen"}`
- `vigil wall send FEED --screen N`: `{"cmd": "wall-send", "feed", "screen"}`
- `vigil wall open FEED --reason REASON --incident REF [--detail TEXT]`:
  `{"cmd": "bodycam-open", "feed", "reason", "detail", "incident"}`; the reason as typed, a
  short name (app/access/bodycam.py's REASON_KEYS) or the full text, which the instance
  checks and answers, when it is none of them, with the list (the help lists it too)
- `vigil wall close FEED`: `{"cmd": "bodycam-close", "feed"}`

Screens are numbered from 1, as the supervisor counts them. `{"cmd": "wall"}` is answered
with `{"screens": [{"index": 1, "name": "WALL-1", "layout": "2x2", "feeds": ["CAM-1"]}],
"presets": ["Day", "Night"], "current_preset": "Night" or null}`; the others with an object
whose `"said"`, when there, is printed.

Exit status: 0 done; 1 the instance answered an error (a bad name, no such screen); 3 no
instance runs (as `vigil status`); 4 the asker's role does not allow it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from app.access import EXIT_NOT_PERMITTED, REASON_KEYS, reasons_text
from app.control import request
from app.paths import BaseDir

EXIT_FAILED = 1
TIMEOUT_S = 15.0
"""Longer than `vigil status` waits: the instance checks the asker's account in SQLite
first, which may wait out another writer's busy timeout (5 s)."""


def add_wall_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """`vigil wall ACTION`: show (the default), preset, layout, send, open, close."""
    wall = commands.add_parser(
        "wall",
        help="drive the running instance's wall: show, preset, save, layout, send, open, close",
        description="Drive the wall of the running instance (the one on --base-dir); "
        "`vigil wall` alone shows it. Exit status 1: the instance refused the request as "
        "given; 3: no instance runs; 4: your role does not allow the action.",
    )
    actions = wall.add_subparsers(dest="wall_command", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show", parents=[common], help="the screens, their layouts and feeds, and the presets"
    )
    show.add_argument("--json", action="store_true", help="print the instance's answer as JSON")
    preset = actions.add_parser("preset", parents=[common], help="call up a saved preset")
    preset.add_argument("name", metavar="NAME", help="the preset's name")
    save = actions.add_parser(
        "save", parents=[common], help="save the whole wall as it is now as a preset"
    )
    save.add_argument("name", metavar="NAME", help="the preset's name (same name: replaced)")
    layout = actions.add_parser("layout", parents=[common], help="set a screen's layout")
    layout.add_argument("layout", metavar="LAYOUT", help='"auto", "3x3", "1+5", ...')
    layout.add_argument(
        "--screen", type=_screen, default=1, metavar="N", help="which screen, from 1 (default 1)"
    )
    send = actions.add_parser("send", parents=[common], help="move a feed to a screen")
    send.add_argument("feed", metavar="FEED", help="the feed's name")
    send.add_argument(
        "--screen", type=_screen, required=True, metavar="N", help="which screen, from 1"
    )
    bodycam = actions.add_parser(
        "open",
        parents=[common],
        help="open a body cam on the wall, for a stated reason",
        description="Open a body cam on the wall for a stated reason, logged in the custody "
        "log. The reasons, by short name or in full (any case): " + reasons_text() + ". "
        "Other needs --detail saying why.",
    )
    bodycam.add_argument("feed", metavar="FEED", help="the body cam's feed name")
    bodycam.add_argument(
        "--reason",
        required=True,
        metavar="REASON",
        help="why: " + " | ".join(REASON_KEYS) + ", or a reason's full text (listed above)",
    )
    bodycam.add_argument("--incident", required=True, metavar="REF", help="the incident it serves")
    bodycam.add_argument(
        "--detail", default="", metavar="TEXT", help="more words on why (needed with other)"
    )
    close = actions.add_parser("close", parents=[common], help="close a body cam on the wall")
    close.add_argument("feed", metavar="FEED", help="the body cam's feed name")


def default_action(argv: list[str]) -> list[str]:
    """`vigil wall` alone, or followed only by options, means `vigil wall show`."""
    if argv[:1] != ["wall"]:
        return argv
    rest = argv[1:]
    if not rest or (rest[0].startswith("-") and rest[0] not in ("-h", "--help")):
        return ["wall", "show", *rest]
    return argv


def wall_request(args: argparse.Namespace) -> dict[str, Any]:
    """The control-socket request for the parsed command line."""
    action = args.wall_command
    if action == "show":
        return {"cmd": "wall"}
    if action == "preset":
        return {"cmd": "wall-preset", "name": args.name}
    if action == "save":
        return {"cmd": "wall-save", "name": args.name}
    if action == "layout":
        return {"cmd": "wall-layout", "layout": args.layout, "screen": args.screen}
    if action == "send":
        return {"cmd": "wall-send", "feed": args.feed, "screen": args.screen}
    if action == "open":
        return {
            "cmd": "bodycam-open",
            "feed": args.feed,
            "reason": args.reason,
            "detail": args.detail,
            "incident": args.incident,
        }
    if action == "close":
        return {"cmd": "bodycam-close", "feed": args.feed}
    raise AssertionError(f"no request for wall action {action!r}")  # argparse allows no other


def wall_command(args: argparse.Namespace) -> int:
    """Send the request and report the answer. NoInstanceError is left to app/cli.py,
    which says it as `vigil status` does (exit 3)."""
    base = BaseDir.resolve(args.base_dir)
    try:
        answer = request(base.control_socket, wall_request(args), timeout_s=TIMEOUT_S)
    except TimeoutError:
        print(f"vigil: the instance did not answer within {TIMEOUT_S:g} s", file=sys.stderr)
        return EXIT_FAILED
    except ValueError as exc:  # an answer cut short: the instance died mid-request
        print(f"vigil: the instance's answer could not be read: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if answer.get("refused"):
        print(f"vigil: refused: {answer.get('error', 'not permitted')}", file=sys.stderr)
        return EXIT_NOT_PERMITTED
    if "error" in answer:
        error = str(answer["error"])
        if args.wall_command == "open" and error.startswith("detail:"):
            error += " (give it with --detail TEXT)"  # the words are the dialog's
        print(f"vigil: {error}", file=sys.stderr)
        return EXIT_FAILED
    if args.wall_command == "show":
        if args.json:
            print(json.dumps(answer, indent=2, ensure_ascii=False))
        else:
            print(wall_table(answer))
        return 0
    said = answer.get("said")
    print(said if isinstance(said, str) and said else "done")
    return 0


def wall_table(answer: dict[str, Any]) -> str:
    """The `{"cmd": "wall"}` answer as a table for people: screens, then presets."""
    screens = [s for s in answer.get("screens") or [] if isinstance(s, dict)]
    rows = [("SCREEN", "NAME", "LAYOUT", "FEEDS")]
    for number, screen in enumerate(screens, start=1):
        feeds = [str(feed) for feed in screen.get("feeds") or []]
        rows.append(
            (
                str(screen.get("index", number)),
                str(screen.get("name") or "-"),
                str(screen.get("layout") or "-"),
                ", ".join(feeds) if feeds else "(none)",
            )
        )
    lines = _columns(rows) if screens else ["no screens"]
    current = answer.get("current_preset")
    names = [_preset_name(p) for p in answer.get("presets") or []]
    lines.append("")
    if names:
        preset_rows = [("PRESET", "NAME", "")]
        preset_rows += [
            (str(n), name, "(current)" if name == current else "")
            for n, name in enumerate(names, start=1)
        ]
        lines += _columns(preset_rows)
    else:
        lines.append("no presets saved")
    return "\n".join(lines)


def _preset_name(preset: object) -> str:
    if isinstance(preset, dict):
        return str(preset.get("name", "?"))
    return str(preset)


def _columns(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _screen(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a screen number, from 1, not {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("screens are numbered from 1")
    return number

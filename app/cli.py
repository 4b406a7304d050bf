"""The `vigil` command line (DESIGN.md lists the public interface).

`vigil` alone, or `vigil run`, opens the wall; `vigil snapshot` renders it to a PNG with no
display; `vigil status` asks the running instance for its feeds; `vigil link` makes, lists
and revokes caller links; `vigil gateway` runs the caller gateway alone; `vigil audit verify`
checks the custody log and the evidence ledger; `vigil evidence` tags, lists, locks,
exports and verifies clips; `vigil users` adds, lists, disables and changes the role of
accounts; `vigil wall` drives the running instance's wall (presets, layouts, which feed on
which screen, body cams); `vigil server` runs a control room's server (app/room/).

A command the person's role does not allow (app/access/roles.py) exits 4, naming the permission
it needs, and leaves a REFUSED entry in the custody log (app/access/person.py).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from app.access import EXIT_NOT_PERMITTED, NotPermittedError
from app.commands.users import add_users_parser, users_command
from app.commands.wall import add_wall_parser, default_action, wall_command
from app.config import ConfigError
from app.control import InstanceRunningError, NoInstanceError
from app.paths import BaseDir, BaseDirError

EXIT_CONFIG = 2
EXIT_NO_INSTANCE = 3
EXIT_FAILED = 1
_SUBCOMMANDS = {
    "run",
    "snapshot",
    "status",
    "link",
    "gateway",
    "server",
    "audit",
    "evidence",
    "users",
    "wall",
}


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT, such as 1920x1080, not {text!r}"
        ) from None
    if not (64 <= width <= 16384 and 64 <= height <= 16384):
        raise argparse.ArgumentTypeError("width and height must be between 64 and 16384")
    return width, height


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", type=Path, help="TOML config file (default: the user's config dir)"
    )
    common.add_argument(
        "--base-dir", type=Path, help="put everything this instance writes under DIR"
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    # The evidence, audit and link commands on a desk: who signs in to the room server.
    person = argparse.ArgumentParser(add_help=False)
    person.add_argument(
        "--user",
        metavar="NAME",
        help="with a [room] config: sign in to the room server as NAME (else asked)",
    )
    person.add_argument(
        "--password-stdin",
        action="store_true",
        help="with a [room] config: read the password from stdin's first line (else asked)",
    )
    room = [common, person]

    parser = argparse.ArgumentParser(
        prog="vigil",
        description="Control-room video wall.",
        epilog="Exit status 4: the signed-in person's role does not allow the command "
        "(the message names the permission; the custody log records the refusal).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", parents=[common], help="open the wall (the default)")
    run.add_argument("--demo", action="store_true", help="show the built-in demo feeds")
    run.add_argument("--offscreen", action="store_true", help="run with no display")

    snap = commands.add_parser("snapshot", parents=[common], help="render the wall to a PNG")
    snap.add_argument("--out", type=Path, required=True, metavar="FILE.png")
    snap.add_argument("--demo", action="store_true", help="show the built-in demo feeds")
    snap.add_argument(
        "--after",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long the feeds run before the picture is taken (default 5)",
    )
    snap.add_argument("--size", type=_size, default=(1920, 1080), metavar="WxH")

    commands.add_parser(
        "status",
        parents=[common],
        help="print the running instance's feeds as JSON (exit 3 if none runs)",
    )
    commands.add_parser(
        "gateway", parents=[common], help="run the caller gateway alone, with no wall"
    )
    commands.add_parser(
        "server",
        parents=[common],
        help="run a control room's server: gateway, recording, Janus and the desks' API",
    )

    link = commands.add_parser("link", help="caller links: create, list, revoke")
    link_commands = link.add_subparsers(dest="link_command", metavar="ACTION", required=True)
    create = link_commands.add_parser(
        "create", parents=room, help="make a one-time link and print it"
    )
    create.add_argument("--name", required=True, help="the caller's (or officer's) name")
    create.add_argument("--phone", metavar="E164", help="mobile number, such as +447700900123")
    create.add_argument("--incident", metavar="REF", help="the incident reference")
    scope = create.add_mutually_exclusive_group()
    scope.add_argument("--location-only", action="store_true", help="ask for location alone")
    scope.add_argument(
        "--officer", action="store_true", help="an officer's own phone, valid for a shift"
    )
    scope.add_argument(
        "--viewer",
        action="store_true",
        help="someone outside the room watching --feeds in a browser, valid for a shift",
    )
    create.add_argument("--feeds", metavar="A,B", help="with --viewer: the feeds, by name")
    create.add_argument("--send", action="store_true", help="text the link to --phone")
    listing = link_commands.add_parser("list", parents=room, help="links still usable")
    listing.add_argument("--all", action="store_true", help="include ended and expired links")
    listing.add_argument("--json", action="store_true", help="print JSON")
    revoke = link_commands.add_parser("revoke", parents=room, help="stop a link working")
    revoke.add_argument("link_id", metavar="LINK_ID")

    audit = commands.add_parser("audit", help="the custody log and the evidence ledger")
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    audit_commands.add_parser(
        "verify",
        parents=room,
        help="check every hash chain and segment file; exit 1 naming each failed check",
    )
    _add_evidence(commands, common, room)
    add_users_parser(commands, common)
    add_wall_parser(commands, common)
    return parser


def _add_evidence(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    room: list[argparse.ArgumentParser],
) -> None:
    """`vigil evidence ACTION`: one subparser per action: tag, list, lock, export, verify
    (`room`: the options of those a desk does on its room server, all but verify)."""
    evidence = commands.add_parser("evidence", help="tagged clips: tag, list, lock, export, verify")
    actions = evidence.add_subparsers(dest="evidence_command", metavar="ACTION", required=True)
    tag = actions.add_parser(
        "tag", parents=room, help="tag a feed's time range; prints the clip id last"
    )
    tag.add_argument("--feed", required=True, metavar="NAME", help="the feed's name")
    span = tag.add_mutually_exclusive_group(required=True)
    span.add_argument("--last", type=float, metavar="SECONDS", help="the last SECONDS, ending now")
    span.add_argument(
        "--from", dest="start", metavar="ISO", help="start, ISO 8601 with a zone (…Z, +01:00)"
    )
    tag.add_argument("--to", metavar="ISO", help="end, with --from")
    tag.add_argument("--tags", metavar="A,B", help="comma-separated tags")
    tag.add_argument("--note", metavar="TEXT", help="what is seen, in words")
    tag.add_argument("--incident", metavar="REF", help="the incident reference")
    listing = actions.add_parser("list", parents=room, help="tagged clips, oldest first")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.add_argument("--tag", metavar="T", help="only clips with this tag")
    listing.add_argument("--incident", metavar="REF", help="only this incident's clips")
    listing.add_argument("--feed", metavar="NAME", help="only this feed's clips")
    listing.add_argument("--all", action="store_true", help="include withdrawn clips")
    lock = actions.add_parser(
        "lock", parents=room, help="put a clip under evidence lock (never removed)"
    )
    lock.add_argument("clip_id", metavar="CLIP_ID")
    lock.add_argument("--reason", required=True, metavar="TEXT", help="why: a case, a request")
    export = actions.add_parser(
        "export", parents=room, help="write a clip's signed evidence bundle to a folder"
    )
    export.add_argument("clip_id", metavar="CLIP_ID")
    export.add_argument("--out", type=Path, required=True, metavar="DIR", help="the bundle folder")
    export.add_argument("--force", action="store_true", help="replace a bundle already there")
    verify = actions.add_parser(
        "verify",
        parents=[common],
        help="check a bundle: exit 0 and VALID, or exit 1 naming each failed check",
    )
    verify.add_argument("folder", type=Path, metavar="DIR")


def raise_open_file_limit() -> tuple[int, int] | None:
    """Raise this process's soft open-file limit to its hard one; returns (before, after),
    or None where there is no such limit (not POSIX). A desktop session's soft limit is
    often 1024 while the hard one is far higher: every feed's recorder, camera connection,
    caller's connection and the database need descriptors, and running out stops
    recording. Said in the log at debug once logging is set up."""
    try:
        import resource  # POSIX only
    except ImportError:
        return None
    from app.logs import note_early

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and (soft == resource.RLIM_INFINITY or soft >= hard):
        note_early(logging.DEBUG, "open-file limit %s (already the hard limit)", soft)
        return soft, soft
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:  # macOS refuses more than OPEN_MAX, for one
        note_early(
            logging.DEBUG, "open-file limit %s; could not raise it to %s: %s", soft, target, exc
        )
        return soft, soft
    note_early(logging.DEBUG, "open-file limit raised from %s to %s (the hard limit)", soft, target)
    return soft, target


def main(argv: Sequence[str] | None = None) -> int:
    raise_open_file_limit()
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["_demo-sender"]:  # the demo's own sender process (app/feeds/demo.py)
        from media.demo import main as demo_main

        return demo_main(args_in[1:])
    if not args_in or (args_in[0] not in _SUBCOMMANDS and args_in[0] not in ("-h", "--help")):
        args_in.insert(0, "run")
    args = build_parser().parse_args(default_action(args_in))
    try:
        return _dispatch(args)
    except ConfigError as exc:
        print(f"vigil: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except BaseDirError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except NotPermittedError as exc:
        print(f"vigil: refused: {exc}", file=sys.stderr)
        return EXIT_NOT_PERMITTED
    except InstanceRunningError as exc:
        # vigil run, snapshot, gateway and server alike: one instance per base dir.
        print(f"vigil: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except NoInstanceError:
        # Every command that talks to the running instance says this alike.
        base = BaseDir.resolve(args.base_dir)
        print(f"vigil: no instance is running with base dir {base.root}", file=sys.stderr)
        return EXIT_NO_INSTANCE


def _dispatch(args: argparse.Namespace) -> int:
    """Run the subcommand's module (app/commands/), imported only now: `vigil status` must
    start without Qt, aiortc or the evidence store."""
    if args.command == "status":
        from app.commands.status import status_command

        return status_command(args)
    if args.command == "link":
        from app.commands.link import link_command

        return link_command(args)
    if args.command == "audit":
        from app.commands.audit import audit_command

        return audit_command(args)
    if args.command == "evidence":
        from app.commands.evidence import evidence_command

        return evidence_command(args)
    if args.command == "users":
        return users_command(args)
    if args.command == "wall":
        return wall_command(args)
    if args.command == "gateway":
        from app.commands.gateway import gateway_command

        return gateway_command(args)
    if args.command == "server":
        from app.commands.server import server_command

        return server_command(args)
    if args.command == "snapshot":
        from app.commands.snapshot import snapshot_command

        return snapshot_command(args)
    from app.commands.run import run_command

    return run_command(args)

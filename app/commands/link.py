"""`vigil link create|list|revoke`: caller links from the command line.

Links live in the instance's database, which the running gateway reads on every request,
so a link made or revoked here works (or stops working) at once, wall running or not.
Every action needs the INVITE_CALLERS permission (app/access/roles.py), listing too, since the
list names callers and their numbers; without it the command exits 4 (app/access/person.py).

`create` needs a `[gateway]` in the config, exit 2 without one: the link's address comes
from it and only an instance with one (`vigil run`, `vigil gateway`) serves the caller's
page, so a link made without it would be texted to a caller and lead nowhere.

On a desk (a config with [room]) the person signs in to the room server (`--user NAME
--password-stdin`, or asked on the terminal) and the server's gateway makes, lists and
revokes the link (app/room/desk_commands.py): its address is the server's [gateway]
public_url, its text is sent by the server's [sms], and INVITE_CALLERS is the person's
role's there. The output and exit codes are the same.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import json
import sys
import urllib.parse
from typing import Any

from app import config as config_module
from app.access import Permission, check_command
from app.callers import (
    LinkBook,
    LinkError,
    SmsError,
    make_link,
    validate_e164,
    viewer_feeds,
)
from app.callers.gateway.service import text_link
from app.config import GatewaySettings, RoomSettings, SmsSettings
from app.database import open_database
from app.paths import BaseDir, default_config_file

EXIT_CONFIG = 2


def link_command(args: argparse.Namespace) -> int:
    config = config_module.read(args.config)
    if config is not None and config.room is not None:
        return _on_room(args, config.room)
    base = BaseDir.resolve(args.base_dir).ensure()
    check_command(
        base,
        Permission.INVITE_CALLERS,
        f"vigil link {args.link_command}",
        subject=getattr(args, "link_id", None),
    )
    settings = config.gateway if config and config.gateway else GatewaySettings()
    if args.link_command == "create":
        if config is None or config.gateway is None:
            what = (
                f"{config.path or 'the config'} has no [gateway]"
                if config is not None
                else f"there is no config file ({default_config_file()}), so no [gateway]"
            )
            print(
                f"vigil: no link made: {what}; nothing would serve the link, and the caller's "
                "phone would find no page. Add [gateway] with listen and public_url, run vigil "
                "run or vigil gateway with that config, and give it here with --config",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        if args.viewer and config.server is None:
            print(
                f"vigil: no viewer link made: {config.path or 'the config'} has no [server], so "
                "it is not a room server's: a viewer watches feeds from the room's Janus, which "
                "a standalone vigil run or vigil gateway does not have. Make it on the room "
                "server, with vigil server's config",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        return _create(args, base, settings, config.sms, [f.name for f in config.feeds])
    links = LinkBook(open_database(base.database))
    if args.link_command == "list":
        _print_links(args, [link.public() for link in links.all(active_only=not args.all)])
        return 0
    try:
        link = links.revoke(args.link_id)
    except LinkError:
        print(f"vigil: no link {args.link_id}", file=sys.stderr)
        return 1
    print(f"{link.id} {link.state.value}")
    return 0


def _print_links(args: argparse.Namespace, found: list[dict[str, Any]]) -> None:
    """`list`'s output from each link's public fields, here's or the room server's."""
    if args.json:
        print(json.dumps(found, indent=2))
        return
    for link in found:
        until = dt.datetime.fromtimestamp(link["usable_until"]).strftime("%H:%M")
        print(
            f"{link['id']}  {link['kind']:7}  {link['state']:9}  until {until}  "
            f"{link['name']}" + (f"  ({link['incident']})" if link["incident"] else "")
        )


def _phone(args: argparse.Namespace) -> str | None:
    """The --phone given, checked with --send (ValueError says what is wrong)."""
    phone = None
    if args.phone:
        try:
            phone = validate_e164(args.phone)
        except ValueError as exc:
            raise ValueError(f"--phone: {exc}") from None
    if args.send and phone is None:
        raise ValueError("--send needs --phone")
    return phone


def _on_room(args: argparse.Namespace, room: RoomSettings) -> int:
    """The command done by the room server's gateway, as the person signed in there."""
    from app.room import RoomCommandError, sign_in_to_room

    try:
        phone = _phone(args) if args.link_command == "create" else None
    except ValueError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return 2
    try:
        with sign_in_to_room(room, args.user, args.password_stdin) as server:
            if args.link_command == "list":
                _print_links(
                    args, server.call("GET", "/api/v1/links?all=1" if args.all else "/api/v1/links")
                )
                return 0
            if args.link_command == "revoke":
                link_id = urllib.parse.quote(args.link_id, safe="")
                link = server.call("DELETE", f"/api/v1/links/{link_id}")
                print(f"{link['id']} {link['state']}")
                return 0
            made = server.call(
                "POST",
                "/api/v1/links",
                {
                    "name": args.name,
                    "phone": phone,
                    "incident": args.incident,
                    "location_only": args.location_only,
                    "officer": args.officer,
                    "send": args.send,
                    "viewer": args.viewer,
                    "feeds": args.feeds,
                },
            )
    except RoomCommandError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return EXIT_CONFIG if exc.status == 409 else exc.exit_code
    _made(made["link"])
    status = 0
    if made["sent"]:
        print(f"text sent to {phone}", file=sys.stderr)
    elif made["sent"] is False:
        print(f"vigil: the text was not sent: {made['sms_error']}", file=sys.stderr)
        status = 1
    print(made["url"])
    return status


def _made(link: dict[str, Any]) -> None:
    """A new link's line on stderr, from its public fields."""
    expires = dt.datetime.fromtimestamp(link["usable_until"]).strftime("%H:%M")
    print(
        f"{link['id']}: {link['kind']} link for {link['name']}, unopened until {expires}",
        file=sys.stderr,
    )


def _feeds(args: argparse.Namespace, known: list[str]) -> tuple[str, ...]:
    """A viewer link's --feeds, each a feed the room has (ValueError names those it has);
    none for other links. A viewer link needs --incident: its viewings are logged under it,
    and a body cam's reason names it."""
    if not args.viewer:
        if args.feeds:
            raise ValueError("--feeds is for a --viewer link")
        return ()
    if not args.incident:
        raise ValueError("a viewer link needs --incident REF: what the watching is for")
    return viewer_feeds(args.feeds, known)


def _create(
    args: argparse.Namespace,
    base: BaseDir,
    settings: GatewaySettings,
    sms: SmsSettings,
    configured: list[str],
) -> int:
    links = LinkBook(open_database(base.database))
    try:
        phone = _phone(args)
        feeds = _feeds(args, [*configured, *links.streaming_feeds()])
    except ValueError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return 2
    if args.send and sms.provider == "none":
        print("vigil: --send needs an SMS provider: set [sms] in the config", file=sys.stderr)
        return 2
    link, url = make_link(
        links,
        settings,
        name=args.name,
        phone=phone,
        incident=args.incident,
        location_only=args.location_only,
        officer=args.officer,
        viewer=args.viewer,
        feeds=feeds,
        created_by=getpass.getuser(),
    )
    _made(link.public())
    status = 0
    if args.send:
        try:
            asyncio.run(text_link(sms, settings.organisation, link, url))
            links.mark_sent(link.id)
            print(f"text sent to {phone}", file=sys.stderr)
        except SmsError as exc:
            print(f"vigil: the text was not sent: {exc}", file=sys.stderr)
            status = 1
    print(url)
    return status

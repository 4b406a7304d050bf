"""`vigil link create|list|revoke`: caller links from the command line.

Links live in the instance's database, which the running gateway reads on every request,
so a link made or revoked here works (or stops working) at once, wall running or not.
Every action needs the INVITE_CALLERS permission (app/access/roles.py), listing too, since the
list names callers and their numbers; without it the command exits 4 (app/access/person.py).

`create` needs a `[gateway]` in the config, exit 2 without one: the link's address comes
from it and only an instance with one (`vigil run`, `vigil gateway`) serves the caller's
page, so a link made without it would be texted to a caller and lead nowhere.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import json
import sys

from app import config as config_module
from app.access import Permission, check_command
from app.callers import LinkBook, LinkError, SmsError, make_link, validate_e164
from app.callers.gateway.service import text_link
from app.config import GatewaySettings, SmsSettings
from app.database import open_database
from app.paths import BaseDir, default_config_file

EXIT_CONFIG = 2


def link_command(args: argparse.Namespace) -> int:
    base = BaseDir.resolve(args.base_dir).ensure()
    config = config_module.read(args.config)
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
        return _create(args, base, settings, config.sms)
    links = LinkBook(open_database(base.database))
    if args.link_command == "list":
        found = links.all(active_only=not args.all)
        if args.json:
            print(json.dumps([link.public() for link in found], indent=2))
        for link in [] if args.json else found:
            until = dt.datetime.fromtimestamp(link.usable_until).strftime("%H:%M")
            print(
                f"{link.id}  {link.kind.value:7}  {link.state.value:9}  until {until}  "
                f"{link.name}" + (f"  ({link.incident})" if link.incident else "")
            )
        return 0
    try:
        link = links.revoke(args.link_id)
    except LinkError:
        print(f"vigil: no link {args.link_id}", file=sys.stderr)
        return 1
    print(f"{link.id} {link.state.value}")
    return 0


def _create(
    args: argparse.Namespace, base: BaseDir, settings: GatewaySettings, sms: SmsSettings
) -> int:
    phone = None
    if args.phone:
        try:
            phone = validate_e164(args.phone)
        except ValueError as exc:
            print(f"vigil: --phone: {exc}", file=sys.stderr)
            return 2
    if args.send and phone is None:
        print("vigil: --send needs --phone", file=sys.stderr)
        return 2
    if args.send and sms.provider == "none":
        print("vigil: --send needs an SMS provider: set [sms] in the config", file=sys.stderr)
        return 2
    links = LinkBook(open_database(base.database))
    link, url = make_link(
        links,
        settings,
        name=args.name,
        phone=phone,
        incident=args.incident,
        location_only=args.location_only,
        officer=args.officer,
        created_by=getpass.getuser(),
    )
    expires = dt.datetime.fromtimestamp(link.expires_at).strftime("%H:%M")
    print(
        f"{link.id}: {link.kind.value} link for {link.name}, unopened until {expires}",
        file=sys.stderr,
    )
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

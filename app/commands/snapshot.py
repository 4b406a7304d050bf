"""`vigil snapshot --out FILE.png`: render the wall with no display, after its feeds have run
a while, and print the file's name. The same pieces as `vigil run` (app/instance.py), so
what a snapshot shows is what an operator sees. Without `--base-dir` it runs in a temporary
base dir that is removed afterwards: its feeds record while it runs, and a picture's
recordings must not land in the user's data folder beside the evidence. A base dir in use
by a running instance is refused (exit 1)."""

from __future__ import annotations

import argparse

from app.commands.run import options


def snapshot_command(args: argparse.Namespace) -> int:
    from app.instance import snapshot

    status = snapshot(options(args), args.out, args.after, args.size)
    if status == 0:
        print(args.out)
    return status

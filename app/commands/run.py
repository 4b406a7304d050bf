"""`vigil run` (and `vigil` alone): open the wall, the demo when nothing is configured.

The instance (app/instance.py) and Qt are imported only here, when the wall opens.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.instance import Options


def options(args: argparse.Namespace) -> Options:
    """What `vigil run` and `vigil snapshot` share from their command line."""
    from app.instance import Options

    return Options(
        config=args.config,
        base_dir=args.base_dir,
        demo=args.demo,
        offscreen=getattr(args, "offscreen", False),
        verbose=args.verbose,
    )


def run_command(args: argparse.Namespace) -> int:
    from app.instance import run

    return run(options(args))

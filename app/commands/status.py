"""`vigil status`: the running instance's feeds, gateway and services as one JSON object, asked
over its control socket (exit 3 when none runs, said by app/cli.py)."""

from __future__ import annotations

import argparse
import json

from app.control import request
from app.paths import BaseDir


def status_command(args: argparse.Namespace) -> int:
    base = BaseDir.resolve(args.base_dir)
    answer = request(base.control_socket, {"cmd": "status"})
    print(json.dumps(answer, indent=2))
    return 0

"""A desk's command line on its room server: the person signs in, the command asks.

`vigil link`, `vigil evidence` and `vigil audit` with a config holding [room] act on the
server (app/room/desk_commands.py) rather than on this machine's database: the person at the
desk signs in with their account's password, asked for on the terminal (the user name too,
unless `--user NAME`), or read from stdin's first line with `--password-stdin`. Every
connection is pinned to the server's certificate, as the desk's window is.

`RoomCommandError` carries the one line to print and the exit code: a refusal (a wrong
password, a role without the permission, too many failed sign-ins) exits 4 like the command
line's own refusals (app/access/person.py); an unknown clip or link, a withdrawn clip or a
failed export 1; bad input 2; a server that cannot be reached, or is not the one pinned, 1.
No Qt here.
"""

from __future__ import annotations

import contextlib
import getpass
import http.client
import json
import secrets
import shutil
import sys
import tarfile
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.access import EXIT_NOT_PERMITTED
from app.config import RoomSettings
from app.room.client import RoomClient, RoomError
from app.room.desk_commands import EXPORT_HEADER

COMMAND_TIMEOUT_S = 600.0
"""An audit re-hashes every segment on the server, an export cuts and signs: both answer
only when done."""
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
_EXIT_BY_STATUS = {400: EXIT_BAD_INPUT, 401: EXIT_NOT_PERMITTED, 403: EXIT_NOT_PERMITTED, 429: 4}


class RoomCommandError(Exception):
    """What to print (after "vigil: ") and the exit code."""

    def __init__(self, message: str, exit_code: int, status: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.status = status
        """The server's HTTP status, where it answered."""


def refused(error: RoomError) -> RoomCommandError:
    """The command's exit for the server's answer (or its absence)."""
    code = _EXIT_BY_STATUS.get(error.status or 0, EXIT_FAILED)
    said = str(error)
    if code == EXIT_NOT_PERMITTED:
        said = f"refused: {said}"
    return RoomCommandError(said, code, error.status)


class RoomCommand:
    """The room server, with the person signed in; each call raises RoomCommandError."""

    def __init__(self, client: RoomClient) -> None:
        self.client = client

    def call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            return self.client.request(method, path, body)
        except RoomError as exc:
            raise refused(exc) from None

    def export(self, clip_id: str, out: Path, *, force: bool) -> dict[str, Any]:
        """The server's export of `clip_id`, its tar stream unpacked into `out` (whole, or
        nothing left there): the export's summary."""
        from app.evidence.bundle import install_bundle  # PyAV and the keyring

        out = out.expanduser().absolute()
        work = out.parent / f".{out.name}.partial-{secrets.token_hex(4)}"
        path = f"/api/v1/evidence/clips/{urllib.parse.quote(clip_id, safe='')}/export"
        payload = json.dumps({"name": out.name}).encode()
        try:
            connection = self.client.connect(COMMAND_TIMEOUT_S)
        except RoomError as exc:
            raise refused(exc) from None
        try:
            connection.request("POST", path, payload, self.client.headers(payload))
            response = connection.getresponse()
            if response.status >= 400:
                text = response.read(4096).decode("utf-8", "replace").strip()
                raise refused(
                    RoomError(
                        f"the room server answered {response.status}: {text}", response.status
                    )
                )
            summary: dict[str, Any] = json.loads(response.getheader(EXPORT_HEADER) or "{}")
            out.parent.mkdir(parents=True, exist_ok=True)
            work.mkdir()
            with tarfile.open(fileobj=response, mode="r|") as tar:
                tar.extractall(work, filter="data")
            missing = [name for name in summary.get("files", []) if not (work / name).is_file()]
            if missing:
                raise RoomCommandError(
                    f"the room server's bundle came without {', '.join(missing)}", EXIT_FAILED
                )
            install_bundle(work, out, force)
        except (OSError, http.client.HTTPException, tarfile.TarError) as exc:
            shutil.rmtree(work, ignore_errors=True)
            raise RoomCommandError(
                f"the bundle from the room server {self.client.server} was not received whole:"
                f" {exc}",
                EXIT_FAILED,
            ) from None
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        finally:
            connection.close()
        return summary


@contextmanager
def sign_in_to_room(
    settings: RoomSettings, user: str | None, password_stdin: bool
) -> Iterator[RoomCommand]:
    """The person signed in to the room server for one command, signed out after it."""
    if password_stdin:
        if not user:
            raise RoomCommandError("--password-stdin needs --user NAME", EXIT_BAD_INPUT)
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        if not user:
            sys.stderr.write(f"User name on the room server {settings.server}: ")
            sys.stderr.flush()
            user = sys.stdin.readline().strip()
        password = getpass.getpass(f"Password for {user} on {settings.server}: ")
    if not user:
        raise RoomCommandError("no user name given", EXIT_BAD_INPUT)
    client = RoomClient(settings, timeout_s=COMMAND_TIMEOUT_S)
    try:
        client.sign_in(user, password)
    except RoomError as exc:
        raise refused(exc) from None
    try:
        yield RoomCommand(client)
    finally:
        with contextlib.suppress(RoomError):  # else the sign-in expires on its own
            client.sign_out()

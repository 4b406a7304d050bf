"""The control socket's commands, each checked against the asker's role. No Qt here.

The control socket (app/control.py) tells its handler who is asking, as the kernel says.
`ControlDesk` is that handler: it finds the command a request names and, when the command
needs a permission (app/access/roles.py), checks it the way the command line does
(app/access/person.py): the asker's own Vigil account, setup mode while no admin account exists, and
a refusal that leaves a REFUSED custody entry "via control socket" and answers `{"error": ...,
"refused": true, "permission": ...}` (`vigil` exits 4 on it).

Answers, one JSON object each:

- unknown command: `{"error": "unknown command 'x'; known: a, b, c"}`
- refused: `{"error": "<who> may not <what>: ...", "refused": true, "permission": "<p>"}`
- a bad request (the command's `run` raised ValueError or KeyError): `{"error": "..."}`
- otherwise whatever the command's `run` returned; `"said"`, when there, is the line
  `vigil` prints.

The check reads SQLite, so it runs on a worker thread with a connection of its own, opened
and closed each time: the loop paints the wall and must not wait on a busy database. The
command itself runs back on the loop's thread, where the wall lives. A command with no
permission (status) skips the check entirely and never touches the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.access.accounts import AccountBook
from app.access.person import How, NotPermittedError, Person, require, who_is_here
from app.access.roles import Permission, Role
from app.database import open_database
from app.evidence import CustodyLog

log = logging.getLogger(__name__)

VIA = "control socket"
"""How a request came, as the REFUSED custody entry says it."""


@dataclass(frozen=True)
class Command:
    permission: Permission | None
    """What the asker's role must hold; None: anyone who can reach the socket (status)."""
    request: str
    """The request in words, for the custody entry and the refusal: "vigil wall preset"."""
    run: Callable[[dict[str, Any], Person], dict[str, Any]]
    """Does it, on the loop's thread, and returns the answer; ValueError (or KeyError) for
    a bad request. With no permission the Person is the peer, not looked up (no role)."""


class ControlDesk:
    """The control socket's handler: `ControlServer(path, desk.handle)`."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self._commands: dict[str, Command] = {}

    def add(self, name: str, command: Command) -> None:
        if name in self._commands:
            raise ValueError(f"command {name!r} is already on the desk")
        self._commands[name] = command

    @property
    def names(self) -> list[str]:
        return sorted(self._commands)

    async def handle(self, request: dict[str, Any], peer: str) -> dict[str, Any]:
        name = request.get("cmd")
        command = self._commands.get(name) if isinstance(name, str) else None
        if command is None:
            return {"error": f"unknown command {name!r}; known: {', '.join(self.names)}"}
        if command.permission is None:
            person = Person(peer, peer, None, How.NOBODY, "not looked up: no permission needed")
        else:
            try:
                person = await asyncio.to_thread(
                    self._check,
                    command.permission,
                    command.request,
                    _subject(request, command),
                    peer,
                )
            except NotPermittedError as exc:
                return {"error": str(exc), "refused": True, "permission": exc.permission.value}
            except Exception:
                # Fail closed: a person who could not be looked up is not let through.
                log.exception("control socket: could not check %s for %s", name, peer)
                return {"error": f"could not check {peer}'s permission; see the instance's log"}
        try:
            return command.run(request, person)
        except (ValueError, KeyError) as exc:
            return {"error": str(exc)}
        except Exception as exc:
            # A bug in a command must not leave the asker reading an empty answer.
            log.exception("control socket: %s failed", name)
            return {"error": f"{command.request} failed: {type(exc).__name__}; see the log"}

    def _check(self, permission: Permission, request: str, subject: str, peer: str) -> Person:
        """On a worker thread: the peer's person, or NotPermittedError after a REFUSED
        entry. No database yet means no accounts yet: setup mode, as on the command line."""
        if not self.database.exists():
            return Person(peer, peer, Role.ADMIN, How.SETUP)
        db = open_database(self.database)
        try:
            custody = CustodyLog(db)
            # No settings: the asker's own account, as the command line takes it. Vigil's
            # own sign-in is the window's; a socket has no one to ask for a password.
            person = who_is_here(AccountBook(db, custody), os_name=peer)
            require(person, permission, request, custody, subject=subject, via=VIA)
            return person
        finally:
            db.close()


def _subject(request: dict[str, Any], command: Command) -> str:
    """What a refusal's custody entry is about: the feed, when the request names one."""
    feed = request.get("feed")
    return feed if isinstance(feed, str) and feed else command.request

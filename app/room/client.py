"""A desk's side of the room server's API: every connection pinned to the server's
certificate, every request after sign-in carrying the person's token.

A desk trusts exactly the certificate whose SHA-256 fingerprint its [room] section holds
(`vigil server` prints it), not whichever a certificate authority vouches for: a room
server usually has a certificate of its own making, and a desk must not send a password to
anyone else. The fingerprint is checked after the TLS handshake and before a byte of the
request is sent. Blocking calls (http.client), made from a feed's relay thread or off the
GUI thread. No Qt here.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import ssl
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.config import RoomSettings

TIMEOUT_S = 5.0
DOWNLOAD_S = 30.0
"""A segment's download may wait this long for the next bytes."""


class RoomError(Exception):
    """The room server refused, could not be reached, or is not the one pinned."""

    def __init__(self, message: str, status: int | None = None, why: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.why = why or message
        """The reason alone, short enough for a tile ("connection refused")."""


class NotPinnedError(RoomError):
    """The server's certificate is not the one the desk's [room] section names."""


def digest(fingerprint: str) -> str:
    """'SHA256:3F:9A…' or 'SHA256:3f9a…' -> '3f9a…'."""
    value = fingerprint.strip()
    if value.upper().startswith("SHA256:"):
        value = value[len("SHA256:") :]
    return value.replace(":", "").lower()


@dataclass(frozen=True)
class SignedIn:
    token: str
    user: str
    role: str


class RoomClient:
    """The room server at `settings.server`, pinned to `settings.fingerprint`."""

    def __init__(self, settings: RoomSettings, *, timeout_s: float = TIMEOUT_S) -> None:
        parts = urllib.parse.urlsplit(settings.server)
        self.server = settings.server
        self.host = parts.hostname or "localhost"
        self.port = parts.port or 443
        self._digest = digest(settings.fingerprint)
        self._timeout = timeout_s
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        # Trust is the pin below, not a certificate authority or a host name.
        self._context.check_hostname = False
        self._context.verify_mode = ssl.CERT_NONE
        self.token: str | None = None

    def connect(self, timeout_s: float | None = None) -> http.client.HTTPSConnection:
        """A connection to the server whose certificate is the pinned one."""
        connection = http.client.HTTPSConnection(
            self.host, self.port, timeout=timeout_s or self._timeout, context=self._context
        )
        try:
            connection.connect()
        except (OSError, ssl.SSLError) as exc:
            connection.close()
            why = _why(exc)
            raise RoomError(
                f"the room server {self.server} cannot be reached: {why}", why=why
            ) from None
        assert connection.sock is not None
        der = connection.sock.getpeercert(binary_form=True) or b""
        seen = hashlib.sha256(der).hexdigest()
        if seen != self._digest:
            connection.close()
            raise NotPinnedError(
                f"the room server {self.server} is not the one this desk trusts: its"
                f" certificate is SHA256:{seen}, the [room] section names"
                f" SHA256:{self._digest}. If the server's certificate was renewed, put"
                " the fingerprint `vigil server` prints in the desk's config."
            )
        return connection

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        key: str | None = None,
    ) -> Any:
        """One JSON request; its JSON answer, or RoomError with the server's reason (its
        `status` None when the server could not be reached or went away). `token`: send as
        that sign-in rather than the current one; `key`: the request's Idempotency-Key."""
        connection = self.connect()
        try:
            payload = None if body is None else json.dumps(body).encode()
            headers = self.headers(payload, token=token)
            if key is not None:
                headers["Idempotency-Key"] = key
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            why = _why(exc)
            raise RoomError(f"the room server {self.server} went away: {why}", why=why) from None
        finally:
            connection.close()
        if response.status >= 400:
            raise RoomError(_reason(response.status, data), response.status)
        return json.loads(data) if data else None

    def download(self, path: str, out: Path) -> str:
        """GET `path` into the file `out` (whole, or not at all); its SHA-256 (hex)."""
        part = out.with_name(out.name + ".part")
        out.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        connection = self.connect(DOWNLOAD_S)
        try:
            connection.request("GET", path, headers=self.headers())
            response = connection.getresponse()
            if response.status >= 400:
                raise RoomError(_reason(response.status, response.read(4096)), response.status)
            with part.open("wb") as file:
                while chunk := response.read(1 << 16):
                    digest.update(chunk)
                    file.write(chunk)
        except (OSError, http.client.HTTPException) as exc:
            part.unlink(missing_ok=True)
            why = _why(exc)
            raise RoomError(f"the room server {self.server} went away: {why}", why=why) from None
        except RoomError:
            part.unlink(missing_ok=True)
            raise
        finally:
            connection.close()
        part.replace(out)
        return digest.hexdigest()

    def headers(self, payload: bytes | None = None, *, token: str | None = None) -> dict[str, str]:
        headers = {"Host": f"{self.host}:{self.port}"}
        token = token or self.token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if payload is not None:
            headers["Content-Type"] = "application/json"
        return headers

    def sign_in(self, user: str, password: str) -> SignedIn:
        answer = self.request("POST", "/api/v1/sign-in", {"user": user, "password": password})
        self.token = str(answer["token"])
        return SignedIn(self.token, str(answer["user"]), str(answer["role"]))

    def sign_out(self) -> None:
        if self.token is None:
            return
        try:
            self.request("DELETE", "/api/v1/session")
        finally:
            self.token = None

    def room(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.request("GET", "/api/v1/room")
        return answer


def _reason(status: int, data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    said = f"the room server answered {status}"
    return f"{said}: {text}" if text else said


def _why(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "no answer (timed out)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is `vigil server` running?)"
    return str(exc) or type(exc).__name__

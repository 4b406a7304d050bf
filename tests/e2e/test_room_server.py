"""`vigil server`, the real program: a looping clip recorded once and not decoded, Debian's
Janus started and supervised with the room open on it, and the HTTPS API desks sign in to,
pinned by the fingerprint the server prints. Only the public interface: the command line,
`vigil status`, HTTPS on loopback, and the custody log's rows in the base dir's database."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import sqlite3
import ssl
from pathlib import Path
from typing import Any

from tests.e2e.harness import RunningVigil, vigil
from tests.e2e.test_configured_feeds import write_clip
from tests.servers import free_port, wait_for

PASSWORDS = {"ann": "ann-at-the-wall", "fran": "fran-reviews-clips", "chief": "chief-of-the-room"}


class Desk:
    """HTTPS to the room server, trusting exactly the certificate with `fingerprint`."""

    def __init__(self, port: int, fingerprint: str) -> None:
        self.port, self.fingerprint = port, fingerprint

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None
    ) -> tuple[int, str]:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # pinned below
        connection = http.client.HTTPSConnection(
            "127.0.0.1", self.port, context=context, timeout=15
        )
        try:
            connection.connect()
            assert connection.sock is not None
            seen = hashlib.sha256(connection.sock.getpeercert(binary_form=True) or b"").hexdigest()
            assert f"SHA256:{seen}" == self.fingerprint, "not the server's certificate"
            headers = {"Content-Type": "application/json"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            connection.request(method, path, json.dumps(body) if body else None, headers)
            answer = connection.getresponse()
            return answer.status, answer.read().decode()
        finally:
            connection.close()

    def sign_in(self, user: str) -> tuple[int, str]:
        return self.call("POST", "/api/v1/sign-in", {"user": user, "password": PASSWORDS[user]})


def add_user(base: Path, user: str, role: str) -> None:
    made = vigil(
        "users",
        "add",
        user,
        "--role",
        role,
        "--password-stdin",
        "--base-dir",
        base,
        stdin=PASSWORDS[user] + "\n",
    )
    assert made.returncode == 0, made.stderr


def refusals(base: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(base / "vigil.db") as db:
        rows = db.execute("SELECT subject, details FROM custody WHERE action = 'refused'")
        return [{"subject": s, **json.loads(d)} for s, d in rows]


def test_the_room_server_records_runs_janus_and_lets_only_signed_in_desks_in(
    short_tmp: Path,
) -> None:
    """In: `vigil server` with a looping clip "Cam-1", the managed Janus on ports of its own,
    and accounts ann (supervisor) and fran (forensic) with passwords; a second `vigil server`
    on the same base dir; then an admin added while it runs; Janus killed; SIGTERM.
    Out: it prints its address and certificate fingerprint; `vigil status` shows Cam-1 live,
    recorded and decoding nothing (its size and codec known from the stream), and the second
    server exits 1 saying another vigil runs there (no traceback); Janus running and the room open. Without a token the API
    answers 401; in setup mode even ann's right password is refused; once an admin exists
    ann signs in and gets the room's feeds; fran's role may not watch feeds: 403 and a
    REFUSED custody entry "via desk API"; a wrong password is 401 and refused. A killed Janus
    is running again with the room reopened; after SIGTERM the server exits 0 and its Janus
    is gone."""
    clip = short_tmp / "clip.mp4"
    write_clip(clip, seconds=2)
    api_port = free_port()
    config = short_tmp / "vigil.toml"
    config.write_text(
        f'[[feeds]]\nname = "Cam-1"\nurl = "{clip}"\nloop = true\n\n'
        f'[server]\nlisten = "127.0.0.1:{api_port}"\n\n'
        f'[sfu]\napi_port = {free_port()}\nadmin_port = {free_port()}\nrtp_ports = "34000-34100"\n'
    )
    base = short_tmp / "base"
    add_user(base, "ann", "supervisor")
    add_user(base, "fran", "forensic")
    server = RunningVigil(base, ["--config", config], command=("server",))
    janus_pid = None
    try:
        status = server.wait_for(
            lambda s: (
                s["feeds"][0]["state"] == "live"
                and s["feeds"][0]["recording"]
                and s["room"]["room"] == 1
            ),
            timeout=60,
        )
        (cam,) = status["feeds"]
        assert (cam["name"], cam["decoding"], cam["frames"]) == ("Cam-1", "none", 0)
        assert (cam["width"], cam["height"], cam["codec"]) == (320, 240, "h264")
        janus_pid = status["room"]["janus"]["pid"]
        assert status["room"]["janus"]["running"]
        desk = Desk(api_port, status["server"]["fingerprint"])
        second = vigil("server", "--config", config, "--base-dir", base, timeout=30)
        assert second.returncode == 1, second.stderr
        assert "another vigil is running with base dir" in second.stderr
        assert "Traceback" not in second.stderr

        assert desk.call("GET", "/api/v1/room")[0] == 401
        assert desk.sign_in("ann")[0] == 401  # setup mode: no desk signs in
        add_user(base, "chief", "admin")
        code, text = desk.sign_in("ann")
        assert code == 200, text
        token = json.loads(text)["token"]
        code, text = desk.call("GET", "/api/v1/room", token=token)
        assert code == 200, text
        assert [f["name"] for f in json.loads(text)["feeds"]] == ["Cam-1"]
        assert desk.call("GET", "/api/v1/room", token=token + "x")[0] == 401

        fran = json.loads(desk.sign_in("fran")[1])["token"]
        code, text = desk.call("GET", "/api/v1/room", token=fran)
        assert code == 403, text
        assert any(
            r.get("via") == "desk API" and r.get("role") == "forensic" for r in refusals(base)
        )
        assert desk.call("POST", "/api/v1/sign-in", {"user": "ann", "password": "guess"})[0] == 401
        assert any(r["subject"] == "sign in" and r.get("via") == "desk API" for r in refusals(base))

        os.kill(janus_pid, 9)
        again = server.wait_for(
            lambda s: (
                s["room"]["janus"]["restarts"] == 1
                and s["room"]["janus"]["running"]
                and s["room"]["room"] == 1
                and s["room"]["error"] is None
            ),
            timeout=30,
        )
        janus_pid = again["room"]["janus"]["pid"]
    finally:
        code, out, err = server.stop()
    assert code == 0, err
    assert f"room server on https://127.0.0.1:{api_port}" in out
    assert f"fingerprint {status['server']['fingerprint']}" in out

    def janus_gone() -> bool:
        try:
            os.kill(janus_pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(janus_gone, 30, f"Janus (pid {janus_pid}) to end with the server")

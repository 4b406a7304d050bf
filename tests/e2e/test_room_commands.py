"""The evidence, audit and link commands on a desk act on the room server: the real `vigil
server` on loopback (its Janus, its gateway, 7 s of DRONE-1 recorded in its base dir, its
signing key in a private Secret Service), and the real `vigil` command line given a desk's
config (`[room]` with the fingerprint the server's status gives) and `--password-stdin`.
One server for the module; what is checked on the server is its database's rows."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.evidence.bundle import check_bundle
from tests.e2e.harness import RunningVigil, vigil
from tests.e2e.test_room_server import PASSWORDS, add_user
from tests.recordings import drone_media, record
from tests.servers import free_port

T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=2)
"""Recent: the server's retention would retire a recording of long ago as it starts."""
FEED = "DRONE-1"
GROUPED = re.compile(r"signing key fingerprint (([0-9a-f]{4} ){15}[0-9a-f]{4})$")


def iso(seconds: float) -> str:
    return (T0 + dt.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


@dataclass
class Room:
    base: Path
    desk: Path
    """A desk's config: [room] with the server's address and fingerprint."""
    desk_base: Path
    gateway_url: str
    tmp: Path

    def as_(self, user: str, *args: str | Path, password: str | None = None) -> Any:
        """`vigil ARGS --config desk.toml --user USER --password-stdin` on the desk."""
        return vigil(
            *args,
            "--config",
            self.desk,
            "--base-dir",
            self.desk_base,
            "--user",
            user,
            "--password-stdin",
            stdin=(password if password is not None else PASSWORDS[user]) + "\n",
            timeout=90,
        )

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.base / "vigil.db") as db:
            return db.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory, secret_service_daemons) -> Iterator[Room]:
    """`vigil server` with a [gateway], accounts ann (supervisor), fran (forensic) and chief
    (admin, added last), DRONE-1 recorded from T0 to T0+7 s; the desk's config beside it."""
    tmp = tmp_path_factory.mktemp("room")
    base = tmp / "base"
    record(base_dir(base), FEED, drone_media(tmp / "drone.ts", 7.0), T0.timestamp())
    for user, role in (("ann", "supervisor"), ("fran", "forensic"), ("chief", "admin")):
        add_user(base, user, role)
    api_port, gateway_port = free_port(), free_port()
    gateway_url = f"https://127.0.0.1:{gateway_port}"
    config = tmp / "room.toml"
    config.write_text(
        f'[gateway]\nlisten = "127.0.0.1:{gateway_port}"\npublic_url = "{gateway_url}"\n\n'
        f'[server]\nlisten = "127.0.0.1:{api_port}"\n\n'
        f'[sfu]\napi_port = {free_port()}\nadmin_port = {free_port()}\nrtp_ports = "34400-34500"\n'
    )
    with pytest.MonkeyPatch.context() as env:  # the server signs with the private keyring
        for name, value in secret_service_daemons.env.items():
            env.setenv(name, value)
        env.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.SecretService.Keyring")
        server = RunningVigil(base, ["--config", config], command=("server",))
        try:
            status = server.wait_for(lambda s: s["server"]["fingerprint"] is not None, 60)
            desk = tmp / "desk.toml"
            desk.write_text(
                f'[room]\nserver = "https://127.0.0.1:{api_port}"\n'
                f'fingerprint = "{status["server"]["fingerprint"]}"\n'
            )
            yield Room(base, desk, tmp / "desk-base", gateway_url, tmp)
        finally:
            server.stop()


def base_dir(root: Path) -> Any:
    from app.paths import BaseDir

    return BaseDir(root).ensure()


def refusals(room: Room, user: str) -> list[dict[str, Any]]:
    return [
        {"subject": subject, **json.loads(details)}
        for subject, details in room.rows(
            "SELECT subject, details FROM custody WHERE action = 'refused' AND actor = ?", user
        )
    ]


def test_links_are_made_listed_and_revoked_by_the_servers_gateway(room: Room) -> None:
    """In: on the desk, ann (supervisor) runs `vigil link create --name Kim --incident
    INC-7`, `vigil link list --json`, `vigil link revoke ID`, `vigil link list --all --json`;
    then viewer links for a feed the server does not pull, and with no incident; fran
    (forensic) runs `vigil link list`.
    Out: create exits 0 with the link under the server's [gateway] public_url on its last
    line; the list holds it (pending, Kim, INC-7); revoke prints "ID revoked"; the full list
    shows it revoked; the server's links table has it, made by ann. The viewer links exit
    2, the server naming the feeds it has, and none is made. fran's list exits 4
    naming the permission, with a REFUSED entry on the server "via desk API"."""
    made = room.as_("ann", "link", "create", "--name", "Kim", "--incident", "INC-7")
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[-1].startswith(f"{room.gateway_url}/c/")
    link_id = made.stderr.split(":")[0]

    listed = room.as_("ann", "link", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [link] = [x for x in json.loads(listed.stdout) if x["id"] == link_id]
    assert (link["name"], link["incident"], link["state"]) == ("Kim", "INC-7", "pending")

    revoked = room.as_("ann", "link", "revoke", link_id)
    assert (revoked.returncode, revoked.stdout.strip()) == (0, f"{link_id} revoked")
    every = json.loads(room.as_("ann", "link", "list", "--all", "--json").stdout)
    assert [x["state"] for x in every if x["id"] == link_id] == ["revoked"]
    assert room.rows("SELECT created_by FROM links WHERE id = ?", link_id) == [("ann",)]

    # This server pulls no feed (DRONE-1's recordings are all it has): a viewer link for
    # one is refused by the server with the feeds it has, which is none.
    viewer = room.as_(
        "ann",
        "link",
        "create",
        "--name",
        "Insp Shaw",
        "--viewer",
        "--incident",
        "INC-7",
        "--feeds",
        FEED,
    )
    assert viewer.returncode == 2, viewer.stderr
    assert f"no feed named '{FEED}' on this room server; it has: none yet" in viewer.stderr
    assert room.rows("SELECT COUNT(*) FROM links WHERE name = 'Insp Shaw'") == [(0,)]
    no_incident = room.as_("ann", "link", "create", "--name", "X", "--viewer", "--feeds", FEED)
    assert no_incident.returncode == 2, no_incident.stderr

    refused = room.as_("fran", "link", "list")
    assert refused.returncode == 4, refused.stderr
    assert "invite_callers" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert any(
        r["subject"] == "vigil link list" and r["via"] == "desk API" for r in refusals(room, "fran")
    )


def test_clips_are_tagged_listed_and_locked_on_the_server(room: Room) -> None:
    """In: on the desk, ann tags DRONE-1 from T0+1.5 s to T0+5.2 s with tags and a note, then
    a feed nobody knows; fran lists clips (text and --json) and locks the clip; ann lists.
    Out: the tag exits 0 printing the clip's line and its id last, with no coverage warning
    (the server's recordings cover it); the unknown feed exits 1 naming DRONE-1 as recorded,
    and no clip is made; fran's list has the clip as tagged by ann (same JSON fields as a
    local list); the lock prints "ID locked: REASON" and the server's clip is locked by fran;
    ann's list exits 4 with a REFUSED entry on the server."""
    tagged = room.as_(
        "ann", "evidence", "tag", "--feed", FEED, "--from", iso(1.5), "--to", iso(5.2),
        "--tags", "vehicle,red", "--note", "a red car",
    )  # fmt: skip
    assert tagged.returncode == 0, tagged.stderr
    assert "warning" not in tagged.stderr
    clip_id = tagged.stdout.splitlines()[-1]
    assert tagged.stdout.startswith(f"tagged 3.7 s of {FEED} from {iso(1.5)[:21]}")
    unknown = room.as_("ann", "evidence", "tag", "--feed", "NOPE-9", "--last", "10")
    assert unknown.returncode == 1, unknown.stderr
    assert "NOPE-9" in unknown.stderr
    assert f"feeds with recordings: {FEED}" in unknown.stderr

    text = room.as_("fran", "evidence", "list")
    assert text.returncode == 0, text.stderr
    assert any(
        line.startswith(clip_id) and "[vehicle, red]" in line for line in text.stdout.splitlines()
    )
    [clip] = [
        c
        for c in json.loads(room.as_("fran", "evidence", "list", "--json").stdout)
        if c["id"] == clip_id
    ]
    assert (clip["created_by"], clip["feed_name"], clip["note"]) == ("ann", FEED, "a red car")
    assert room.rows("SELECT COUNT(*) FROM clips WHERE feed_name = 'NOPE-9'") == [(0,)]

    locked = room.as_("fran", "evidence", "lock", clip_id, "--reason", "case 41")
    assert (locked.returncode, locked.stdout.strip()) == (0, f"{clip_id} locked: case 41")
    assert room.rows("SELECT locked, locked_by FROM clips WHERE id = ?", clip_id) == [(1, "fran")]

    refused = room.as_("ann", "evidence", "list")
    assert refused.returncode == 4, refused.stderr
    assert "review" in refused.stderr
    assert any(r["subject"] == "vigil evidence list" for r in refusals(room, "ann"))


def test_audit_verify_runs_on_the_servers_ledger_and_custody_log(room: Room) -> None:
    """In: on the desk, fran runs `vigil audit verify`; ann does too.
    Out: fran's exits 0 printing "VALID: N custody entries, M segments" (M the server's
    recorded segments), the custody head and DRONE-1's segments head; the server's custody
    log has the verification under fran, "via desk API", result valid. ann's exits 4."""
    audited = room.as_("fran", "audit", "verify")
    assert audited.returncode == 0, audited.stderr
    segments = room.rows("SELECT COUNT(*) FROM segments")[0][0]
    assert re.match(
        rf"VALID: \d+ custody entries, {segments} segments$", audited.stdout.splitlines()[0]
    )
    assert re.search(r"^custody head [0-9a-f]{64}$", audited.stdout, re.M)
    assert re.search(rf"^segments head [0-9a-f]{{64}} {FEED}$", audited.stdout, re.M)
    [(details,)] = room.rows(
        "SELECT details FROM custody WHERE action = 'verify' AND actor = 'fran' AND subject = 'audit'"
    )
    assert (json.loads(details)["via"], json.loads(details)["result"]) == ("desk API", "valid")
    assert room.as_("ann", "audit", "verify").returncode == 4


def test_an_export_from_a_desk_is_the_servers_signed_bundle_and_verifies(room: Room) -> None:
    """In: ann tags DRONE-1 from T0+1.5 s to T0+5.2 s on the desk; fran runs `vigil evidence
    export CLIP --out DIR` on the desk; then `vigil evidence verify DIR` on a machine with no
    Vigil (an empty base dir) and on the server's base dir, and the project's bundle check;
    fran exports a clip that does not exist; ann exports the clip.
    Out: the export exits 0 printing DIR, the first and last frames, and the server's key's
    fingerprint; DIR holds the bundle and nothing half-written beside it; both verifications
    exit 0 with VALID, the server's one saying it is that instance's key (its custody log
    recorded exporting this manifest), and check_bundle finds no failure; the server's
    custody has the EXPORT under fran. The unknown clip exits 1 naming it, and leaves no
    folder; ann's export exits 4 with a REFUSED entry on the server."""
    tagged = room.as_(
        "ann", "evidence", "tag", "--feed", FEED, "--from", iso(1.5), "--to", iso(5.2)
    )
    assert tagged.returncode == 0, tagged.stderr
    clip_id = tagged.stdout.splitlines()[-1]
    out = room.tmp / "bundles" / "court-1"

    exported = room.as_("fran", "evidence", "export", clip_id, "--out", out)

    assert exported.returncode == 0, exported.stderr
    lines = exported.stdout.splitlines()
    assert lines[0] == str(out)
    assert lines[1].startswith(f"first frame {iso(1.5)[:21]}")
    assert "frames in the range; the media begins" in lines[3]
    shown = GROUPED.match(lines[-1])
    assert shown is not None
    assert sorted(p.name for p in out.parent.iterdir()) == ["court-1"]
    report = check_bundle(out)
    assert not report.failures
    assert report.clip_id == clip_id
    assert report.fingerprint is not None
    assert shown.group(1).replace(" ", "") == report.fingerprint

    elsewhere = vigil("evidence", "verify", out, "--base-dir", room.tmp / "court")
    assert elsewhere.returncode == 0, elsewhere.stdout + elsewhere.stderr
    assert elsewhere.stdout.startswith(f"VALID: bundle {clip_id}")
    on_server = vigil("evidence", "verify", out, "--base-dir", room.base)
    assert on_server.returncode == 0, on_server.stdout
    assert "this instance's key" in on_server.stdout
    [(details,)] = room.rows(
        "SELECT details FROM custody WHERE action = 'export' AND subject = ? AND actor = 'fran'",
        clip_id,
    )
    assert json.loads(details)["fingerprint"] == report.fingerprint

    missing = room.as_("fran", "evidence", "export", "NOPE-1", "--out", room.tmp / "nope")
    assert missing.returncode == 1, missing.stderr
    assert "NOPE-1" in missing.stderr
    assert not (room.tmp / "nope").exists()
    refused = room.as_("ann", "evidence", "export", clip_id, "--out", room.tmp / "ann")
    assert refused.returncode == 4, refused.stderr
    assert any(r["subject"] == "vigil evidence export" for r in refusals(room, "ann"))


def test_a_wrong_password_a_wrong_fingerprint_and_no_server_are_one_line_each(room: Room) -> None:
    """In: ann with a wrong password; the desk's config with another fingerprint; a config
    naming a port nothing listens on.
    Out: the wrong password exits 4 with the server's words (wrong user name or password);
    the wrong fingerprint exits 1 with one line saying the server is not the one this desk
    trusts; the absent server exits 1 with one line saying it cannot be reached; no
    traceback anywhere."""
    wrong = room.as_("ann", "evidence", "list", password="not-anns")
    assert wrong.returncode == 4, wrong.stderr
    assert "wrong user name or password" in wrong.stderr

    text = room.desk.read_text()
    pinned = re.search(r'fingerprint = "(.*)"', text)
    assert pinned is not None
    other = room.tmp / "other.toml"
    other.write_text(text.replace(pinned.group(1), "SHA256:" + "0" * 64))
    gone = room.tmp / "gone.toml"
    gone.write_text(re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{free_port()}", text))
    for config, says in ((other, "not the one this desk trusts"), (gone, "cannot be reached")):
        result = vigil(
            "audit", "verify", "--config", config, "--user", "fran", "--password-stdin",
            stdin=PASSWORDS["fran"] + "\n",
        )  # fmt: skip
        assert result.returncode == 1, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert says in result.stderr
    for result in (wrong,):
        assert "Traceback" not in result.stderr


def test_the_routes_refuse_the_unsigned_and_bad_input_with_a_reason(room: Room) -> None:
    """In: the commands' routes asked directly over the pinned HTTPS: a link list with no
    sign-in; signed in as ann, a link with no name and a tag with neither --last nor times;
    signed in as fran, a lock of a clip that does not exist and one with no reason.
    Out: 401 for the unsigned; 400 each for the bad bodies, with the reason; 404 for the
    unknown clip, naming it."""
    from app.config import RoomSettings
    from app.room.client import RoomClient, RoomError

    pinned = re.search(r'server = "(.*)"\nfingerprint = "(.*)"', room.desk.read_text())
    assert pinned is not None
    settings = RoomSettings(pinned.group(1), pinned.group(2))
    nobody, ann, fran = RoomClient(settings), RoomClient(settings), RoomClient(settings)
    ann.sign_in("ann", PASSWORDS["ann"])
    fran.sign_in("fran", PASSWORDS["fran"])
    asked = [
        (nobody, "GET", "/api/v1/links", None, 401, "sign in first"),
        (ann, "POST", "/api/v1/links", {"phone": "+447700900123"}, 400, "name"),
        (ann, "POST", "/api/v1/evidence/tag", {"feed": FEED}, 400, "last"),
        (fran, "POST", "/api/v1/evidence/clips/NOPE-2/lock", {"reason": "x"}, 404, "NOPE-2"),
        (fran, "POST", "/api/v1/evidence/clips/NOPE-2/lock", {}, 400, "reason"),
    ]
    for client, method, path, body, status, why in asked:
        with pytest.raises(RoomError) as refused:
            client.request(method, path, body)
        assert refused.value.status == status, (path, body, refused.value)
        assert why in str(refused.value)

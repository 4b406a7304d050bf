"""`vigil link create` run as the real program: with no [gateway] in the config, nobody would
serve the link, so none is made (exit 2, a config mistake, with the reason); with one, the
link is made and printed on the last line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.harness import vigil


@pytest.fixture
def no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's config folder, empty: no default vigil.toml is read."""
    folder = tmp_path / "xdg-config"
    folder.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder


def links(base: Path) -> list[dict[str, object]]:
    listed = vigil("link", "list", "--all", "--json", "--base-dir", base)
    assert listed.returncode == 0, listed.stderr
    found: list[dict[str, object]] = json.loads(listed.stdout)
    return found


def test_link_create_without_a_gateway_makes_no_link(tmp_path: Path, no_user_config: Path) -> None:
    """In: `vigil link create --name Kim` with no config file at all; the same with a config
    that has feeds but no [gateway]; then with a config holding a [gateway].
    Out: the first two exit 2 with nothing on stdout and one stderr line saying no link was
    made, why (no config file, naming where it was looked for; the config's path has no
    [gateway]) and that nothing would serve it, naming [gateway] and --config; no link is in
    the list. The third exits 0, prints a link under the gateway's public_url last, and the
    list holds that one link."""
    base = tmp_path / "base"
    nothing = vigil("link", "create", "--name", "Kim", "--base-dir", base)
    feeds_only = tmp_path / "feeds.toml"
    feeds_only.write_text('[[feeds]]\nname = "Cam"\nurl = "rtsp://10.1.2.3:554/live"\n')
    no_gateway = vigil(
        "link", "create", "--name", "Kim", "--config", feeds_only, "--base-dir", base
    )

    for refused in (nothing, no_gateway):
        assert refused.returncode == 2, refused.stderr
        assert refused.stdout == ""
        [line] = refused.stderr.splitlines()
        assert line.startswith("vigil: no link made: ")
        assert "nothing would serve the link" in line
        assert "Add [gateway]" in line
        assert "--config" in line
        assert "Traceback" not in refused.stderr
    assert f"there is no config file ({no_user_config / 'vigil' / 'vigil.toml'})" in nothing.stderr
    assert f"{feeds_only} has no [gateway]" in no_gateway.stderr
    assert links(base) == []

    gateway = tmp_path / "gateway.toml"
    gateway.write_text('[gateway]\npublic_url = "https://vigil.example:8443"\n')
    made = vigil("link", "create", "--name", "Kim", "--config", gateway, "--base-dir", base)
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[-1].startswith("https://vigil.example:8443/c/")
    assert len(links(base)) == 1


def test_a_viewer_link_needs_a_room_server_and_feeds_it_has(
    tmp_path: Path, no_user_config: Path
) -> None:
    """In: `vigil link create --viewer --incident INC-7 --feeds Cam` with a standalone
    instance's config ([gateway], a feed, no [server]); with the room server's config
    ([server] too) naming a feed it lacks; without --incident; then naming the feed it has
    and a caller's feed of a link still usable.
    Out: the first exits 2 saying it is no room server's and a standalone instance has no
    Janus; the second exits 2 naming the unknown feed and the feeds it has (the configured
    camera and the caller); the third exits 2 asking for --incident; none is made. The last
    exits 0 and prints a /v/ link; the list shows a viewer link with both feeds in order."""
    base = tmp_path / "base"
    gateway = '[gateway]\npublic_url = "https://vigil.example:8443"\n'
    feed = '[[feeds]]\nname = "Cam"\nurl = "rtsp://10.1.2.3:554/live"\n'
    standalone = tmp_path / "alone.toml"
    standalone.write_text(gateway + feed)
    room = tmp_path / "room.toml"
    room.write_text('[server]\nlisten = "127.0.0.1:8444"\n\n' + gateway + feed)
    caller = vigil("link", "create", "--name", "Jane Doe", "--config", room, "--base-dir", base)
    assert caller.returncode == 0, caller.stderr
    [caller_link] = links(base)
    caller_feed = f"Jane Doe ({caller_link['id']})"

    def viewer(config: Path, *more: str) -> subprocess.CompletedProcess[str]:
        return vigil(
            "link", "create", "--name", "Supt. Ward", "--viewer", *more,
            "--config", config, "--base-dir", base,
        )  # fmt: skip

    alone = viewer(standalone, "--incident", "INC-7", "--feeds", "Cam")
    assert alone.returncode == 2, alone.stderr
    assert "no viewer link made" in alone.stderr
    assert "has no [server]" in alone.stderr
    assert "standalone vigil run or vigil gateway" in alone.stderr
    unknown = viewer(room, "--incident", "INC-7", "--feeds", "Cam,Drone 9")
    assert unknown.returncode == 2, unknown.stderr
    assert "no feed named 'Drone 9' on this room server" in unknown.stderr
    assert f"it has: Cam, {caller_feed}" in unknown.stderr
    no_incident = viewer(room, "--feeds", "Cam")
    assert no_incident.returncode == 2
    assert "--incident" in no_incident.stderr
    assert len(links(base)) == 1

    made = viewer(room, "--incident", "INC-7", "--feeds", f"{caller_feed}, Cam")
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[-1].startswith("https://vigil.example:8443/v/")
    [shared] = [link for link in links(base) if link["kind"] == "viewer"]
    assert shared["feeds"] == [caller_feed, "Cam"]
    assert shared["incident"] == "INC-7"

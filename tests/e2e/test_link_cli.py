"""`vigil link create` run as the real program: with no [gateway] in the config, nobody would
serve the link, so none is made (exit 2, a config mistake, with the reason); with one, the
link is made and printed on the last line."""

from __future__ import annotations

import json
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

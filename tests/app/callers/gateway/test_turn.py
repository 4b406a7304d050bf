"""TURN and STUN for phones behind carrier NAT: `[[gateway.ice_servers]]` as the config file
says it, and a TURN user's password from the real keyring (a private Secret Service), as the
caller desk hands them to aiortc and to the caller's page."""

from __future__ import annotations

import logging
from pathlib import Path

import keyring
import pytest
from aiortc import RTCIceServer

from app.callers.gateway.desk import CallerDesk
from app.config import ConfigError, IceServer, parse
from app.credentials import turn_credential
from app.database import open_database
from app.feeds.service import FeedService

TURN = """\
[gateway]
listen = "127.0.0.1:8443"
[[gateway.ice_servers]]
urls = ["turn:turn.example.invalid:3478?transport=udp", "turns:turn.example.invalid:5349"]
username = "vigil"
[[gateway.ice_servers]]
urls = ["stun:stun.example.invalid:3478"]
"""


def test_ice_servers_as_the_readme_writes_them() -> None:
    """In: two [[gateway.ice_servers]] tables, a TURN pair with a username and a STUN one
    without. Out: both, in order, with their URLs as written and the username only where
    given (no password: it never goes in the file)."""
    settings = parse(TURN).gateway
    assert settings is not None
    assert settings.ice_servers == (
        IceServer(
            ("turn:turn.example.invalid:3478?transport=udp", "turns:turn.example.invalid:5349"),
            "vigil",
        ),
        IceServer(("stun:stun.example.invalid:3478",), None),
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[gateway]\nice_servers = "turn:x"\n', "must be a list of tables"),
        ('[gateway]\n[[gateway.ice_servers]]\nurls = ["http://x"]\n', "stun:, stuns:, turn:"),
        ("[gateway]\n[[gateway.ice_servers]]\nurls = []\n", "stun:, stuns:, turn:"),
        ('[gateway]\n[[gateway.ice_servers]]\nurls = ["turn:x"]\nusername = 5\n', "username"),
    ],
)
def test_bad_ice_servers_name_the_key(text: str, said: str) -> None:
    """In: ice_servers as a string, a URL that is not STUN or TURN, no URLs, a username that
    is a number. Out: a ConfigError naming gateway.ice_servers and saying what is wrong."""
    with pytest.raises(ConfigError, match="ice_servers") as caught:
        parse(text, Path("vigil.toml"))
    assert said in str(caught.value)


def test_the_turn_password_comes_from_the_keyring(
    secret_service, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """In: the keyring holds ("vigil", "turn:vigil") = "s3cret-turn"; a caller desk made from
    the TURN config above with the credentials' real lookup; then a desk whose TURN user has
    no password stored. Out: the desk offers aiortc the TURN server with user "vigil" and the
    keyring's password, and the STUN server with neither; with nothing stored the TURN
    server has no credential and the log says the exact `keyring set` command."""
    keyring.set_password("vigil", "turn:vigil", "s3cret-turn")
    settings = parse(TURN).gateway
    assert settings is not None
    desk = CallerDesk(
        open_database(tmp_path / "vigil.db"),
        settings,
        FeedService(),
        turn_credential=turn_credential,
    )
    offered = [(s.urls, s.username, s.credential) for s in desk.ice_servers]
    assert offered == [
        (
            ["turn:turn.example.invalid:3478?transport=udp", "turns:turn.example.invalid:5349"],
            "vigil",
            "s3cret-turn",
        ),
        (["stun:stun.example.invalid:3478"], None, None),
    ]
    assert all(isinstance(s, RTCIceServer) for s in desk.ice_servers)

    keyring.delete_password("vigil", "turn:vigil")
    with caplog.at_level(logging.WARNING):
        bare = CallerDesk(
            open_database(tmp_path / "other.db"),
            settings,
            FeedService(),
            turn_credential=turn_credential,
        )
    assert bare.ice_servers[0].credential is None
    assert "keyring set vigil turn:vigil" in caplog.text

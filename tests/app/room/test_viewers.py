"""Viewer links on the room server: named feeds watched live in a browser from Janus.

The first test uses real parts in a network namespace the test makes (tests/netns.py): a
`RoomServer` with its managed Janus and gateway, a Chromium phone publishing as a caller,
and a second Chromium context as the viewer (tests/room_viewers.py). The rest need no
network."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from app.callers import LinkBook, LinkError, LinkKind, RefusedError, make_link
from app.config import GatewaySettings
from app.database import open_database
from app.room.viewers import check_answer
from tests.netns import in_namespace


def run_viewer(folder: Path) -> dict[str, Any]:
    done = in_namespace(sys.executable, "-m", "tests.room_viewers", str(folder), timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.network
def test_a_viewer_watches_a_caller_from_janus_until_the_link_is_revoked(tmp_path: Path) -> None:
    """In: a room server (managed Janus; a body cam and a drone configured, unreachable); a
    Chromium phone streams as a caller; a viewer link for the caller, the body cam and the
    drone is opened by a second Chromium (a phone-sized context); the body cam's reason is
    stated (Other without words first); bad requests from the page; another device and an
    unknown token; the link revoked.
    Out: /v/ answers 200 and the page decodes the caller's video (30 frames and more, at
    720p) from a Janus subscriber; the caller says Live, the body cam and drone Lost in
    words; the body cam is shuttered until a reason is accepted (Other without words is
    refused with the desk's words), then shows its chip; a non-SDP answer is 400, an
    oversized one 413, a feed number not on the link 404, a feed not in Janus 409; another
    device 410, an unknown token 404, a caller's token on /v/ 404; on revocation the page
    says the link has ended within 2 s, decodes nothing more, Janus has no subscriber left,
    and the page's address answers 410; custody holds view_opened and view_closed for the
    link and the caller's feed, with the address, from and to, and the seconds."""
    result = run_viewer(tmp_path)
    caller = result["caller"]
    assert result["link"]["kind"] == "viewer"
    assert result["url_path"] == "v"
    assert result["page_status"] == 200
    live = result["tiles"][0]
    assert live["frames"] >= 30, live
    assert live["connection"] == "connected"
    assert result["video_size"] == [1280, 720]
    assert result["subscribers_watching"] == 1
    assert [s for s, _ in result["said"]] == ["live", "lost", "lost"]
    assert result["said"][1][1].startswith("Lost")
    assert result["shutter_visible"]
    assert "Other" in result["reason_refused"]
    assert result["chip"] == "Opened: Live incident command · INC-0412"
    assert result["shuttered_after"] is False
    bad = result["bad"]
    assert bad["not_sdp"][0] == 400
    assert "not SDP" in bad["not_sdp"][1]
    assert bad["oversized"][0] == 413
    assert bad["not_json"][0] == 400
    assert bad["no_feed"][0] == 404
    assert bad["drone"][0] == 409
    assert (result["second_device"], result["unknown"], result["caller_token_as_viewer"]) == (
        410,
        404,
        404,
    )
    assert result["cut_off_s"] < 2.0, result["cut_off_s"]
    assert result["subscribers_gone_s"] is not None
    assert result["subscribers_gone_s"] < 2.0
    assert result["frames_after_cut"] == 0
    assert result["ended_text"] == "This link has ended"
    assert result["after_revoke"] == 410
    entries = result["custody"]
    assert [(e["action"], e["subject"]) for e in entries] == [
        ("view_opened", caller),
        ("view_closed", caller),
    ]
    opened, closed = entries
    assert opened["address"] == closed["address"] != ""
    assert opened["actor"] == f"Supt. Ward (viewer link {result['link']['id']})"
    assert opened["incident"] == "INC-0412"
    assert closed["from"] == opened["from"] < closed["to"]
    assert closed["seconds"] > 1
    assert closed["why"] == "revoked by the control room"


def test_a_viewer_link_names_its_feeds_and_lasts_a_shift(tmp_path: Path) -> None:
    """In: a viewer link made for two feeds, with the gateway's 12 h shift; a caller link.
    Out: the viewer link is /v/, its feeds kept in order, usable unopened for the shift;
    its token opens nothing as a caller's (404, and no device takes it), nor a caller's as
    a viewer's; a viewer link without feeds is refused."""
    links = LinkBook(open_database(tmp_path / "vigil.db"), clock=lambda: 1000.0)
    settings = GatewaySettings(public_url="https://room.example:8443")
    link, url = make_link(
        links, settings, name="Supt. Ward", viewer=True, incident="INC-1", feeds=("A", "B")
    )
    assert url.startswith("https://room.example:8443/v/")
    assert (link.kind, link.feeds) == (LinkKind.VIEWER, ("A", "B"))
    assert link.usable_until == 1000.0 + 12 * 3600
    assert link.public()["feeds"] == ["A", "B"]
    token = url.rsplit("/", 1)[1]
    with pytest.raises(LinkError) as refused:
        links.open(token, None)
    assert refused.value.status == 404
    opened, device = links.open(token, None, frozenset({LinkKind.VIEWER}))
    assert device is not None
    assert opened.feeds == ("A", "B")
    _, caller_url = make_link(links, settings, name="Jane Doe")
    with pytest.raises(LinkError):
        links.open(caller_url.rsplit("/", 1)[1], None, frozenset({LinkKind.VIEWER}))
    with pytest.raises(ValueError, match="names its feeds"):
        make_link(links, settings, name="No feeds", viewer=True)


def test_an_answer_must_be_sdp_with_ice_and_a_fingerprint() -> None:
    """In: text that is not SDP; SDP without m=; SDP without its ICE credentials; a
    whole answer's lines.
    Out: each of the first three is a 400 saying what is missing; the last passes."""
    for text, why in (
        ("hello", "v=0"),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n", "no m= line"),
        ("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n", "ice-ufrag"),
    ):
        with pytest.raises(RefusedError) as refused:
            check_answer(text)
        assert refused.value.status == 400
        assert why in refused.value.reason
    check_answer(
        "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:abcd\r\n"
        "a=ice-pwd:abcdefghijklmnopqrstuv\r\na=fingerprint:sha-256 AA:BB\r\n"
    )

"""The wall's caller controls in the real window, on a qasync loop as Vigil runs them:
invite (a link made and texted by a real HTTPS SMS provider on loopback, trusted through
[sms] ca_file; one whose certificate is not trusted costs the text, never the link), a caller's tile
arriving when the link is opened, and the operator ending and removing it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication, QMessageBox

from app.callers.gateway.service import GatewayService
from app.callers.links import LinkState
from app.config import GatewaySettings
from app.config.sms import SmsSettings
from app.feeds.service import FeedService
from app.paths import BaseDir
from app.window import WallWindow
from media.live.feed import FeedState
from tests.sms_provider import HttpsSmsProvider, self_made_certificate
from widgets.callers.invite import Invitation


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


def make_window(tmp: Path, sms: SmsSettings) -> tuple[WallWindow, GatewayService, FeedService]:
    feeds = FeedService()
    settings = GatewaySettings(public_url="https://vigil.test:8443")
    gateway = GatewayService(settings, sms, BaseDir(tmp / "base").ensure(), feeds)
    window = WallWindow([], service=feeds, gateway=gateway)
    return window, gateway, feeds


def run_until(loop: asyncio.AbstractEventLoop, check: Callable[[], bool], timeout: float) -> None:
    """Run the loop (tasks need it running, not just Qt's events) until `check` holds."""

    async def wait() -> None:
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(0.02)

    loop.run_until_complete(wait())


def invite_jane_by_text(qtbot: Any, window: WallWindow) -> tuple[Any, str]:
    """Invite caller (the menu action) for Jane Doe, +44 7700 900123, INC-7, to be texted:
    the dialog and the link it shows."""
    window.invite_action.trigger()
    dialog = window.callers._dialog
    assert dialog is not None
    assert dialog.isVisible()
    dialog.name_edit.setText("Jane Doe")
    dialog.phone_edit.setText("+44 7700 900123")
    dialog.incident_edit.setText("INC-7")
    dialog.send_box.setChecked(True)
    with qtbot.waitSignal(dialog.requested) as asked:
        dialog.create_button.click()
    assert asked.args == [Invitation("Jane Doe", "+447700900123", "INC-7", False, False, True)]
    url = dialog.url_field.text()
    assert url.startswith("https://vigil.test:8443/c/")
    assert dialog.qr.text == url
    return dialog, url


def test_invite_makes_a_link_and_texts_it(
    qtbot: Any, loop: asyncio.AbstractEventLoop, short_tmp: Path
) -> None:
    """In: the operator opens Invite caller (the menu action), asks for a link for Jane
    Doe, +447700900123, INC-7, to be texted; the SMS provider is an HTTPS server on
    loopback whose self-made certificate [sms] ca_file names.
    Out: the dialog shows the link (its QR code holds the same URL), the provider got one
    JSON request with that number and the link in the text, the dialog says it was sent,
    and the database records the link as pending and texted."""
    provider = HttpsSmsProvider(self_made_certificate(short_tmp / "sms-tls"), status=200)
    loop.run_until_complete(provider.start())
    sms = SmsSettings(
        provider="http", url=provider.url, auth="none", ca_file=provider.certificate.path
    )
    window, gateway, _ = make_window(short_tmp, sms)
    qtbot.addWidget(window)
    window.show()
    dialog, url = invite_jane_by_text(qtbot, window)

    run_until(loop, lambda: "Text sent" in dialog.sent_label.text(), timeout=10)
    [received] = [request["json"] for request in provider.requests]
    assert received["to"] == "+447700900123"
    assert url in received["text"]
    assert "Text sent to +447700900123" in dialog.sent_label.text()
    (link,) = gateway.desk.links.all()
    assert link.state is LinkState.PENDING
    assert gateway.db["links"].get(link.id)["sms_sent_at"] is not None
    loop.run_until_complete(provider.stop())


def test_a_provider_nobody_trusts_loses_the_text_not_the_link(
    qtbot: Any, loop: asyncio.AbstractEventLoop, short_tmp: Path
) -> None:
    """In: the same invitation, texted by an HTTPS provider whose self-made certificate is
    not trusted ([sms] has no ca_file, and the system's store does not know it).
    Out: the dialog still shows the link and its QR code, and says the text was not sent
    because the provider's certificate is not trusted, pointing at [sms] ca_file; the link
    is in the database, pending and not texted, so the operator can read it out; the
    provider got nothing."""
    provider = HttpsSmsProvider(self_made_certificate(short_tmp / "sms-tls"))
    loop.run_until_complete(provider.start())
    window, gateway, _ = make_window(
        short_tmp, SmsSettings(provider="http", url=provider.url, auth="none")
    )
    qtbot.addWidget(window)
    window.show()
    dialog, url = invite_jane_by_text(qtbot, window)

    run_until(loop, lambda: "certificate" in dialog.sent_label.text(), timeout=10)
    said = dialog.sent_label.text()
    assert "Text sent" not in said
    assert "this machine does not trust: self-signed certificate" in said
    assert "[sms] ca_file" in said
    assert dialog.url_field.text() == url
    (link,) = gateway.desk.links.all()
    assert link.state is LinkState.PENDING
    assert gateway.db["links"].get(link.id)["sms_sent_at"] is None
    assert provider.requests == []
    loop.run_until_complete(provider.stop())


def test_caller_tile_arrives_and_the_operator_ends_it(
    qtbot: Any, loop: asyncio.AbstractEventLoop, short_tmp: Path
) -> None:
    """In: a link is made and opened by a phone (the page request), then the operator
    chooses "End caller's stream…" on its tile and confirms, then "Remove tile".
    Out: a selected caller tile appears named for the caller; after confirming, the feed
    is ENDED "ended by the control room" and the link can never be used again; removing
    the tile takes it off the wall and out of the feed service."""
    window, gateway, feeds = make_window(short_tmp, SmsSettings())
    qtbot.addWidget(window)
    window.show()
    assert window.invite_action.isEnabled()  # a gateway: inviting is offered
    link, url = gateway.desk.invite(name="Sam Lee", incident="INC-9")
    gateway.desk.open_page(url.rsplit("/", 1)[1], None)

    assert len(window.wall.tiles) == 1
    tile = window.wall.tiles[0]
    assert tile.feed.name.startswith("Sam Lee")
    assert window.wall.selected is tile

    window.wall.end_requested.emit(tile.feed)
    box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox))
    end = next(b for b in box.buttons() if b.text() == "End stream")
    end.click()
    run_until(loop, lambda: tile.feed.connection.state is FeedState.ENDED, timeout=10)
    assert tile.feed.connection.error == "ended by the control room"
    assert gateway.desk.links.get(link.id).state is LinkState.ENDED

    window.wall.remove_requested.emit(tile.feed)
    assert window.wall.tiles == []
    assert feeds.feeds == []


def test_without_a_gateway_inviting_is_not_offered(qtbot: Any) -> None:
    """In: a window with no caller gateway configured.
    Out: Invite caller is disabled and says why; the empty wall says no feeds are configured."""
    window = WallWindow([])
    qtbot.addWidget(window)
    assert not window.invite_action.isEnabled()
    assert "[gateway]" in window.invite_action.toolTip()
    assert json.dumps(window.wall._empty_text).count("configured") == 1

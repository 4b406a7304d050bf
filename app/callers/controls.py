"""The wall's controls for callers: "Invite caller…", and ending a caller's stream from its
tile. Glue between Qt views (widgets/) and the caller gateway's service, on the GUI thread;
the asynchronous parts (sending the text, closing the media session) run as tasks on the
qasync loop and report back into the views.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from app.callers.gateway.service import GatewayService
from app.callers.sms import SmsError
from app.feeds import FeedService
from media.live import Feed
from widgets.callers import Invitation, InviteDialog, IssuedLink
from widgets.wall import Wall

log = logging.getLogger(__name__)


class CallerControls(QObject):
    def __init__(
        self, gateway: GatewayService, feeds: FeedService, wall: Wall, parent: QWidget
    ) -> None:
        super().__init__(parent)
        self._gateway = gateway
        self._feeds = feeds
        self._wall = wall
        self._window = parent
        self._dialog: InviteDialog | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        feeds.added.append(self._on_feed_added)
        self.watch(wall)

    def watch(self, wall: Wall) -> None:
        """A wall whose tiles may show callers (one per screen): a caller's tile is taken
        off whichever holds it when the call ends, and ended from its own menu."""
        self._feeds.removed.append(wall.remove_feed)
        wall.end_requested.connect(self._confirm_end)
        wall.remove_requested.connect(self._feeds.remove)

    def invite(self) -> InviteDialog:
        """Open (or bring forward) the invitation dialog; the wall keeps running."""
        if self._dialog is None:
            self._dialog = InviteDialog(can_send=self._gateway.can_send, parent=self._window)
            self._dialog.requested.connect(self._on_invitation)
        self._dialog.show()
        self._dialog.raise_()
        return self._dialog

    def _on_feed_added(self, feed: Feed) -> None:
        tile = self._wall.add_feed(feed)
        self._wall.select(tile)  # a new caller is what the operator is waiting for

    def _on_invitation(self, invitation: Invitation) -> None:
        dialog = self._dialog
        assert dialog is not None
        try:
            link, url = self._gateway.desk.invite(
                name=invitation.name,
                phone=invitation.phone,
                incident=invitation.incident,
                location_only=invitation.location_only,
                officer=invitation.officer,
                created_by=getpass.getuser(),
            )
        except (ValueError, OSError) as exc:
            log.exception("could not make a caller link")
            dialog.show_error(f"Could not make the link: {exc}")
            return
        log.info("link %s made for %s", link.id, link.kind.value)
        dialog.show_link(IssuedLink(url=url, expires_at=link.expires_at, kind=link.kind.value))
        if invitation.send:

            async def send() -> None:
                try:
                    await self._gateway.send_link(link, url)
                except SmsError as exc:
                    dialog.show_sent(False, str(exc))
                else:
                    dialog.show_sent(True, "")

            self._run(send())

    def _confirm_end(self, feed: Feed) -> None:
        link_id = self._gateway.desk.call_for_feed(feed)
        if link_id is None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "End caller's stream",
            f"End the live video from {feed.name}?\n\nThe caller's phone stops sharing and "
            "the link cannot be used again.",
            QMessageBox.StandardButton.Cancel,
            self._window,
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        end = box.addButton("End stream", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def decided() -> None:
            if box.clickedButton() is end:
                self.end(link_id)

        box.finished.connect(decided)
        box.open()  # not exec(): the wall keeps painting while the operator decides

    def end(self, link_id: str) -> None:
        log.info("link %s: ended from the wall", link_id)
        self._run(self._gateway.desk.end(link_id))

    def _run(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

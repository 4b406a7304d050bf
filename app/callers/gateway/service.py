"""The caller gateway as one service: database, caller desk, certificate, HTTPS server, SMS.

`vigil run` starts it on the wall's event loop when the config has a [gateway]; `vigil
gateway` runs it alone. A gateway that cannot start (its port taken, a bad certificate)
says why in the log and in `vigil status`, and the wall carries on without it.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from app.callers.gateway.desk import CallerDesk
from app.callers.gateway.ice import offer_addresses
from app.callers.gateway.server import Gateway
from app.callers.links import CallerLink
from app.callers.sms import SmsError, make_provider, sms_secret
from app.config import Config, GatewaySettings, SmsSettings, message_text
from app.credentials import turn_credential
from app.database import open_database
from app.feeds import FeedService
from app.paths import BaseDir
from app.tls import CertificateInfo, TlsError, server_ssl_context

log = logging.getLogger(__name__)


class GatewayService:
    def __init__(
        self, settings: GatewaySettings, sms: SmsSettings, base: BaseDir, feeds: FeedService
    ):
        self.settings = settings
        self.sms = sms
        self.base = base
        self.db = open_database(base.database)
        self.desk = CallerDesk(self.db, settings, feeds, turn_credential=turn_credential)
        self.gateway = Gateway(self.desk)
        self.certificate: CertificateInfo | None = None
        self.error: str | None = None

    @classmethod
    def from_config(
        cls, config: Config | None, base: BaseDir, feeds: FeedService
    ) -> GatewayService | None:
        if config is None or config.gateway is None:
            return None
        return cls(config.gateway, config.sms, base, feeds)

    @property
    def can_send(self) -> bool:
        return self.sms.provider != "none"

    async def start(self) -> bool:
        """Listen; False (with `error` set and logged) when the gateway cannot."""
        settings = self.settings
        offer_addresses(settings.ice_addresses)
        try:
            context, self.certificate = server_ssl_context(
                self.base.certificates,
                settings.hostnames,
                certificate=settings.certificate,
                private_key=settings.private_key,
            )
            await self.gateway.start(settings.host, settings.port, context)
        except (TlsError, OSError) as exc:
            self.error = f"cannot start the caller gateway: {exc}"
            log.error("%s", self.error)
            return False
        self.desk.start()
        if self.gateway.viewers is not None:
            self.gateway.viewers.start()
        log.info(
            "gateway certificate %s (%s)",
            self.certificate.sha256,
            "self-signed" if self.certificate.self_signed else "the operator's",
        )
        return True

    async def close(self) -> None:
        if self.gateway.viewers is not None:
            await self.gateway.viewers.close()
        await self.desk.close()
        await self.gateway.close()

    async def send_link(self, link: CallerLink, url: str) -> None:
        """Text the link to the caller's phone; SmsError says why it was not sent."""
        await text_link(self.sms, self.settings.organisation, link, url)
        self.desk.links.mark_sent(link.id)

    def status(self) -> dict[str, Any]:
        return {
            "listening": self.gateway.port is not None,
            "address": f"{self.settings.host}:{self.gateway.port or self.settings.port}",
            "public_url": self.settings.public_url,
            "certificate_sha256": self.certificate.sha256 if self.certificate else None,
            "error": self.error,
            "connections": self.gateway.connections(),
            "links": [link.public() for link in self.desk.links.all(active_only=True)],
        }


async def text_link(sms: SmsSettings, organisation: str, link: CallerLink, url: str) -> None:
    """Send `url` to the link's phone by the configured provider; SmsError says why not."""
    if not link.phone:
        raise SmsError("no mobile number was given")
    needs_secret = sms.provider != "none" and sms.auth != "none"
    provider = make_provider(sms, sms_secret() if needs_secret else None)
    text = message_text(
        sms,
        organisation=organisation,
        link=url,
        incident=link.incident,
        minutes=math.ceil((link.expires_at - time.time()) / 60),
        name=link.name,
    )
    await provider.send(link.phone, text)

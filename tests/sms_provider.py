"""A fake SMS provider on loopback, served over HTTPS as the README's provider is.

It takes a certificate Vigil made for the test (`self_made_certificate`, by app/tls.py,
naming 127.0.0.1): a test trusts it by naming that file in [sms] `ca_file`, as a control
room names its private CA, or leaves it untrusted to see the refusal. It records each POST
to /v1/messages and answers with the status and body it is given.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from app.tls import server_ssl_context
from tests.servers import LOOPBACK, free_port


@dataclass(frozen=True)
class Certificate:
    """A server context for the provider and the PEM file of its certificate."""

    context: ssl.SSLContext
    path: Path


def self_made_certificate(folder: Path) -> Certificate:
    """A new self-signed certificate for 127.0.0.1 in `folder` (made there if need be)."""
    context, info = server_ssl_context(folder, [LOOPBACK])
    return Certificate(context, info.path)


class HttpsSmsProvider:
    """Serves https://127.0.0.1:PORT/v1/messages with `certificate`; `requests` holds what
    each POST carried (path, content type, Authorization and the JSON body)."""

    def __init__(
        self, certificate: Certificate, status: int = 202, answer: str = '{"id": "msg-1"}'
    ) -> None:
        self.certificate, self.status, self.answer = certificate, status, answer
        self.requests: list[dict[str, Any]] = []
        self.port = free_port()
        self.url = f"https://{LOOPBACK}:{self.port}/v1/messages"
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append(
            {
                "path": request.path,
                "content_type": request.content_type,
                "authorization": request.headers.get("Authorization"),
                "json": await request.json(),
            }
        )
        return web.Response(status=self.status, text=self.answer)

    async def start(self) -> HttpsSmsProvider:
        app = web.Application()
        app.router.add_post("/v1/messages", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, LOOPBACK, self.port, ssl_context=self.certificate.context)
        await site.start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> HttpsSmsProvider:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

"""The caller's page, filled in for one link from resources/caller/page.html.

The template holds no script or style of its own (the page's Content-Security-Policy
allows only files from the gateway); the link's settings travel as JSON in a data block.
"""

from __future__ import annotations

import html
import json
from functools import cache
from typing import Any

from app.callers.gateway.desk import PageView
from resources import ROOT

CALLER_DIR = ROOT / "caller"
LOCATION_INTERVAL_S = 5.0


@cache
def _template() -> str:
    return (CALLER_DIR / "page.html").read_text(encoding="utf-8")


def _script_json(data: dict[str, Any]) -> str:
    """JSON safe inside a <script> element: no way to close it early."""
    text = json.dumps(data, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(view: PageView, *, base: str, ice_servers: list[dict[str, Any]]) -> str:
    link = view.link
    config = {
        "kind": link.kind.value,
        "location_only": link.location_only,
        "consent_sha256": view.text.sha256,
        "base": base,
        "ice_servers": ice_servers,
        "location_interval_s": LOCATION_INTERVAL_S,
    }
    text = view.text
    values = {
        "title": html.escape(text.asker),
        "asker": html.escape(text.asker),
        "heading": html.escape(text.heading),
        "points_html": "\n".join(f"<li>{html.escape(p)}</li>" for p in text.points),
        "consent_html": "\n".join(f"<p>{html.escape(p)}</p>" for p in text.paragraphs),
        "config_json": _script_json(config),
    }
    page = _template()
    for key, value in values.items():
        page = page.replace("{{" + key + "}}", value)
    return page


GONE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Link no longer valid</title><link rel="stylesheet" href="/caller/caller.css"></head>
<body data-state="ended"><main class="screen"><h1>This link can no longer be used</h1>
<p>If you still need to show the control room what is happening, ask them for a new link.</p>
</main></body></html>"""

UNKNOWN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Link not found</title><link rel="stylesheet" href="/caller/caller.css"></head>
<body data-state="error"><main class="screen"><h1>Link not found</h1>
<p>Check that the whole link was opened, or ask the control room for a new one.</p>
</main></body></html>"""

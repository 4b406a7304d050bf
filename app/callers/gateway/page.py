"""The caller's page, filled in for one link from resources/caller/page.html, and a viewer
link's from resources/viewer/page.html.

The template holds no script or style of its own (the page's Content-Security-Policy
allows only files from the gateway); the link's settings travel as JSON in a data block.
"""

from __future__ import annotations

import html
import json
from functools import cache
from typing import Any

from app.callers.gateway.desk import PageView
from app.callers.viewing import ViewerPage
from resources import ROOT

CALLER_DIR = ROOT / "caller"
VIEWER_DIR = ROOT / "viewer"
LOCATION_INTERVAL_S = 5.0
STATUS_INTERVAL_S = 1.0
"""How often a viewer's page asks for its feeds' states: a revoked link is cut off within
about this, the README's 2 s with room to spare."""


@cache
def _template(folder: str = "caller") -> str:
    return (ROOT / folder / "page.html").read_text(encoding="utf-8")


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


def render_viewer_page(view: ViewerPage, *, base: str, ice_servers: list[dict[str, Any]]) -> str:
    link = view.link
    config = {
        "base": base,
        "ice_servers": ice_servers,
        "status_interval_s": STATUS_INTERVAL_S,
        "feeds": view.feeds,
        "reasons": list(view.reasons),
        "other_reason": view.other_reason,
        "incident": link.incident,
    }
    who = f"Shared with {link.name}" + (f" · incident {link.incident}" if link.incident else "")
    values = {
        "title": html.escape(who),
        "who": html.escape(who),
        "config_json": _script_json(config),
    }
    page = _template("viewer")
    for key, value in values.items():
        page = page.replace("{{" + key + "}}", value)
    return page


VIEWER_GONE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Link no longer valid</title><link rel="stylesheet" href="/viewer/viewer.css"></head>
<body data-state="ended"><main class="screen"><h1>This link has ended</h1>
<p>It was revoked, it ran out, or it is open on another device. Ask the control room for
a new one if you still need to watch.</p>
</main></body></html>"""

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

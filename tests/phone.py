"""A caller's phone for the tests: Debian's Chromium, headless, driven by Playwright.

It has a fake camera (Chromium's test pattern, or a .y4m file), answers its own
permission prompts, trusts the gateway's self-made certificate, and reports the position
the test sets, since a machine with no network has no location source of its own. WebRTC
on loopback needs Chromium's leave to use 127.0.0.1.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

LONDON = {"latitude": 51.5072, "longitude": -0.1276, "accuracy": 8}


def chromium_args(video_file: Path | None = None) -> list[str]:
    args = [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        "--ignore-certificate-errors",
        "--allow-loopback-in-peer-connection",
        "--no-sandbox",
    ]
    if video_file is not None:
        args.append(f"--use-file-for-fake-video-capture={video_file}")
    return args


@contextmanager
def phone_browser(video_file: Path | None = None) -> Iterator[Any]:
    """A headless Chromium; `.new_context(**PHONE)` gives one phone (one device)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=chromium_args(video_file)
        )
        try:
            yield browser
        finally:
            browser.close()


def phone(browser: Any, where: dict[str, float] | None = None) -> Any:
    """A new phone (browser context: its own cookies) at `where`, camera and location
    allowed, the size of a common handset."""
    return browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation=where or LONDON,
        permissions=["geolocation", "camera"],
        ignore_https_errors=True,
    )


def open_link(browser: Any, url: str, where: dict[str, float] | None = None) -> tuple[Any, Any]:
    """A new phone at `where` with the link opened: its browser context and page."""
    context = phone(browser, where)
    page = context.new_page()
    page.goto(url)
    return context, page

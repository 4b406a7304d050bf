"""A 999 caller's video recorded as evidence, end to end: a real headless Chromium (fake
camera) against the wall's own gateway; the wall read back only through `vigil status`,
`vigil audit verify` and the files under its base dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest

from tests.e2e.harness import vigil
from tests.e2e.test_caller import Desk
from tests.e2e.test_recording import plays_whole, segments
from tests.phone import open_link, phone_browser

pytestmark = pytest.mark.network


@pytest.fixture
def desk(short_tmp: Path) -> Iterator[Desk]:
    desk = Desk(short_tmp, "\n[recording]\nsegment_seconds = 2\n")
    yield desk
    desk.wall.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with phone_browser() as browser:
        yield browser


def test_a_caller_is_recorded_after_consent_and_audits_valid(desk: Desk, browser: Any) -> None:
    """In: a caller opens the link (the consent screen), and only then agrees and streams
    for a few seconds, then presses End; the wall is stopped.
    Out: before the answer the caller's feed is recorded by policy but nothing has been
    encoded or written; after it, `vigil status` shows the caller's frames encoded into
    segments with nothing shed; after End and the stop, every caller segment plays from a
    key frame, and `vigil audit verify` says VALID, counting exactly the files on disk."""
    context, page = open_link(browser, desk.link("--name", "Jane Doe"))
    before = desk.wall.wait_for(lambda s: desk.caller(s) is not None, timeout=10)
    name = desk.caller(before)["name"]
    waiting = before["recording"]["feeds"][name]
    assert waiting["recorded"] is True
    assert waiting["segments"] == 0
    assert waiting["encoder"]["frames_in"] == 0

    page.click("#agree")
    page.wait_for_selector("body[data-state=live]", timeout=15_000)
    status = desk.wall.wait_for(
        lambda s: s["recording"]["feeds"][name]["segments"] >= 2, timeout=30
    )
    caller = status["recording"]["feeds"][name]
    assert caller["encoder"]["frames_encoded"] > 30
    assert caller["encoder"]["frames_shed"] == 0
    assert caller["error"] is None
    page.click("#end")
    page.wait_for_selector("body[data-state=ended]", timeout=10_000)
    context.close()

    code, _, err = desk.wall.stop()
    assert code == 0, err
    files = segments(desk.base)
    mine = [p for p in files if p.parent.name == name]
    assert len(mine) >= 2
    for path in mine:
        assert plays_whole(path), path
        with av.open(str(path)) as container:
            assert container.streams.video[0].codec_context.name == "h264"
    audit = vigil("audit", "verify", "--base-dir", desk.base)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert audit.stdout.startswith("VALID")
    assert f"{len(files)} segments" in audit.stdout.splitlines()[0]

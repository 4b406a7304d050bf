"""The tag dialog on its own: what it says about the moment tagged."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from widgets.evidence.tag_dialog import TagDialog, TaggedMoment

T0 = 1_735_732_800.0  # 2025-01-01T12:00:00Z


def test_the_summary_shows_a_feed_name_with_angle_brackets_as_written(qtbot: QtBot) -> None:
    """In: a caller's feed named by the operator "Caller <Jane> & son". Out: the summary's
    rich text escapes it, so the name shows whole instead of being read as a tag."""
    moment = TaggedMoment("CLIP-20250101-120000", "Caller <Jane> & son", T0 - 30, T0)
    dialog = TagDialog(moment)
    qtbot.addWidget(dialog)
    assert "Caller &lt;Jane&gt; &amp; son · 11:59:30–12:00:00 UTC" in dialog.summary.text()

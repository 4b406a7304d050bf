"""The Review window, driven as forensic staff would over a real base dir: clips found by each
field of the search bar, one played, paused, stepped frame by frame, sought and sped up, its
track followed, a still taken, and every viewing in the custody log.

The recording is the test card through the real Recorder and ledger (tests/review_base.py),
so the frame on screen is read back from its own pixels.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QFileDialog, QStyle, QStyleOptionSlider
from pytestqt.exceptions import TimeoutError
from pytestqt.qtbot import QtBot

from app.database import open_database
from app.evidence.custody import CustodyAction, CustodyLog
from app.evidence.review import open_review
from media.clips.reader import format_utc
from media.live.feed import FeedKind
from media.testcard import read_frame_number
from tests.review_base import FEED, START_LAT, STEP_LAT, ReviewBase, make_review_base
from tests.review_media import FPS, T0, encode_card
from widgets.evidence.review_timeline import GAP_COLOUR
from widgets.evidence.review_window import ReviewWindow

FRAME_S = 1 / FPS


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return encode_card(tmp_path_factory.mktemp("card") / "card.ts", 6.0)


@pytest.fixture
def evidence(tmp_path: Path, card: Path) -> ReviewBase:
    return make_review_base(tmp_path / "base", card)


def shown_window(qtbot: QtBot, evidence: ReviewBase, folder: Path) -> ReviewWindow:
    window = open_review(evidence.base, actor="analyst", export_folder=folder)
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.activateWindow()
    qtbot.waitExposed(window)
    # Keys reach the window's shortcuts only while it is the active window.
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.waitUntil(lambda: window.searches >= 1)
    return window


@pytest.fixture
def window(qtbot: QtBot, evidence: ReviewBase, tmp_path: Path) -> ReviewWindow:
    return shown_window(qtbot, evidence, tmp_path / "exports")


def listed(window: ReviewWindow) -> set[str]:
    clips = window.clips
    return {clip.id for row in range(clips.rowCount()) if (clip := clips.clip(row))}


def card_number(window: ReviewWindow) -> int | None:
    """Which frame of the test card the player shows, read from the picture itself."""
    shown = window.player.shown
    return None if shown is None else read_frame_number(shown.pixels[:, : shown.width])


def open_walk(qtbot: QtBot, window: ReviewWindow, evidence: ReviewBase) -> None:
    window.select_clip(evidence.walk)
    qtbot.waitUntil(lambda: card_number(window) == 10, timeout=5000)


def custody(evidence: ReviewBase, subject: str) -> list[tuple[str, str]]:
    db = open_database(evidence.base.database)
    try:
        return [(e.action, e.actor) for e in CustodyLog(db).entries(subject)]
    finally:
        db.close()


def test_each_search_field_narrows_the_list(
    qtbot: QtBot, window: ReviewWindow, evidence: ReviewBase
) -> None:
    """In: each field of the search bar in turn, then Clear. Out: the table lists just the
    clips that field names, and all three again after Clear."""
    bar = window.search_bar
    walk, crowd, old = evidence.walk, evidence.crowd, evidence.old
    assert listed(window) == {walk, crowd, old}
    qtbot.waitUntil(lambda: bar.feed.count() == 3)  # any, BWV-4521, DRONE-7
    steps = [
        (lambda: bar.text.setText("knife"), {walk}),
        (lambda: bar.text.setText("PARLIAMENT"), {crowd}),
        (bar.text.clear, {walk, crowd, old}),
        (lambda: bar.tag.setText("vehicle"), {walk, old}),
        (lambda: bar.incident.setText("inc-0042"), {walk}),
        (bar.clear, {walk, crowd, old}),
        (lambda: bar.feed.setCurrentIndex(bar.feed.findText("DRONE-7")), {crowd}),
        (lambda: bar.feed.setEditText(FEED), {walk, old}),
        (bar.clear, {walk, crowd, old}),
        (lambda: bar.kind.setCurrentIndex(bar.kind.findData(FeedKind.BODYCAM.value)), {walk}),
        (bar.clear, {walk, crowd, old}),
        (lambda: bar.set_range(T0 - 3 * 86400, T0 - 86400), {old}),
        (lambda: bar.set_range(T0 + 1800, None), {crowd}),
        (lambda: bar.set_range(None, T0 + 60), {walk, old}),
    ]
    for step, (change, wanted) in enumerate(steps):
        change()
        try:
            qtbot.waitUntil(lambda wanted=wanted: listed(window) == wanted, timeout=3000)
        except TimeoutError:
            pytest.fail(f"step {step}: {bar.query()} listed {listed(window)}, not {wanted}")
    assert window.found_label.text() == "2 clips found"


def test_play_pause_step_seek_and_speed(
    qtbot: QtBot, window: ReviewWindow, evidence: ReviewBase
) -> None:
    """In: the 0.95-4.95 s clip chosen; Right, Left, . and , ; the slider moved; 4x and
    Space; K; J. Out: the first frame is the card's 10, at its UTC time to the ms; each
    step shows exactly the next or previous frame, 0.1 s on or back; the slider shows the
    frame it was moved to; playing moves forward through frames inside the clip, K stops
    it, and J and L change the speed one step."""
    open_walk(qtbot, window, evidence)
    player = window.player
    assert f"{format_utc(evidence.frame_utc(10))} UTC" in player.time_label.text()
    assert "frame 1 of 40" in player.time_label.text()
    assert "3 segments" in player.info_label.text()
    assert "no gaps" in player.info_label.text()

    def utc() -> float:
        assert player.shown is not None
        return player.shown.ref.utc

    before = utc()
    table = window.table
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: card_number(window) == 11)
    assert utc() - before == pytest.approx(FRAME_S, abs=1e-6)
    qtbot.keyClick(table, Qt.Key.Key_Period)
    qtbot.waitUntil(lambda: card_number(window) == 12)
    qtbot.keyClick(table, Qt.Key.Key_Comma)
    qtbot.waitUntil(lambda: card_number(window) == 11)
    qtbot.keyClick(table, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: card_number(window) == 10)
    assert utc() == before
    qtbot.mouseClick(player.forward_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: card_number(window) == 11)
    qtbot.mouseClick(player.back_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: card_number(window) == 10)

    player.timeline.setValue(3060)  # ms after the clip's start (0.95 s): 4.01 s
    qtbot.waitUntil(lambda: card_number(window) == 40)
    assert utc() == pytest.approx(evidence.frame_utc(40), abs=1e-6)
    assert "frame 31 of 40" in player.time_label.text()
    qtbot.keyClick(table, Qt.Key.Key_Home)
    qtbot.waitUntil(lambda: card_number(window) == 10)

    player.set_speed(4.0)
    qtbot.keyClick(table, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: player.state.playing)
    qtbot.waitUntil(lambda: (card_number(window) or 0) >= 16, timeout=5000)
    assert window.opened is not None
    clip = window.opened.clip
    assert clip.start_utc <= utc() <= clip.end_utc
    qtbot.keyClick(table, Qt.Key.Key_K)
    qtbot.waitUntil(lambda: not player.state.playing)
    paused_at = card_number(window)
    qtbot.wait(300)
    assert card_number(window) == paused_at
    assert timeline_value(window) == round(
        (evidence.frame_utc(paused_at or 0) - clip.start_utc) * 1000
    )
    qtbot.keyClick(table, Qt.Key.Key_J)
    assert player.speed.currentData() == 2.0
    assert player.player is not None
    qtbot.keyClick(table, Qt.Key.Key_L)  # paused: L plays
    qtbot.waitUntil(lambda: player.state.playing)
    qtbot.keyClick(table, Qt.Key.Key_L)  # playing: L is faster
    assert player.speed.currentData() == 4.0
    qtbot.waitUntil(lambda: not player.state.playing, timeout=5000)  # it plays to the end
    assert card_number(window) == 49


def timeline_value(window: ReviewWindow) -> int:
    return window.player.timeline.value()


def test_track_follows_the_frame(qtbot: QtBot, window: ReviewWindow, evidence: ReviewBase) -> None:
    """In: the clip at the card's frame 30 (3.0 s), then 35 (3.5 s). Out: the map's one
    marker is at the fix taken at 3 s, with the whole track (0-4 s) as its trail, and the
    text under the map gives that position and the fix's age at the frame."""
    open_walk(qtbot, window, evidence)
    window.player.seek(20)
    qtbot.waitUntil(lambda: card_number(window) == 30)
    track = window.track
    lat = START_LAT + 3 * STEP_LAT
    assert track.fix is not None
    assert track.fix.lat == pytest.approx(lat)
    assert f"{lat:.6f}" in track.label.text()
    assert "0.0 s before this frame (4 of 5)" in track.label.text()
    model = track.model
    assert model.rowCount() == 1
    roles = {bytes(name.data()).decode(): role for role, name in model.roleNames().items()}
    index = model.index(0, 0)
    assert model.data(index, roles["position"]).latitude() == pytest.approx(lat)
    assert len(model.data(index, roles["trail"])) == 5
    window.player.seek(25)
    qtbot.waitUntil(lambda: card_number(window) == 35)
    assert "0.5 s before this frame (4 of 5)" in track.label.text()


def test_viewing_is_in_the_custody_log(
    qtbot: QtBot, window: ReviewWindow, evidence: ReviewBase
) -> None:
    """In: one clip opened, then another, then the window closed; shown again, a clip
    opened, and the application quitting. Out: the first clip's view_opened then
    view_closed, then the second's, each by the analyst; after the window is shown again
    the clip opens as before, and its viewing is closed before quitting goes on."""
    open_walk(qtbot, window, evidence)
    qtbot.waitUntil(lambda: custody(evidence, evidence.walk)[-1:] == [("view_opened", "analyst")])
    window.select_clip(evidence.old)
    qtbot.waitUntil(lambda: window.opened is not None and window.opened.clip.id == evidence.old)
    assert "No recording covers this clip" in window.player.view._empty_text
    assert "No position was recorded" in window.track.label.text()
    qtbot.waitUntil(
        lambda: (
            [a for a, _ in custody(evidence, evidence.walk)][-2:]
            == [CustodyAction.VIEW_OPENED, CustodyAction.VIEW_CLOSED]
        )
    )
    window.close()
    qtbot.waitUntil(
        lambda: (
            custody(evidence, evidence.old)[-2:]
            == [("view_opened", "analyst"), ("view_closed", "analyst")]
        )
    )
    window.show()  # the main window shows the same Review window again
    qtbot.waitUntil(lambda: window.searches >= 2)
    open_walk(qtbot, window, evidence)
    qtbot.waitUntil(lambda: custody(evidence, evidence.walk)[-1] == ("view_opened", "analyst"))
    window.finish()  # as the application quits: written before it returns
    assert custody(evidence, evidence.walk)[-1] == ("view_closed", "analyst")


def test_still_through_the_dialog(
    qtbot: QtBot, window: ReviewWindow, evidence: ReviewBase, tmp_path: Path
) -> None:
    """In: frame 21 (the card's 30) on screen, Export still…, a name in the dialog. Out:
    the PNG's picture is that frame, its hash checks with sha256sum -c, the window says
    where it went, and the custody log has the still_export."""
    open_walk(qtbot, window, evidence)
    window.player.seek(20)
    qtbot.waitUntil(lambda: card_number(window) == 30)
    qtbot.mouseClick(window.still_button, Qt.MouseButton.LeftButton)
    dialog = window.findChild(QFileDialog)
    assert dialog is not None
    assert dialog.selectedFiles()[0].endswith(f"{evidence.walk}-frame000021.png")
    out = tmp_path / "stills" / "door.png"
    out.parent.mkdir()
    dialog.selectFile(str(out))
    dialog.accept()
    qtbot.waitUntil(lambda: "Still written" in window.message.text(), timeout=5000)
    image = QImage(str(out)).convertToFormat(QImage.Format.Format_RGB888)
    bits = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    pixels = bits.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 3]
    picture = pixels[:120, : 160 * 3].reshape(120, 160, 3)
    assert read_frame_number(picture) == 30
    check = subprocess.run(["sha256sum", "-c", "door.png.sha256"], cwd=out.parent, check=False)
    assert check.returncode == 0
    assert custody(evidence, evidence.walk)[-1] == ("still_export", "analyst")


def test_a_lost_segment_shows_as_a_gap(qtbot: QtBot, tmp_path: Path, card: Path) -> None:
    """In: the middle segment (2-4 s) missing from the ledger. Out: the player says one
    2.0 s gap, the timeline paints it red, and stepping from the card's frame 19 goes
    straight to 40."""
    evidence = make_review_base(tmp_path / "gap", card, unlisted=(1,))
    window = shown_window(qtbot, evidence, tmp_path)
    open_walk(qtbot, window, evidence)
    player = window.player
    assert "1 gap (2.0 s)" in player.info_label.text()
    strip = player.timeline.grab().toImage()
    reds = [
        x
        for x in range(strip.width())
        if strip.pixelColor(x, strip.height() // 2).name() == GAP_COLOUR.name()
    ]
    assert reds, "no red on the timeline"
    middle = strip.width() / 2
    assert min(reds) < middle < max(reds)
    player.seek(9)
    qtbot.waitUntil(lambda: card_number(window) == 19)
    handle_before = handle_x(window)
    player.step(1)
    qtbot.waitUntil(lambda: card_number(window) == 40)
    handle_after = handle_x(window)
    # The handle sits where the clip's time is: before the red, then past it.
    assert handle_before < min(reds) + 4
    assert handle_after > max(reds) - 4
    player.timeline.setValue(2000)  # 2.95 s, inside the gap: the last picture before it
    qtbot.waitUntil(lambda: card_number(window) == 19)


def handle_x(window: ReviewWindow) -> int:
    """Where the timeline's handle is drawn (its centre), in the timeline's pixels."""
    timeline = window.player.timeline
    option = QStyleOptionSlider()
    timeline.initStyleOption(option)
    handle = timeline.style().subControlRect(
        QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, timeline
    )
    return handle.center().x()


def test_export_clip_shows_progress_and_ends_with_a_bundle(
    qtbot: QtBot, window: ReviewWindow, evidence: ReviewBase, secret_service, tmp_path: Path
) -> None:
    """In: the clip open, Export clip…, a folder chosen in the dialog. Out: the real export
    runs off the GUI thread (the window answers meanwhile) behind a progress dialog that
    moves from 0 to 1; the bundle is `<folder>/<clip id>` with its manifest and SHA256SUMS;
    the window names it; the custody log has the export by the analyst."""
    open_walk(qtbot, window, evidence)
    chosen = tmp_path / "bundles"
    chosen.mkdir()
    progress: list[tuple[float, str]] = []
    window.export_progressed.connect(lambda fraction, text: progress.append((fraction, text)))
    qtbot.mouseClick(window.export_button, Qt.MouseButton.LeftButton)
    dialog = window.findChild(QFileDialog)
    assert dialog is not None
    dialog.selectFile(str(chosen))
    with qtbot.waitSignal(window.export_finished, timeout=30_000) as finished:
        dialog.accept()
        assert window.exporting
        assert window.progress_dialog is not None
        assert window.progress_dialog.isVisible()
        assert not window.export_button.isEnabled()
        window.player.step(1)  # the window goes on while the export is written
        qtbot.waitUntil(lambda: card_number(window) == 11)
    text, ok = finished.args
    bundle = chosen / evidence.walk
    assert ok, text
    assert str(bundle) in text
    assert (bundle / "manifest.json").is_file()
    assert (bundle / "SHA256SUMS").is_file()
    assert window.progress_dialog is None
    assert window.export_button.isEnabled()
    fractions = [fraction for fraction, _ in progress]
    assert fractions[0] == 0.0
    assert fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert ("export", "analyst") in custody(evidence, evidence.walk)


def test_a_failed_export_is_said_in_the_window(
    qtbot: QtBot, window: ReviewWindow, evidence: ReviewBase, tmp_path: Path
) -> None:
    """In: an export into a folder that holds someone's document. Out: no crash; the
    window says, in red, that the clip was not exported and why; the document is kept
    and the button works again."""
    open_walk(qtbot, window, evidence)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("my notes")
    with qtbot.waitSignal(window.export_finished, timeout=30_000) as finished:
        window.export_clip(taken)
    text, ok = finished.args
    assert not ok
    assert f"{evidence.walk} was not exported" in text
    assert "not empty" in text
    assert window.message.text() == text
    assert (taken / "notes.txt").read_text() == "my notes"
    assert window.export_button.isEnabled()
    assert window.isVisible()

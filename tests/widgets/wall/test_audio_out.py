"""The one feed being listened to, played (widgets/wall/audio_out.py): its PCM pushed, in
order and whole samples, into an audio sink of 48 kHz stereo 16-bit; nothing played and
one line logged where there is no output device; the sink stopped when nobody listens.

A test machine has no sound server, so the output device is provided by the test: a
null one (what QtMultimedia gives a headless machine, made explicit so the test does not
depend on the machine), or a stand-in device and sink that keep what they are given."""

from __future__ import annotations

import logging
from fractions import Fraction

import av
import numpy as np
import pytest
from PySide6 import QtMultimedia
from PySide6.QtCore import QBuffer, QIODevice, QObject
from PySide6.QtMultimedia import QAudioDevice, QAudioFormat, QtAudio
from pytestqt.qtbot import QtBot

from media.live.feed import Feed, FeedKind, FeedSpec
from widgets.wall.audio_out import AudioOut


def sound(samples: int, start: int = 0) -> tuple[av.AudioFrame, bytes]:
    """A 48 kHz stereo s16 frame of a ramp (every sample different), and its PCM bytes."""
    ramp = (np.arange(start, start + samples * 2) % 30000).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(ramp.reshape(1, -1), format="s16", layout="stereo")
    frame.sample_rate = 48_000
    frame.time_base = Fraction(1, 48_000)
    frame.pts = start
    return frame, ramp.tobytes()


def listened(name: str = "Caller 1") -> Feed:
    feed = Feed(FeedSpec(name, FeedKind.CALLER, "webrtc:x"))
    feed.audio.set_listening(True)
    return feed


class StandInSink(QObject):
    """A QAudioSink's part that AudioOut uses, writing into a QBuffer; `free` bytes of room
    at each look (an odd number, so AudioOut must round down to whole samples)."""

    made: list[StandInSink] = []

    def __init__(self, device: object, fmt: QAudioFormat, parent: QObject | None = None):
        super().__init__(parent)
        self.format = fmt
        self.buffer_size = 0
        self.free = 1002
        self.out = QBuffer()
        self.writes: list[int] = []
        self.stopped = False
        StandInSink.made.append(self)

    def setBufferSize(self, size: int) -> None:
        self.buffer_size = size

    def start(self) -> QIODevice:
        self.out.open(QIODevice.OpenModeFlag.WriteOnly)
        self.out.bytesWritten.connect(self.writes.append)
        return self.out

    def state(self) -> QtAudio.State:
        return QtAudio.State.ActiveState

    def error(self) -> QtAudio.Error:
        return QtAudio.Error.NoError

    def bytesFree(self) -> int:
        return self.free

    def stop(self) -> None:
        self.stopped = True


class StandInDevices:
    @staticmethod
    def defaultAudioOutput() -> object:
        class Device:
            def isNull(self) -> bool:
                return False

        return Device()


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> type[StandInSink]:
    StandInSink.made = []
    monkeypatch.setattr(QtMultimedia, "QAudioSink", StandInSink)
    monkeypatch.setattr(QtMultimedia, "QMediaDevices", StandInDevices)
    return StandInSink


def test_the_feeds_sound_goes_to_the_sink_whole_and_in_order(
    qtbot: QtBot, stand_in: type[StandInSink]
) -> None:
    """In: a caller listened to with 2400 stereo samples buffered (9600 bytes of a ramp),
    played through an output whose sink has 1002 bytes of room at each look; then 1200 more
    samples. Out: one sink, 48 kHz, 2 channels, Int16, a 0.2 s buffer (38400 bytes); it
    receives exactly the buffered bytes then the new ones, in order, each write a whole
    number of samples (a multiple of 4 bytes) no bigger than the room; nothing is left
    in the feed."""
    feed = listened()
    first, first_pcm = sound(2400)
    feed.audio.feed(first)
    audio = AudioOut()
    audio.play(feed)
    assert audio.feed is feed
    (sink,) = stand_in.made
    fmt = sink.format
    assert (fmt.sampleRate(), fmt.channelCount(), fmt.sampleFormat()) == (
        48_000,
        2,
        QAudioFormat.SampleFormat.Int16,
    )
    assert sink.buffer_size == 48_000 * 2 * 2 // 5
    qtbot.waitUntil(lambda: bytes(sink.out.data()) == first_pcm, timeout=5000)
    second, second_pcm = sound(1200, start=4800)
    feed.audio.feed(second)
    qtbot.waitUntil(lambda: bytes(sink.out.data()) == first_pcm + second_pcm, timeout=5000)
    assert all(size % 4 == 0 and size <= 1002 for size in sink.writes)
    assert feed.audio.read_pcm(1 << 20) == b""
    audio.play(None)


def test_nobody_listening_stops_the_sink_and_a_new_feed_gets_a_new_one(
    qtbot: QtBot, stand_in: type[StandInSink]
) -> None:
    """In: caller A played, then caller B, then nobody; sound buffered for each afterwards.
    Out: A's sink is stopped when B starts, B's when nobody listens; after that nothing more
    is written to B's sink and the sound stays in B's buffer (while another player's
    sound, fed after it, has reached its own sink: the pump had its turns)."""
    a, b = listened("Caller A"), listened("Caller B")
    audio = AudioOut()
    audio.play(a)
    audio.play(b)
    sink_a, sink_b = stand_in.made
    assert sink_a.stopped
    assert not sink_b.stopped
    audio.play(None)
    assert audio.feed is None
    assert sink_b.stopped
    frame, pcm = sound(480)
    b.audio.feed(frame)
    # Another player's sound arriving shows the pump has had its turns since.
    c = listened("Caller C")
    other = AudioOut()
    other.play(c)
    c_frame, c_pcm = sound(480, start=7)
    c.audio.feed(c_frame)
    sink_c = stand_in.made[-1]
    qtbot.waitUntil(lambda: bytes(sink_c.out.data()) == c_pcm, timeout=5000)
    assert bytes(sink_b.out.data()) == b""
    assert b.audio.read_pcm(1 << 20) == pcm
    other.play(None)


def test_with_no_output_device_nothing_plays_and_the_log_says_so(
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    stand_in: type[StandInSink],
) -> None:
    """In: the machine has no audio output (QtMultimedia's null device); a caller listened
    to with sound buffered. Out: the caller is still the one listened to (the wall goes
    on), one INFO line names it as silent, and its sound is not taken from its buffer."""
    monkeypatch.setattr(StandInDevices, "defaultAudioOutput", staticmethod(QAudioDevice))
    caplog.set_level(logging.INFO, logger="widgets.wall.audio_out")
    feed = listened()
    frame, pcm = sound(480)
    feed.audio.feed(frame)
    audio = AudioOut()
    audio.play(feed)
    assert audio.feed is feed
    assert stand_in.made == []
    assert [r.getMessage() for r in caplog.records] == [
        "no audio output device: Caller 1 stays silent"
    ]
    # A device appears for another player; once its sound has gone out, the pump has had
    # its turns, and the silent caller's sound is still all in its buffer.
    monkeypatch.undo()
    monkeypatch.setattr(QtMultimedia, "QAudioSink", StandInSink)
    monkeypatch.setattr(QtMultimedia, "QMediaDevices", StandInDevices)
    other_feed = listened("Caller 2")
    other = AudioOut()
    other.play(other_feed)
    other_frame, other_pcm = sound(480, start=3)
    other_feed.audio.feed(other_frame)
    (sink,) = stand_in.made
    qtbot.waitUntil(lambda: bytes(sink.out.data()) == other_pcm, timeout=5000)
    assert feed.audio.read_pcm(1 << 20) == pcm
    other.play(None)

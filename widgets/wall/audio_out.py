"""Plays the one feed being listened to through the default audio output (QtMultimedia).

The feed's decode thread buffers at most half a second of PCM; this pushes what is there
to a QAudioSink every 20 ms. With no output device (a headless machine), nothing plays and
the wall carries on; the operator is told once in the log.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QIODevice, QObject, QTimer

from media.live import PCM_CHANNELS, PCM_RATE, Feed

if TYPE_CHECKING:
    from PySide6.QtMultimedia import QAudioSink

log = logging.getLogger(__name__)


class AudioOut(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._feed: Feed | None = None
        self._sink: QAudioSink | None = None
        self._device: QIODevice | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(20)
        self._timer.timeout.connect(self._pump)

    @property
    def feed(self) -> Feed | None:
        return self._feed

    def play(self, feed: Feed | None) -> None:
        self._stop_sink()
        self._feed = feed
        if feed is None:
            return
        # Imported on first use: loading QtMultimedia probes the sound system (and logs
        # about it), which a wall nobody listens to has no need for.
        from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QMediaDevices, QtAudio

        device = QMediaDevices.defaultAudioOutput()
        if device.isNull():
            log.info("no audio output device: %s stays silent", feed.name)
            return
        fmt = QAudioFormat()
        fmt.setSampleRate(PCM_RATE)
        fmt.setChannelCount(PCM_CHANNELS)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        sink = QAudioSink(device, fmt, self)
        sink.setBufferSize(PCM_RATE * PCM_CHANNELS * 2 // 5)
        self._device = sink.start()
        if sink.state() == QtAudio.State.StoppedState and sink.error() != QtAudio.Error.NoError:
            log.warning("audio output failed to start (%s)", sink.error())
            return
        self._sink = sink
        self._timer.start()

    def _pump(self) -> None:
        if self._feed is None or self._sink is None or self._device is None:
            return
        room = self._sink.bytesFree()
        if room >= 4:
            data = self._feed.audio.read_pcm(room - room % 4)
            if data:
                self._device.write(data)

    def _stop_sink(self) -> None:
        self._timer.stop()
        if self._sink is None:
            return

        self._sink.stop()
        self._sink.deleteLater()
        self._sink = None
        self._device = None

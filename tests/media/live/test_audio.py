"""Audio: the level meter reads a tone's loudness; listening buffers PCM but never more than 0.5 s."""

import math

import av
import numpy as np
import pytest

from media.live.audio import MAX_BUFFER_S, PCM_BYTES_PER_SECOND, SILENCE_DB, AudioTap, level_dbfs


def tone(amplitude: float, samples: int = 960, rate: int = 48_000) -> av.AudioFrame:
    t = np.arange(samples) / rate
    data = (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(data, format="flt", layout="mono")
    frame.sample_rate = rate
    return frame


def test_level_of_a_sine_is_its_rms_in_dbfs() -> None:
    """A sine of amplitude 0.5 has RMS 0.5/sqrt(2): -9.03 dBFS."""
    assert level_dbfs(tone(0.5)) == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=0.1)
    assert level_dbfs(tone(0.0)) == SILENCE_DB


def test_pcm_is_kept_only_while_listening_and_bounded() -> None:
    tap = AudioTap()
    tap.feed(tone(0.3))
    assert tap.present
    assert tap.read_pcm(10_000) == b"", "a muted tile buffers nothing"
    tap.set_listening(True)
    for _ in range(100):  # 2 s of audio arrives, nobody reads
        tap.feed(tone(0.3))
    data = tap.read_pcm(10 * PCM_BYTES_PER_SECOND)
    assert 0 < len(data) <= PCM_BYTES_PER_SECOND * MAX_BUFFER_S
    assert len(data) % 4 == 0, "whole stereo s16 samples only"
    tap.set_listening(False)
    tap.feed(tone(0.3))
    assert tap.read_pcm(10_000) == b""


def test_level_falls_to_silence_when_audio_stops() -> None:
    tap = AudioTap()
    tap.feed(tone(0.5))
    assert tap.level() > -12
    assert tap.level(now=(tap.level_at or 0) + 1.0) == SILENCE_DB

"""The two tones are real WAV files, distinct, and playing them never fails without audio."""

from __future__ import annotations

import wave
from pathlib import Path

from station.ui.sounds import RATE_HZ, QtSounds, ensure_wavs


def test_wavs_are_generated_once_and_differ(tmp_path: Path) -> None:
    good, error = ensure_wavs(tmp_path)
    for path in (good, error):
        with wave.open(str(path)) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE_HZ)
            assert w.getnframes() > RATE_HZ // 20
    with wave.open(str(good)) as g, wave.open(str(error)) as e:
        assert e.getnframes() > 3 * g.getnframes()  # the error sound is long: can't miss it
    stamp = good.stat().st_mtime_ns
    ensure_wavs(tmp_path)
    assert good.stat().st_mtime_ns == stamp


def test_playing_without_an_audio_device_does_not_fail(qtbot, tmp_path: Path) -> None:
    sounds = QtSounds(cache_dir=tmp_path / "cache")
    sounds.good()
    sounds.error()
    sounds.error()
    assert sounds.played == {"good": 1, "error": 2}
    assert (tmp_path / "cache" / "packline-error.wav").exists()

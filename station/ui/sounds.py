"""Two sounds a picker can tell apart without looking: a short high beep (counted) and a low
double buzz (not counted).

The WAV files are generated on first use with the stdlib `wave` module, so nothing binary is
kept in the repository. QtMultimedia lives in PySide6-Addons; a bench without it, or without
any audio output (offscreen CI, a PC with no sound card), runs silent instead of failing:
the red screen still carries the verdict.
"""

from __future__ import annotations

import logging
import math
import struct
import wave
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject, QUrl, Slot

log = logging.getLogger(__name__)

RATE_HZ = 22_050
GOOD_WAV = "packline-good.wav"
ERROR_WAV = "packline-error.wav"


class SoundPlayer(Protocol):
    def good(self) -> None: ...

    def error(self) -> None: ...


def _tone(segments: list[tuple[float, float]], *, volume: float) -> bytes:
    """(frequency Hz, seconds) pieces, 0 Hz = silence; 16-bit mono with 5 ms ramps (no clicks)."""
    frames = bytearray()
    ramp = int(RATE_HZ * 0.005)
    for freq, seconds in segments:
        count = int(RATE_HZ * seconds)
        for i in range(count):
            envelope = min(1.0, i / ramp, (count - 1 - i) / ramp) if ramp else 1.0
            value = math.sin(2 * math.pi * freq * i / RATE_HZ) if freq else 0.0
            frames += struct.pack("<h", int(32767 * volume * envelope * value))
    return bytes(frames)


def write_wav(path: Path, pcm: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with wave.open(str(temporary), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE_HZ)
        out.writeframes(pcm)
    temporary.replace(path)  # never leave a half-written file for the next start


def ensure_wavs(cache_dir: Path) -> tuple[Path, Path]:
    good, error = cache_dir / GOOD_WAV, cache_dir / ERROR_WAV
    if not good.exists():
        write_wav(good, _tone([(1760.0, 0.08)], volume=0.6))
    if not error.exists():
        write_wav(error, _tone([(220.0, 0.18), (0.0, 0.06), (180.0, 0.28)], volume=0.9))
    return good, error


class SilentSounds:
    def __init__(self) -> None:
        self.played = {"good": 0, "error": 0}  # what would have sounded (demo, tests)

    def good(self) -> None:
        self.played["good"] += 1

    def error(self) -> None:
        self.played["error"] += 1


class QtSounds(QObject):
    """QSoundEffect per tone: low latency, the sample is decoded once and kept in memory."""

    def __init__(self, *, cache_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.played = {"good": 0, "error": 0}
        self._effects: dict[str, Any] = {}
        good, error = ensure_wavs(cache_dir)
        try:
            from PySide6.QtMultimedia import QMediaDevices, QSoundEffect
        except ImportError:
            log.warning("QtMultimedia is not installed (PySide6-Addons): the bench is silent")
            return
        if not QMediaDevices.audioOutputs():
            log.warning("no audio output device: the bench is silent")
            return
        for name, path in (("good", good), ("error", error)):
            effect = QSoundEffect(self)
            effect.setSource(QUrl.fromLocalFile(str(path)))
            effect.setVolume(1.0)
            self._effects[name] = effect

    @property
    def audible(self) -> bool:
        return bool(self._effects)

    @Slot()
    def good(self) -> None:
        self._play("good")

    @Slot()
    def error(self) -> None:
        self._play("error")

    def _play(self, name: str) -> None:
        self.played[name] += 1
        effect = self._effects.get(name)
        if effect is None:
            return
        try:
            effect.play()
        except RuntimeError:  # the audio backend went away (USB headset unplugged)
            log.exception("sound %s failed", name)

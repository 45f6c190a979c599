"""Serial (RS-232 / USB-serial) scale speaking MT-SICS or NCI, driven with pyserial.

Blocking request/answer; one call at a time from the device thread. The port is opened on
first use and closed on any I/O error so the next call reopens it (a scale that was unplugged
and plugged back in comes back without a restart).
"""

from __future__ import annotations

import contextlib
import termios
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import serial

from station.devices import scale_nci, scale_sics
from station.devices.scale import ScaleOffline, ScaleProtocolError, WeightReading

_MAX_ANSWER = 128


class ScaleDialect(StrEnum):
    SICS = "sics"
    NCI = "nci"


@dataclass(frozen=True, kw_only=True)
class SerialSettings:
    # Not one default fits all scales (MT and NCI models differ); these are the common
    # 9600 8N1 and must be set from the scale's profile. NCI 7815 ships 7E1.
    baudrate: int = 9600
    bytesize: int = serial.EIGHTBITS
    parity: str = serial.PARITY_NONE
    stopbits: float = serial.STOPBITS_ONE
    xonxoff: bool = False
    timeout: float = 2.0


@dataclass(frozen=True)
class _Dialect:
    weigh: bytes
    zero: bytes
    terminator: bytes
    parse_weight: Callable[[bytes], WeightReading]
    check_zero: Callable[[bytes], object]


def _nci_zero(frame: bytes) -> None:
    scale_nci.parse_status_answer(frame).raise_for_fault()


_DIALECTS = {
    ScaleDialect.SICS: _Dialect(
        weigh=scale_sics.STABLE_WEIGHT,
        zero=scale_sics.ZERO,
        terminator=scale_sics.TERMINATOR,
        parse_weight=scale_sics.parse_weight,
        check_zero=scale_sics.parse_zero,
    ),
    ScaleDialect.NCI: _Dialect(
        weigh=scale_nci.WEIGHT,
        zero=scale_nci.ZERO,
        terminator=scale_nci.TERMINATOR,
        parse_weight=scale_nci.parse_weight,
        check_zero=_nci_zero,
    ),
}

# pyserial 3.5 on Linux raises all three on unplug (handbook hardware.md §0.6): SerialException
# from read(), raw OSError(EIO) from in_waiting/write, termios.error from buffer resets.
_PORT_ERRORS = (serial.SerialException, OSError, termios.error)


class SerialScale:
    def __init__(
        self,
        *,
        port: str,
        dialect: ScaleDialect,
        settings: SerialSettings = SerialSettings(),
        weigh_command: bytes | None = None,
    ) -> None:
        self._path = port
        self._dialect = _DIALECTS[dialect]
        self._settings = settings
        # e.g. b"SI\r\n" for SICS to get an immediate (possibly dynamic) value instead of
        # waiting for the scale to settle.
        self._weigh = weigh_command or self._dialect.weigh
        self._port: serial.Serial | None = None

    def _open(self) -> serial.Serial:
        if self._port is None:
            s = self._settings
            try:
                self._port = serial.Serial(
                    self._path,
                    baudrate=s.baudrate,
                    bytesize=s.bytesize,
                    parity=s.parity,
                    stopbits=s.stopbits,
                    xonxoff=s.xonxoff,
                    timeout=s.timeout,
                    exclusive=True,
                )
            except _PORT_ERRORS as exc:
                raise ScaleOffline(f"cannot open scale port {self._path}: {exc}") from exc
        return self._port

    def close(self) -> None:
        if self._port is not None:
            with contextlib.suppress(*_PORT_ERRORS):
                self._port.close()
            self._port = None

    def _transact(self, command: bytes) -> bytes:
        port = self._open()
        terminator = self._dialect.terminator
        try:
            # Stale bytes (a late answer to an earlier timed-out request) would be read as
            # this request's answer.
            port.reset_input_buffer()
            port.write(command)
            answer = bytes(port.read_until(terminator, _MAX_ANSWER))
        except _PORT_ERRORS as exc:
            self.close()
            raise ScaleOffline(f"scale on {self._path} disconnected: {exc}") from exc
        if not answer:
            raise ScaleOffline(
                f"scale on {self._path} did not answer within {self._settings.timeout:g} s"
            )
        if not answer.endswith(terminator):
            raise ScaleProtocolError(
                f"scale on {self._path} sent an incomplete or unframed answer: {answer[:32]!r}"
            )
        return answer

    def read(self) -> WeightReading:
        return self._dialect.parse_weight(self._transact(self._weigh))

    def zero(self) -> None:
        self._dialect.check_zero(self._transact(self._dialect.zero))

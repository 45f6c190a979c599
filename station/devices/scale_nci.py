"""NCI standard scale protocol (NCI / Brecknell / Avery Weigh-Tronix bench and shipping scales).
Pure framing and parsing.

Sources: 7821 / 7800-family manuals (handbook reference/hardware.md §6 [V S68]) and the NCI 6702
and Ohaus Aviator NCI tables of the status bits:
  `W<CR>` -> `<LF>xxxx.xxuu<CR><LF>hh..<CR><ETX>`   weight + unit, then 2+ status bytes
  `Z<CR>` -> `<LF>hh..<CR><ETX>`                     zero, then status
  unknown -> `<LF>?<CR><ETX>`
  display all upper bars (over capacity) -> weight field of `^`; lower bars -> `_`;
  middle bars (zeroing error) -> `-`.
Status byte bits (bit 7 = parity, bits 4-5 always 1; bit 6 = "another byte follows" in byte 2+):
  byte 1: 0 in motion, 1 at zero, 2 RAM error, 3 EEPROM error
  byte 2: 0 under capacity, 1 over capacity, 2 ROM error, 3 faulty calibration
  byte 3: 0-1 range, 2 net weight, 3 initial zero error (optional byte)
Serial defaults differ per model (7815: 9600 7E1; 6712: 9600 8N1): configure per scale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from station.devices.scale import (
    ScaleCommandError,
    ScaleError,
    ScaleOverload,
    ScaleProtocolError,
    ScaleUnderload,
    WeightReading,
)

TERMINATOR = b"\x03"
WEIGHT = b"W\r"
ZERO = b"Z\r"
STATUS = b"S\r"

_WEIGHT = re.compile(r"\s*(-?)\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]{1,3})\s*")


@dataclass(frozen=True, kw_only=True)
class NciStatus:
    in_motion: bool
    at_zero: bool
    under_capacity: bool
    over_capacity: bool
    ram_error: bool = False
    eeprom_error: bool = False
    rom_error: bool = False
    faulty_calibration: bool = False
    initial_zero_error: bool = False
    net_weight: bool = False

    def raise_for_fault(self) -> None:
        faults = [
            name
            for name, on in (
                ("RAM error", self.ram_error),
                ("EEPROM error", self.eeprom_error),
                ("ROM error", self.rom_error),
                ("faulty calibration", self.faulty_calibration),
                ("initial zero error", self.initial_zero_error),
            )
            if on
        ]
        if faults:
            raise ScaleError("NCI scale reports " + ", ".join(faults))
        if self.over_capacity:
            raise ScaleOverload("NCI status: over capacity")
        if self.under_capacity:
            raise ScaleUnderload("NCI status: under capacity")


def _segments(frame: bytes) -> list[bytes]:
    if not frame.endswith(TERMINATOR):
        raise ScaleProtocolError(f"NCI answer does not end with ETX: {frame[-32:]!r}")
    body = frame[: -len(TERMINATOR)]
    if not body.endswith(b"\r"):
        raise ScaleProtocolError(f"NCI answer: no CR before ETX: {frame[-32:]!r}")
    # Each field is <LF>...<CR>; tolerate a missing LF (some indicators omit the first one).
    parts = [p.removeprefix(b"\n") for p in body[:-1].split(b"\r")]
    if parts == [b"?"]:
        raise ScaleCommandError("NCI ?: the scale did not recognise the command")
    return parts


def parse_status(raw: bytes) -> NciStatus:
    bits = [b & 0x7F for b in raw]  # bit 7 is parity on 7-bit links
    if len(bits) < 2 or any(b & 0x30 != 0x30 for b in bits):
        raise ScaleProtocolError(f"NCI status bytes malformed: {raw!r}")
    first, second = bits[0], bits[1]
    third = bits[2] if len(bits) > 2 else 0x30
    return NciStatus(
        in_motion=bool(first & 0x01),
        at_zero=bool(first & 0x02),
        ram_error=bool(first & 0x04),
        eeprom_error=bool(first & 0x08),
        under_capacity=bool(second & 0x01),
        over_capacity=bool(second & 0x02),
        rom_error=bool(second & 0x04),
        faulty_calibration=bool(second & 0x08),
        net_weight=bool(third & 0x04),
        initial_zero_error=bool(third & 0x08),
    )


def parse_weight(frame: bytes) -> WeightReading:
    parts = _segments(frame)
    if len(parts) != 2:
        raise ScaleProtocolError(f"NCI weight answer needs weight and status: {frame!r}")
    raw_weight, raw_status = parts
    status = parse_status(raw_status)
    status.raise_for_fault()
    try:
        field = raw_weight.decode("ascii")
    except UnicodeDecodeError:
        raise ScaleProtocolError(f"NCI weight field is not ASCII: {raw_weight!r}") from None
    marks = set(field.strip(" ")) - set(".")
    if marks == {"^"}:
        raise ScaleOverload("NCI display shows upper bars: over capacity")
    if marks == {"_"}:
        raise ScaleUnderload("NCI display shows lower bars: under capacity")
    if marks == {"-"}:
        raise ScaleError("NCI display shows middle bars: zeroing error, zero the scale")
    match = _WEIGHT.fullmatch(field)
    if match is None:
        raise ScaleProtocolError(f"NCI weight field not understood: {field!r}")
    sign, number, unit = match.groups()
    value = Decimal(number) if not sign else -Decimal(number)
    return WeightReading(value=value, unit=unit.lower(), stable=not status.in_motion)


def parse_status_answer(frame: bytes) -> NciStatus:
    parts = _segments(frame)
    if len(parts) != 1:
        raise ScaleProtocolError(f"NCI status answer expected: {frame!r}")
    return parse_status(parts[0])

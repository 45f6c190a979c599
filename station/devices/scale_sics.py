"""Mettler Toledo MT-SICS (level 0) framing and parsing. Pure.

Source: MT-SICS reference as summarised in handbook reference/hardware.md §6 [V S67].
Commands and answers are ASCII lines ending CR LF.
  `S`   stable weight      -> `S S     100.00 g`; `S I` not executable now (busy, or no stable
                              value in time); `S +` overload; `S -` underload
  `SI`  immediate weight   -> `S S ...` stable or `S D ...` dynamic (not settled)
  `Z`   zero               -> `Z A` done, `Z I` not executable, `Z +` / `Z -` outside range
  any   -> `ES` syntax error, `ET` transmission error, `EL` logical error
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from station.devices.scale import (
    ScaleCommandError,
    ScaleOverload,
    ScaleProtocolError,
    ScaleUnderload,
    ScaleUnstable,
    WeightReading,
)

TERMINATOR = b"\r\n"
STABLE_WEIGHT = b"S\r\n"
IMMEDIATE_WEIGHT = b"SI\r\n"
ZERO = b"Z\r\n"

_GENERAL_ERRORS = {
    "ES": "syntax error: the scale did not recognise the command",
    "ET": "transmission error: the scale received a corrupted command",
    "EL": "logical error: the scale cannot run this command",
}
_UNIT = re.compile(r"[A-Za-z%/]{1,5}")


def _text(line: bytes) -> str:
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise ScaleProtocolError(f"SICS answer is not ASCII: {line[:32]!r}") from None
    text = text.rstrip("\r\n")
    if not text.isprintable():
        raise ScaleProtocolError(f"SICS answer has control bytes: {line[:32]!r}")
    return text


def _general_error(text: str) -> None:
    if text.strip() in _GENERAL_ERRORS:
        raise ScaleCommandError(f"SICS {text.strip()}: {_GENERAL_ERRORS[text.strip()]}")


def parse_weight(line: bytes) -> WeightReading:
    text = _text(line)
    _general_error(text)
    parts = text.split()
    if len(parts) < 2 or parts[0] != "S":
        raise ScaleProtocolError(f"not a SICS weight answer: {text!r}")
    status = parts[1]
    if len(parts) == 2:
        if status == "I":
            raise ScaleUnstable("SICS S I: no stable weight in time (or the scale is busy)")
        if status == "+":
            raise ScaleOverload("SICS S +: weight above the scale's range")
        if status == "-":
            raise ScaleUnderload("SICS S -: weight below the scale's range")
    if status not in ("S", "D") or len(parts) != 4:
        raise ScaleProtocolError(f"not a SICS weight answer: {text!r}")
    value, unit = parts[2], parts[3]
    try:
        weight = Decimal(value)
    except InvalidOperation:
        raise ScaleProtocolError(f"SICS weight {value!r} is not a number") from None
    if not weight.is_finite() or not _UNIT.fullmatch(unit):
        raise ScaleProtocolError(f"not a SICS weight answer: {text!r}")
    return WeightReading(value=weight, unit=unit, stable=status == "S")


def parse_zero(line: bytes) -> None:
    text = _text(line)
    _general_error(text)
    match text.split():
        case ["Z", "A"]:
            return
        case ["Z", "I"]:
            raise ScaleUnstable("SICS Z I: cannot zero now (busy or not settled)")
        case ["Z", "+"]:
            raise ScaleOverload("SICS Z +: load too high to zero")
        case ["Z", "-"]:
            raise ScaleUnderload("SICS Z -: load too low to zero")
    raise ScaleProtocolError(f"not a SICS zero answer: {text!r}")

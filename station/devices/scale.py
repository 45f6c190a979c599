"""The optional shipping scale seen by the station: a reading value, errors, one Protocol."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

# Exact factors (the pound is defined as 0.45359237 kg).
_GRAMS_PER_UNIT = {
    "g": Decimal(1),
    "kg": Decimal(1000),
    "mg": Decimal("0.001"),
    "lb": Decimal("453.59237"),
    "oz": Decimal("28.349523125"),
}


@dataclass(frozen=True, kw_only=True)
class WeightReading:
    value: Decimal
    unit: str
    stable: bool

    @property
    def grams(self) -> Decimal:
        try:
            return self.value * _GRAMS_PER_UNIT[self.unit]
        except KeyError:
            raise ScaleProtocolError(f"unknown weight unit {self.unit!r}") from None


class ScaleError(Exception):
    operator_message = "The scale reports an error."

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.operator_message)
        self.detail = detail or self.operator_message


class ScaleOffline(ScaleError):
    operator_message = "The scale does not answer (cable or power)."


class ScaleOverload(ScaleError):
    operator_message = "Too heavy for the scale."


class ScaleUnderload(ScaleError):
    operator_message = "The scale reads below zero: empty the pan and zero it."


class ScaleUnstable(ScaleError):
    operator_message = "The weight did not settle: keep the parcel still."


class ScaleCommandError(ScaleError):
    """The scale understood the line but refused it (SICS `ES`/`ET`/`EL`/`S I`, NCI `?`)."""

    operator_message = "The scale could not carry out the request."


class ScaleProtocolError(ScaleError):
    """Bytes that are not an answer in the expected protocol (wrong protocol/baud, noise)."""

    operator_message = "The scale sent something that could not be read."


class Scale(Protocol):
    """Blocking: call from a device thread, never from the GUI thread."""

    def read(self) -> WeightReading: ...

    def zero(self) -> None: ...

"""Box types, their tare weights, and the scale check: expected = items + tare ± tolerance."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from station.work.scan import BOX_PREFIX


@dataclass(frozen=True, kw_only=True)
class BoxType:
    code: str  # the barcode on the box-type card, e.g. "BOX-M"
    name: str
    tare_g: int


# Demo table; real tares come from the server's packaging list [illustrative values,
# not measured: a small/medium/large single-wall carton].
DEFAULT_BOX_TYPES: MappingProxyType[str, BoxType] = MappingProxyType(
    {
        f"{BOX_PREFIX}S": BoxType(code=f"{BOX_PREFIX}S", name="Small box", tare_g=120),
        f"{BOX_PREFIX}M": BoxType(code=f"{BOX_PREFIX}M", name="Medium box", tare_g=250),
        f"{BOX_PREFIX}L": BoxType(code=f"{BOX_PREFIX}L", name="Large box", tare_g=480),
    }
)


@dataclass(frozen=True, kw_only=True)
class ScaleTolerance:
    # Band = max(percent of expected, min_g): a percentage alone is useless for a 150 g
    # parcel on a 5 g-resolution scale, an absolute band alone for a 20 kg one.
    percent: float
    min_g: int

    def __post_init__(self) -> None:
        if self.percent < 0 or self.min_g < 0:
            raise ValueError("tolerance must not be negative")

    def allowed_g(self, expected_g: int) -> int:
        return max(round(expected_g * self.percent / 100), self.min_g)


@dataclass(frozen=True, kw_only=True)
class WeightCheck:
    expected_g: int
    measured_g: int
    allowed_g: int

    @property
    def within(self) -> bool:
        return abs(self.measured_g - self.expected_g) <= self.allowed_g

    def words(self) -> str:
        side = "heavy" if self.measured_g > self.expected_g else "light"
        return (
            f"Box weighs {self.measured_g} g, expected {self.expected_g} g "
            f"± {self.allowed_g} g ({side}): check the contents"
        )


def check_weight(*, expected_g: int, measured_g: int, tolerance: ScaleTolerance) -> WeightCheck:
    return WeightCheck(
        expected_g=expected_g, measured_g=measured_g, allowed_g=tolerance.allowed_g(expected_g)
    )


@dataclass(kw_only=True)
class Box:
    no: int
    box_type: BoxType | None = None
    contents: dict[int, int] = field(default_factory=dict)  # line_no -> units
    closed: bool = False
    weight_failed: bool = False
    weight_overridden: bool = False
    expected_g: int = 0  # set when closed
    measured_g: int | None = None  # set when closed; never carried over to the next box

    @property
    def units(self) -> int:
        return sum(self.contents.values())

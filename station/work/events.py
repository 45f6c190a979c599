"""Facts the sessions produce. The sync layer journals each one under its key, then sends it.

`key` is the idempotency key the server deduplicates on: it is minted once, when the fact
happens, so a replay after a power cut carries the same key and lands once.
`at` comes from the injected clock (timezone-aware on the station).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal, TypedDict

from station.work.verdict import Reason

Clock = Callable[[], datetime]
Stage = Literal["pick", "pack"]


def now_aware(clock: Clock) -> datetime:
    moment = clock()
    # A naive clock would make valid_to comparisons raise; treat it as UTC (documented).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Head(TypedDict):
    at: datetime
    order_id: int
    order_number: str


def head(clock: Clock, *, order_id: int, order_number: str) -> Head:
    return Head(at=now_aware(clock), order_id=order_id, order_number=order_number)


@dataclass(frozen=True, kw_only=True)
class Event:
    key: uuid.UUID = field(default_factory=uuid.uuid4)
    at: datetime
    order_id: int
    order_number: str


@dataclass(frozen=True, kw_only=True)
class BinConfirmed(Event):
    location: str


@dataclass(frozen=True, kw_only=True)
class UnitPicked(Event):
    line_no: int
    sku: str
    barcode: str  # GTIN-14 or internal alias that was scanned
    units: int  # a case barcode counts N
    lot: str | None
    serial: str | None
    expiry: date | None
    location: str | None  # the confirmed bin, when bin confirmation is on


@dataclass(frozen=True, kw_only=True)
class PickRejected(Event):
    reason: Reason
    words: str
    raw: str
    line_no: int | None


@dataclass(frozen=True, kw_only=True)
class ShortPick(Event):
    line_no: int
    sku: str
    ordered: int
    picked: int  # scanned + overridden before the short
    short: int
    reason_code: str  # from the reason card


@dataclass(frozen=True, kw_only=True)
class OverrideGranted(Event):
    stage: Stage
    line_no: int | None  # None: a box weight accepted despite the scale
    sku: str | None
    units: int
    box_no: int | None
    supervisor_badge: str
    operator_badge: str | None
    reason_code: str


@dataclass(frozen=True, kw_only=True)
class OverrideRefused(Event):
    stage: Stage
    badge: str
    reason: Reason


@dataclass(frozen=True, kw_only=True)
class ScannedUnit:
    barcode: str
    units: int
    lot: str | None
    serial: str | None
    expiry: date | None


@dataclass(frozen=True, kw_only=True)
class LineResult:
    line_no: int
    sku: str
    ordered: int
    scanned: int
    overridden: int
    short: int
    scans: tuple[ScannedUnit, ...]  # every accepted scan, in order (the evidence)


@dataclass(frozen=True, kw_only=True)
class PickCompleted(Event):
    lines: tuple[LineResult, ...]


@dataclass(frozen=True, kw_only=True)
class PackStarted(Event):
    via: Literal["tote", "order"]
    value: str


@dataclass(frozen=True, kw_only=True)
class UnitPacked(Event):
    box_no: int
    line_no: int
    sku: str
    barcode: str
    units: int
    lot: str | None
    serial: str | None
    expiry: date | None


@dataclass(frozen=True, kw_only=True)
class PackRejected(Event):
    reason: Reason
    words: str
    raw: str
    line_no: int | None
    box_no: int | None


@dataclass(frozen=True, kw_only=True)
class BoxTypeChosen(Event):
    box_no: int
    box_type: str
    tare_g: int


@dataclass(frozen=True, kw_only=True)
class WeightChecked(Event):
    box_no: int
    expected_g: int
    measured_g: int
    allowed_g: int  # the tolerance band, either side of expected
    within: bool


@dataclass(frozen=True, kw_only=True)
class BoxContent:
    line_no: int
    sku: str
    units: int


@dataclass(frozen=True, kw_only=True)
class BoxClosed(Event):
    box_no: int
    box_type: str
    tare_g: int
    contents: tuple[BoxContent, ...]
    expected_g: int
    measured_g: int | None  # None when the bench has no scale / weighing is off
    weight_overridden: bool


@dataclass(frozen=True, kw_only=True)
class BoxSummary:
    box_no: int
    box_type: str
    units: int
    expected_g: int
    measured_g: int | None
    weight_overridden: bool


@dataclass(frozen=True, kw_only=True)
class PackCompleted(Event):
    boxes: tuple[BoxSummary, ...]
    units: int

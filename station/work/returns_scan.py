"""What a scan means at the returns desk: its own cards (condition cards, RMA numbers) first,
then the floor's rules (station.work.scan). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from shared.contract.returns import RMA_NUMBER, Condition
from shared.labels.returns import condition_from_card
from station.work.scan import (
    ItemScan,
    OrderScan,
    ScanContext,
    StationScan,
    TrackingScan,
    UnknownScan,
    read_text,
)


@dataclass(frozen=True, kw_only=True)
class ConditionScan:
    raw: str
    condition: Condition


@dataclass(frozen=True, kw_only=True)
class RmaScan:
    raw: str
    number: str


DeskScan = StationScan | ConditionScan | RmaScan


def read_desk(
    text: str, *, symbology_id: str | None = None, context: ScanContext | None = None
) -> DeskScan:
    """The desk's own cards first (condition cards, RMA numbers), then the floor's rules."""
    stripped = text.strip()
    condition = condition_from_card(stripped)
    if condition is not None:
        return ConditionScan(raw=text, condition=condition)
    if RMA_NUMBER.fullmatch(stripped):
        return RmaScan(raw=text, number=stripped)
    return read_text(text, symbology_id=symbology_id, context=context or ScanContext())


def parcel_code(scan: DeskScan) -> str | None:
    """What to look the parcel up by. Carriers' tracking numbers come in many shapes (some look
    like GTINs), so any plain printable text that is not one of the floor's cards is tried."""
    if isinstance(scan, RmaScan):
        return scan.number
    if isinstance(scan, OrderScan):
        return scan.number
    if isinstance(scan, TrackingScan):
        return scan.tracking
    if isinstance(scan, ItemScan | UnknownScan):
        text = scan.raw.strip()
        if 4 <= len(text) <= 80 and all(" " < ch <= "~" for ch in text):
            return text
    return None

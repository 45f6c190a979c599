"""What a scan means at the returns desk: its own cards (condition cards, RMA numbers; in triage
also decision cards and unit labels) first, then the floor's rules (station.work.scan). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from shared.contract.returns import RMA_NUMBER, Condition, Decision
from shared.labels.returns import condition_from_card, decision_from_card, unit_from_label
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


@dataclass(frozen=True, kw_only=True)
class DecisionScan:
    raw: str
    decision: Decision


@dataclass(frozen=True, kw_only=True)
class UnitLabelScan:
    raw: str
    unit_id: int


DeskScan = StationScan | ConditionScan | RmaScan
TriageScan = DeskScan | DecisionScan | UnitLabelScan


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


def read_triage(
    text: str, *, symbology_id: str | None = None, context: ScanContext | None = None
) -> TriageScan:
    """Triage's cards first (decision cards, unit labels), then the desk's and the floor's."""
    stripped = text.strip()
    decision = decision_from_card(stripped)
    if decision is not None:
        return DecisionScan(raw=text, decision=decision)
    unit_id = unit_from_label(stripped)
    if unit_id is not None:
        return UnitLabelScan(raw=text, unit_id=unit_id)
    return read_desk(text, symbology_id=symbology_id, context=context)


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

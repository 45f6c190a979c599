"""What a scan means at this bench: shared.barcodes interpretation + the floor's conventions.

The floor prints its own cards (badges, bins, totes, box types, reason cards) as Code 128
with a fixed prefix; every prefix lives here and nowhere else. Product barcodes are GTINs
(with GS1 AIs) or internal aliases from the catalog, which the session passes in so an alias
that happens to look like a card (say "BOX-1" as a SKU alias) still reads as the item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from shared.barcodes import (
    Gs1Message,
    Gtin,
    InternalCode,
    Interpretation,
    Sscc,
    Unknown,
    interpret,
    is_valid_gtin,
    parse_symbology,
    to_gtin14,
)

BADGE_PREFIX = "BADGE-"
BIN_PREFIX = "BIN-"
TOTE_PREFIX = "TOTE-"
BOX_PREFIX = "BOX-"
REASON_PREFIX = "REASON-"
# Order numbers are minted by the server as f"PL{order_id:07d}" (server/services/intake.py).
ORDER_NUMBER = re.compile(r"PL[0-9]{7}")
# Bin labels may carry the bare location code used in tasks (demo seed: "A-01-03",
# aisle-rack-level). Project convention, not an industry standard.
LOCATION_CODE = re.compile(r"[A-Z]{1,3}-[0-9]{2}-[0-9]{2}(-[0-9]{2})?")
# Tracking numbers are matched exactly against the ones the bench expects first; these
# shapes only name an unexpected one. UPS "1Z" + 16 [widely documented], UPU S10
# (2 letters, 9 digits, 2 letters: postal services), EasyPost test trackers "EZ" + 10 digits
# (handbook reference/carriers.md). Other carriers' digit-only numbers are not guessed.
TRACKING_SHAPES = (
    re.compile(r"1Z[0-9A-Z]{16}"),
    re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}"),
    re.compile(r"EZ[0-9]{10}"),
)
_CARD_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,59}")


@dataclass(frozen=True, kw_only=True)
class ItemScan:
    raw: str
    code: str  # GTIN-14 for GTINs/GS1, else the internal alias text as scanned
    gtin: str | None = None
    lot: str | None = None
    serial: str | None = None
    expiry: date | None = None
    count: int | None = None  # GS1 AI 30/37 on the barcode itself


@dataclass(frozen=True, kw_only=True)
class BadgeScan:
    raw: str
    badge: str  # the whole text, e.g. "BADGE-0003": what the server knows


@dataclass(frozen=True, kw_only=True)
class BinScan:
    raw: str
    location: str  # the task's location code, without the BIN- prefix


@dataclass(frozen=True, kw_only=True)
class ToteScan:
    raw: str
    tote: str  # whole text, e.g. "TOTE-0042"


@dataclass(frozen=True, kw_only=True)
class BoxTypeScan:
    raw: str
    box_type: str  # whole text, e.g. "BOX-M": the key of the tare table


@dataclass(frozen=True, kw_only=True)
class OrderScan:
    raw: str
    number: str


@dataclass(frozen=True, kw_only=True)
class TrackingScan:
    raw: str
    tracking: str


@dataclass(frozen=True, kw_only=True)
class ReasonScan:
    raw: str
    code: str  # after the prefix, e.g. "DAMAGED-LABEL"


@dataclass(frozen=True, kw_only=True)
class UnknownScan:
    raw: str
    reason: str


StationScan = (
    ItemScan
    | BadgeScan
    | BinScan
    | ToteScan
    | BoxTypeScan
    | OrderScan
    | TrackingScan
    | ReasonScan
    | UnknownScan
)


@dataclass(frozen=True, kw_only=True)
class ScanContext:
    """What the current work knows, so exact matches win over prefix conventions."""

    aliases: frozenset[str] = frozenset()  # internal (non-GTIN) item barcodes
    locations: frozenset[str] = frozenset()
    tracking_numbers: frozenset[str] = frozenset()


class RawRead(Protocol):
    """Shape of station.devices.scanner.RawScan (kept structural: work imports no devices)."""

    @property
    def text(self) -> str: ...

    @property
    def symbology_id(self) -> str | None: ...


def normalise_alias(value: str) -> str:
    """Catalog barcode value -> the key a scan of it produces (GTIN-14 for any GTIN)."""
    return to_gtin14(value) if is_valid_gtin(value) else value


def read(raw: RawRead, *, context: ScanContext = ScanContext()) -> StationScan:
    symbology = parse_symbology(raw.symbology_id) if raw.symbology_id else None
    return classify(interpret(raw.text, symbology=symbology), raw=raw.text, context=context)


def read_text(
    text: str, *, symbology_id: str | None = None, context: ScanContext = ScanContext()
) -> StationScan:
    symbology = parse_symbology(symbology_id) if symbology_id else None
    return classify(interpret(text, symbology=symbology), raw=text, context=context)


def classify(meaning: Interpretation, *, raw: str, context: ScanContext) -> StationScan:
    if isinstance(meaning, Unknown):
        return UnknownScan(raw=raw, reason=meaning.reason)
    if isinstance(meaning, Gtin):
        if meaning.gtin14 in context.tracking_numbers:
            return TrackingScan(raw=raw, tracking=meaning.gtin14)
        return ItemScan(raw=raw, code=meaning.gtin14, gtin=meaning.gtin14)
    if isinstance(meaning, Sscc):
        # Carriers print SSCCs as parcel ids; anything else is a pallet/case label.
        if meaning.sscc in context.tracking_numbers:
            return TrackingScan(raw=raw, tracking=meaning.sscc)
        return UnknownScan(raw=raw, reason="this is a shipping label (SSCC), not a product")
    if isinstance(meaning, Gs1Message):
        return _gs1(meaning, raw=raw, context=context)
    return _internal(meaning, raw=raw, context=context)


def _gs1(meaning: Gs1Message, *, raw: str, context: ScanContext) -> StationScan:
    if meaning.sscc is not None and meaning.sscc in context.tracking_numbers:
        return TrackingScan(raw=raw, tracking=meaning.sscc)
    if meaning.gtin is None:
        if meaning.content_gtin is not None or meaning.sscc is not None:
            # Values.py keeps AI 02 apart for exactly this: never count a pallet label.
            return UnknownScan(raw=raw, reason="this is a pallet/carton label: scan the product")
        return UnknownScan(raw=raw, reason="this barcode has no product number: scan the product")
    return ItemScan(
        raw=raw,
        code=meaning.gtin,
        gtin=meaning.gtin,
        lot=meaning.lot,
        serial=meaning.serial,
        expiry=meaning.expiry,
        count=meaning.count,
    )


def _card(text: str, prefix: str) -> str | None:
    if not text.startswith(prefix):
        return None
    code = text[len(prefix) :]
    return code if _CARD_CODE.fullmatch(code) else None


def _internal(meaning: InternalCode, *, raw: str, context: ScanContext) -> StationScan:
    text = meaning.text
    if text in context.aliases:
        return ItemScan(raw=raw, code=text)
    if text in context.tracking_numbers:
        return TrackingScan(raw=raw, tracking=text)
    if text.startswith(BADGE_PREFIX):
        if _card(text, BADGE_PREFIX) is None:
            return UnknownScan(raw=raw, reason="badge barcode is damaged or incomplete")
        return BadgeScan(raw=raw, badge=text)
    for prefix in (BIN_PREFIX, TOTE_PREFIX, BOX_PREFIX, REASON_PREFIX):
        if text.startswith(prefix):
            code = _card(text, prefix)
            if code is None:
                return UnknownScan(raw=raw, reason=f"{prefix[:-1].lower()} card is unreadable")
            if prefix == BIN_PREFIX:
                return BinScan(raw=raw, location=code)
            if prefix == TOTE_PREFIX:
                return ToteScan(raw=raw, tote=text)
            if prefix == BOX_PREFIX:
                return BoxTypeScan(raw=raw, box_type=text)
            return ReasonScan(raw=raw, code=code)
    if ORDER_NUMBER.fullmatch(text):
        return OrderScan(raw=raw, number=text)
    if text in context.locations or LOCATION_CODE.fullmatch(text):
        return BinScan(raw=raw, location=text)
    if any(shape.fullmatch(text) for shape in TRACKING_SHAPES):
        return TrackingScan(raw=raw, tracking=text)
    return UnknownScan(raw=raw, reason="barcode not known here")

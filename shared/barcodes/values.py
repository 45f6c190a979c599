"""What one scan can mean. Every field is already validated (check digits, dates)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.barcodes.aim import Symbology


@dataclass(frozen=True)
class Gtin:
    gtin14: str
    symbology: Symbology | None = None


@dataclass(frozen=True)
class Sscc:
    sscc: str


# Keyword-only: eight optional fields are too easy to swap by position.
@dataclass(frozen=True, kw_only=True)
class Gs1Message:
    raw: str
    gtin: str | None = None  # AI 01, as GTIN-14: the trade item this barcode is on
    lot: str | None = None  # AI 10
    serial: str | None = None  # AI 21
    expiry: date | None = None  # AI 17 (day 00 already resolved to the month's last day)
    best_before: date | None = None  # AI 15
    count: int | None = None  # AI 37 (items in a logistic unit), else AI 30 (variable count)
    sscc: str | None = None  # AI 00
    # AI 02 is the GTIN of the items *inside* a logistic unit (a pallet label). It is kept
    # apart from `gtin` so a pallet label can never be counted as one unit of that item.
    content_gtin: str | None = None


@dataclass(frozen=True)
class InternalCode:
    text: str


@dataclass(frozen=True)
class Unknown:
    raw: str
    reason: str


Interpretation = Gtin | Sscc | Gs1Message | InternalCode | Unknown

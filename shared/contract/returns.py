"""Returns over HTTP: RMAs, units received into quarantine, triage decisions.

Receipts and triage carry an idempotency key the station mints when the fact happens (a uuid4),
so a retry after a timeout lands once; the same key with a different body is refused.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field

from shared.contract.common import Model

# RMA numbers are minted by the server from the RMA's id; stations recognise the shape.
RMA_NUMBER = re.compile(r"RMA[0-9]{7}")

Condition = Literal["sellable", "opened", "damaged", "wrong_item", "missing_parts"]
CONDITIONS: tuple[Condition, ...] = ("sellable", "opened", "damaged", "wrong_item", "missing_parts")
# Why a unit was flagged at receipt: it is recorded and kept in quarantine, never accepted as
# an expected return. "not_authorised": the order had it, this RMA does not (or has no more).
Flag = Literal["not_on_order", "not_authorised", "unknown_item"]
Decision = Literal["restock", "damaged", "scrap", "vendor"]
Key = Field(min_length=8, max_length=64)


def rma_number(rma_id: int) -> str:
    return f"RMA{rma_id:07d}"


class RmaLineIn(Model):
    line_no: int = Field(ge=1, le=100_000)  # the order line
    qty: int = Field(ge=1, le=100_000)


class RmaIn(Model):
    order_number: str = Field(min_length=1, max_length=40)
    lines: list[RmaLineIn] = Field(min_length=1, max_length=1000)
    reason: str = Field(min_length=1, max_length=500)
    key: str | None = Field(default=None, min_length=8, max_length=64)


class ReturnBarcodeOut(Model):
    value: str
    units: int


class RmaLineOut(Model):
    line_no: int  # the order line's number
    sku: str
    name: str
    qty: int  # authorised
    received: int  # units received against this line (flagged units excluded)
    unit_price: Decimal
    track_lot: bool
    barcodes: list[ReturnBarcodeOut]  # every alias valid now


class ReturnUnitOut(Model):
    id: int
    rma_id: int
    line_no: int | None  # the order line it counted against; None when flagged
    sku: str | None
    barcode: str
    lot: str
    serial: str
    condition: Condition
    flag: Flag | None
    location: str  # the quarantine bin it went into, or where triage sent it
    state: str  # quarantined | restocked | damaged | scrapped | vendor
    refund: Literal["triggered", "awaiting_approval"] | None


class RmaOut(Model):
    id: int
    number: str
    order_id: int
    order_number: str
    state: str  # open | receiving | received | closed
    reason: str
    lines: list[RmaLineOut]
    units: list[ReturnUnitOut]


class ReturnUnitIn(Model):
    key: str = Key
    barcode: str = Field(min_length=1, max_length=80)  # GTIN-14 or the alias, as the bench read it
    lot: str = Field(default="", max_length=60)
    serial: str = Field(default="", max_length=80)
    expiry: date | None = None
    condition: Condition
    bin: str = Field(min_length=1, max_length=60)  # the quarantine bin's location code


class TriageIn(Model):
    key: str = Key
    decision: Decision
    # restock: the named sellable bin (required); damaged: a damaged bin (default: the
    # warehouse's DAMAGED place); scrap and vendor go to virtual places and take none.
    bin: str | None = Field(default=None, min_length=1, max_length=60)
    note: str = Field(default="", max_length=500)


class TriageOut(Model):
    unit_id: int
    state: str  # the unit's state after the decision, or "awaiting_approval"
    decision: Decision
    location: str | None
    approval_id: int | None = None


class RefundOut(Model):
    id: int
    unit_id: int
    amount: Decimal
    currency: str
    state: Literal["triggered", "awaiting_approval"]
    approval_id: int | None


class QuarantineBinOut(Model):
    code: str
    warehouse: str

"""Stock movements and counts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import Field

from shared.contract.common import Id, Model


class ReceiveIn(Model):
    sku_id: Id
    location_id: Id
    qty: int = Field(ge=1, le=10_000_000)
    lot: str | None = Field(default=None, max_length=60)
    expiry: date | None = None
    unit_cost: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=4)


class MoveIn(Model):
    stock_level_id: Id
    to_location_id: Id
    qty: int = Field(ge=1, le=10_000_000)


class CountIn(Model):
    stock_level_id: Id
    counted: int = Field(ge=0, le=10_000_000)
    reason: str = Field(default="", max_length=500)


class StockRowOut(Model):
    stock_level_id: int


class CountOut(Model):
    applied: bool
    before: int | None = None
    after: int | None = None
    orders_on_hold: list[int] = []
    approval_id: int | None = None


class DriftOut(Model):
    stock_level_id: int
    field: str
    counter: int
    expected: int


class ReconcileOut(Model):
    clean: bool
    rows_checked: int
    movements: int
    drifts: list[DriftOut]

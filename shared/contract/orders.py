"""Orders, intake, exceptions and tasks."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from shared.contract.common import AddressIn, Id, Model


class OrderLineIn(Model):
    sku: str = Field(min_length=1, max_length=120)
    qty: int = Field(ge=1, le=100_000)
    unit_price: Decimal = Field(default=Decimal("0"), ge=0, max_digits=14, decimal_places=4)
    title: str = Field(default="", max_length=300)


class ManualOrderIn(Model):
    kind: Literal["phone", "wholesale", "replacement"]
    external_id: str | None = Field(default=None, max_length=120)
    lines: list[OrderLineIn] = Field(min_length=1, max_length=500)
    address: AddressIn
    email: str = Field(default="", max_length=200)
    ship_by: datetime | None = None


class OrderEditIn(Model):
    address: AddressIn | None = None
    lines: list[OrderLineIn] | None = Field(default=None, min_length=1, max_length=500)


class CancelIn(Model):
    reason: str = Field(min_length=1, max_length=500)


class CaptureIn(Model):
    reference: str = Field(min_length=1, max_length=120)
    amount: Decimal = Field(ge=0, max_digits=14, decimal_places=4)
    currency: str = Field(default="EUR", min_length=3, max_length=3)


class TransitionIn(Model):
    target: Literal[
        "picked", "packing", "packed", "labelled", "handed_over", "shipped", "delivered"
    ]
    evidence: dict[str, Any]


class IntakeOut(Model):
    order_id: int
    number: str
    state: str
    created: bool


class LineOut(Model):
    line_no: int
    listing_sku: str
    sku_id: int | None
    qty: int
    unit_price: Decimal
    reserved: int


class OrderOut(Model):
    id: int
    number: str
    channel: str
    external_id: str
    state: str
    payment_captured: bool
    address: AddressIn
    email: str
    lines: list[LineOut]
    open_exceptions: list[int]
    transitions: list[dict[str, Any]]


class CsvImportOut(Model):
    created: int
    existing: int
    failed_rows: list[dict[str, Any]]


class ExceptionOut(Model):
    id: int
    order_id: int | None
    order_number: str | None
    kind: str
    reason: str
    detail: dict[str, Any]
    recommendation: str | None
    state: str
    actions: list[str]
    created_at: datetime


class ResolveIn(Model):
    action: str = Field(min_length=1, max_length=40)
    data: dict[str, Any] = {}


class ResolveOut(Model):
    order_state: str | None


class TaskBarcodeOut(Model):
    value: str
    units: int
    valid_to: str | None


class TaskPickOut(Model):
    location: str
    lot: str
    expiry: date | None
    qty: int


class TaskLineOut(Model):
    line_no: int
    sku: str
    name: str
    qty: int
    weight_g: int
    track_lot: bool
    track_serial: bool
    track_expiry: bool
    barcodes: list[TaskBarcodeOut]
    picks: list[TaskPickOut]


class TaskOut(Model):
    order_id: int
    number: str
    state: str
    ship_by: str | None
    lines: list[TaskLineOut]


class AllocationRuleIn(Model):
    name: str = Field(min_length=1, max_length=100)
    channel_code: str | None = None
    priority: int = Field(default=100, ge=0, le=100_000)
    strategy: Literal["proximity", "single_warehouse", "first_expired"]
    allow_split: bool = False
    backorder: bool = False
    preferred_warehouse_id: Id | None = None

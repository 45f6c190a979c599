"""The dispatch door and carrier custody over HTTP: pickups, handover scans, what still waits,
tracking webhooks' answer, per-shipment cost and carrier spend."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from shared.contract.common import Model


class PickupIn(Model):
    carrier: str = Field(min_length=1, max_length=60)


class PickupOut(Model):
    id: int
    carrier: str
    state: str  # open | closed
    cartons: int
    opened_at: datetime
    closed_at: datetime | None


class HandoverIn(Model):
    barcode: str = Field(min_length=1, max_length=120)


class HandedOverPackage(Model):
    id: int
    package_no: int
    tracking_number: str
    carrier: str
    state: str


class HandoverOut(Model):
    package: HandedOverPackage
    order_id: int
    order_state: str
    duplicate: bool  # already on this pickup: nothing changed
    remaining: int  # cartons of the same order still to hand over


class WaitingPackageOut(Model):
    id: int
    order_id: int
    order_number: str
    package_no: int
    tracking_number: str
    carrier: str
    service: str
    state: str  # bought (label never scanned at the bench) | labelled | handed_over
    created_at: datetime


class TrackingOutcomeOut(Model):
    recorded: int
    duplicates: int
    unknown: int


class CustodyRunOut(Model):
    polled: TrackingOutcomeOut
    exceptions_opened: list[int]


class VoidIn(Model):
    reason: str = Field(default="", max_length=500)


class ShipmentPackageOut(Model):
    id: int
    package_no: int
    tracking_number: str
    carrier: str
    service: str
    state: str
    handed_over_at: datetime | None
    custody_at: datetime | None
    delivered_at: datetime | None


class ShipmentCostOut(Model):
    id: int
    state: str
    provider: str | None
    carrier: str | None
    service: str | None
    quoted_amount: Decimal | None
    quoted_currency: str | None
    cost_amount: Decimal | None
    cost_currency: str | None
    purchased_at: datetime | None
    explanation: str | None
    packages: list[ShipmentPackageOut]


class SpendRowOut(Model):
    provider: str
    carrier: str
    service: str
    cost_currency: str | None
    shipments: int
    packages: int
    amount: Decimal
    voided_shipments: int

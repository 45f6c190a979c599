"""Catalog and locations."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from shared.contract.common import Id, Model


class WarehouseIn(Model):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(min_length=2, max_length=2)
    postcode: str = Field(min_length=1, max_length=20)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    street: str = Field(default="", max_length=200)
    city: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=40)


class LocationIn(Model):
    warehouse_id: Id
    code: str = Field(min_length=1, max_length=60)


class SkuIn(Model):
    code: str = Field(min_length=1, max_length=80)
    name: str = Field(min_length=1, max_length=300)
    weight_g: int = Field(ge=0, le=10_000_000)
    length_mm: int = Field(ge=0, le=100_000)
    width_mm: int = Field(ge=0, le=100_000)
    height_mm: int = Field(ge=0, le=100_000)
    unit_value: Decimal = Field(ge=0, max_digits=14, decimal_places=4)
    currency: str = Field(default="EUR", min_length=3, max_length=3)
    track_lot: bool = False
    track_serial: bool = False
    track_expiry: bool = False
    release_date: date | None = None


class BarcodeIn(Model):
    value: str = Field(min_length=1, max_length=80)
    kind: Literal["gtin", "internal", "case"]
    units: int = Field(default=1, ge=1, le=100_000)
    valid_from: datetime | None = None
    valid_to: datetime | None = None


class BarcodeEnd(Model):
    valid_to: datetime


class ResolvedBarcode(Model):
    sku_id: int
    sku: str
    units: int
    barcode_id: int


class ImportErrorRow(Model):
    line: int
    reason: str


class CatalogImportOut(Model):
    created: int
    updated: int
    errors: list[ImportErrorRow]


class ListingIn(Model):
    channel_code: str = Field(min_length=1, max_length=40)
    listing_sku: str = Field(min_length=1, max_length=120)
    sku_id: Id

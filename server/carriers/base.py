"""One protocol for every shipping provider (EasyPost, Shippo, ShipStation V2).

Each provider is split karrio-style into a pure module (request building, response parsing,
webhook verification; no I/O) and a thin httpx transport. Rate shopping fans out over these in
parallel under per-provider deadlines; nothing here decides which rate wins.
Money is Decimal; weights are grams and dimensions millimetres at this boundary (each provider
module converts to its own units).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PostalAddress:
    name: str
    line1: str
    line2: str
    city: str
    region: str
    postcode: str
    country: str  # ISO 3166-1 alpha-2
    phone: str = ""
    email: str = ""
    company: str = ""


@dataclass(frozen=True, slots=True)
class Parcel:
    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int


@dataclass(frozen=True, slots=True)
class ShipmentRequest:
    reference: str  # our shipment/order number, sent as the provider's reference field
    ship_from: PostalAddress
    ship_to: PostalAddress
    parcels: tuple[Parcel, ...]  # one label and tracking number per parcel
    value: Decimal = Decimal("0")
    currency: str = "EUR"


@dataclass(frozen=True, slots=True)
class Quote:
    provider: str  # "easypost" | "shippo" | "shipstation"
    account: str  # our name for the provider account (several per provider)
    carrier: str  # e.g. "USPS", "UPS", "DHL Express"
    service: str  # the provider's service code
    amount: Decimal
    currency: str
    delivery_days: int | None
    rate_id: str  # what `buy` needs to purchase exactly this rate
    shipment_ref: str = ""  # the provider's shipment object id, when it has one


@dataclass(frozen=True, slots=True)
class QuoteFailure:
    provider: str
    account: str
    reason: str  # words for the quote log: "timeout after 2.0 s", "HTTP 503", "rate_error: ..."
    carrier: str = ""


@dataclass(frozen=True, slots=True)
class PackageLabel:
    tracking_number: str
    label_id: str  # the provider's id for voiding this package's label
    zpl: bytes | None  # ZPL when the provider returned it; else `image`
    image: bytes | None = None  # PNG/PDF bytes when only an image came back
    image_format: str = ""


@dataclass(frozen=True, slots=True)
class Purchase:
    provider: str
    account: str
    shipment_ref: str
    carrier: str
    service: str
    amount: Decimal
    currency: str
    packages: tuple[PackageLabel, ...]


@dataclass(frozen=True, slots=True)
class VoidResult:
    approved: bool
    message: str


class TrackingStatus(StrEnum):
    PRE_TRANSIT = "pre_transit"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED = "returned"
    UNKNOWN = "unknown"


# The carrier physically has the parcel (reference/carriers.md §6): only these are custody.
CUSTODY: frozenset[TrackingStatus] = frozenset(
    {TrackingStatus.IN_TRANSIT, TrackingStatus.OUT_FOR_DELIVERY, TrackingStatus.DELIVERED}
)


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    provider: str
    tracking_number: str
    status: TrackingStatus
    occurred_at: datetime
    description: str = ""
    event_id: str = ""  # the provider's id for this event, for landing replays once
    raw_status: str = ""


class CarrierError(Exception):
    """A provider refused or failed; `retry_after_s` is set when it asked us to slow down."""

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after_s: float | None = None, transient: bool = False) -> None:  # fmt: skip
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s
        # Worth trying again later (timeout, unreachable, 429, 5xx), as opposed to a refusal.
        self.transient = transient or (status is not None and (status == 429 or status >= 500))


class InvalidWebhook(Exception):
    """Signature missing or wrong, or a body that is not the provider's webhook shape."""


@dataclass(frozen=True, slots=True)
class Account:
    provider: str
    name: str
    api_key: str = field(repr=False)  # never logged
    base_url: str
    webhook_secret: str = field(default="", repr=False)


class Carrier(Protocol):
    """One provider account. Implementations raise CarrierError, never httpx errors."""

    provider: str
    account: Account

    def rates(
        self, request: ShipmentRequest, *, timeout_s: float
    ) -> tuple[list[Quote], list[QuoteFailure]]: ...

    def buy(self, quote: Quote, request: ShipmentRequest, *, timeout_s: float) -> Purchase: ...

    def void(self, label_id: str, *, timeout_s: float) -> VoidResult: ...

    def track(
        self, tracking_number: str, *, carrier: str, timeout_s: float
    ) -> list[TrackingEvent]: ...

    def parse_webhook(
        self, *, body: bytes, headers: Mapping[str, str]
    ) -> Sequence[TrackingEvent]: ...

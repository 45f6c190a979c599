"""An order as it arrives through any door (webhook, poll, CSV, manual entry)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal

from server.domain.address import Address


@dataclass(frozen=True, slots=True)
class IncomingLine:
    listing_sku: str
    qty: int
    unit_price: Decimal
    title: str = ""


@dataclass(frozen=True, slots=True)
class IncomingOrder:
    external_id: str
    lines: tuple[IncomingLine, ...]
    address: Address
    email: str = ""
    payment_captured: bool = False
    payment_reference: str = ""
    total: Decimal = Decimal("0")
    currency: str = "EUR"
    ship_by: datetime | None = None
    kind: str = "channel"  # channel | phone | wholesale | replacement


def request_hash(payload: object) -> str:
    """Stable hash of a request body, to refuse a replayed key that carries another body."""
    if isinstance(payload, bytes):
        return hashlib.sha256(payload).hexdigest()
    data = asdict(payload) if hasattr(payload, "__dataclass_fields__") else payload  # type: ignore[call-overload]
    text = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()

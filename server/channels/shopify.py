"""Shopify's order webhooks: signature check on the raw body, then the order in our terms.

Shopify signs the raw request body with the app's client secret (base64 HMAC-SHA256 in
X-Shopify-Hmac-Sha256), retries a delivery up to 8 times over 4 hours with the original payload,
and may deliver one event twice; X-Shopify-Event-Id names the event (reference/ledger.md 4.2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from server.domain.address import Address
from server.domain.errors import InvalidSignature, ValidationFailed
from server.domain.intake import IncomingLine, IncomingOrder

ORDER_TOPICS = ("orders/create", "orders/paid", "orders/updated")
CANCEL_TOPIC = "orders/cancelled"


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(*, body: bytes, signature: str | None, secret: str) -> None:
    if not signature or not hmac.compare_digest(sign(body, secret), signature.strip()):
        raise InvalidSignature("X-Shopify-Hmac-Sha256 does not match the body")


@dataclass(frozen=True, slots=True)
class ShopifyDelivery:
    topic: str
    event_id: str
    order: IncomingOrder | None
    cancelled_external_id: str | None


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""


def parse_delivery(*, body: bytes, headers: Mapping[str, str]) -> ShopifyDelivery:
    topic = _header(headers, "X-Shopify-Topic")
    # Event-Id is the documented duplicate key; Webhook-Id is older and also unique per delivery
    # chain, so it is the fallback.
    event_id = _header(headers, "X-Shopify-Event-Id") or _header(headers, "X-Shopify-Webhook-Id")
    if not event_id:
        raise ValidationFailed("the delivery has no X-Shopify-Event-Id header")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"the body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise ValidationFailed("the body is not a JSON object")
    if topic == CANCEL_TOPIC:
        return ShopifyDelivery(topic, event_id, None, str(payload.get("id", "")))
    if topic not in ORDER_TOPICS:
        raise ValidationFailed(f"topic {topic!r} is not handled")
    return ShopifyDelivery(topic, event_id, parse_order(payload), None)


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value if value is not None else "0"))
    except InvalidOperation as exc:
        raise ValidationFailed(f"{value!r} is not an amount") from exc


def parse_order(payload: dict[str, Any]) -> IncomingOrder:
    if "id" not in payload:
        raise ValidationFailed("the order has no id")
    ship = payload.get("shipping_address") or {}
    if not isinstance(ship, dict):
        raise ValidationFailed("shipping_address is not an object")
    items = payload.get("line_items")
    if not isinstance(items, list) or not items:
        raise ValidationFailed("the order has no line_items")
    lines = []
    for item in items:
        if not isinstance(item, dict):
            raise ValidationFailed("a line item is not an object")
        qty = item.get("quantity")
        if not isinstance(qty, int) or qty <= 0:
            raise ValidationFailed(f"line item {item.get('id')} has quantity {qty!r}")
        # Listings without a merchant SKU fall back to the variant id, which the channel
        # listing map can then point at a catalog SKU.
        listing = str(item.get("sku") or "").strip() or f"variant:{item.get('variant_id')}"
        lines.append(
            IncomingLine(listing, qty, _money(item.get("price")), str(item.get("title") or ""))
        )
    phone = str(ship.get("phone") or payload.get("phone") or "")
    name = str(
        ship.get("name")
        or " ".join(x for x in (ship.get("first_name"), ship.get("last_name")) if x)
    )
    address = Address(
        name=name,
        line1=str(ship.get("address1") or ""),
        line2=str(ship.get("address2") or ""),
        city=str(ship.get("city") or ""),
        region=str(ship.get("province_code") or ship.get("province") or ""),
        postcode=str(ship.get("zip") or ""),
        country=str(ship.get("country_code") or ""),
        phone=phone,
    )
    # "paid" means captured; "authorized" is only a hold on the card (paid is not ready to pick).
    captured = payload.get("financial_status") in ("paid", "partially_refunded")
    return IncomingOrder(
        external_id=str(payload["id"]),
        lines=tuple(lines),
        address=address,
        email=str(payload.get("email") or payload.get("contact_email") or ""),
        payment_captured=captured,
        payment_reference=f"shopify:{payload['id']}" if captured else "",
        total=_money(payload.get("total_price")),
        currency=str(payload.get("currency") or "EUR"),
    )

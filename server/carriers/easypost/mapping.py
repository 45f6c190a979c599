"""EasyPost v2 wire format, pure: request bodies from our types, responses into our types.

Sources (reference/carriers.md §2.1): shapes from the official SDK's recorded cassettes
(easypost-python tests/cassettes: shipment create/buy/convert-label/refund, order create/buy,
tracker create, errors); the webhook signature from the SDK's `validate_webhook`.
Units: EasyPost takes ounces and inches; our boundary is grams and millimetres.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from server.carriers.base import (
    Account,
    CarrierError,
    PackageLabel,
    Parcel,
    PostalAddress,
    Purchase,
    Quote,
    QuoteFailure,
    ShipmentRequest,
    VoidResult,
)

PROVIDER = "easypost"
_GRAMS_PER_OUNCE = Decimal("28.349523125")
_MM_PER_INCH = Decimal("25.4")
_TENTH = Decimal("0.1")

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ApiCall:
    method: str
    path: str  # relative to the account's base URL, which ends in /v2
    body: Json | None = None
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LabelRef:
    """One bought child shipment: one parcel, one tracking code, one label."""

    shipment_id: str
    tracking_code: str
    zpl_url: str
    image_url: str
    image_type: str
    amount: Decimal | None
    currency: str


# -- units --------------------------------------------------------------------------------


def ounces(grams: int) -> Decimal:
    # One decimal place, rounded up so a parcel is never declared lighter than it is.
    oz = (Decimal(grams) / _GRAMS_PER_OUNCE).quantize(_TENTH, rounding="ROUND_CEILING")
    return max(oz, _TENTH)


def inches(mm: int) -> Decimal:
    inch = (Decimal(mm) / _MM_PER_INCH).quantize(_TENTH, rounding="ROUND_CEILING")
    return max(inch, _TENTH)


# -- requests -----------------------------------------------------------------------------


def address_json(address: PostalAddress) -> Json:
    return {
        "name": address.name,
        "company": address.company,
        "street1": address.line1,
        "street2": address.line2,
        "city": address.city,
        "state": address.region,
        "zip": address.postcode,
        "country": address.country,
        "phone": address.phone,
        "email": address.email,
    }


def parcel_json(parcel: Parcel) -> Json:
    # Numbers as strings, as the SDK cassettes send them (Decimal keeps them exact).
    return {
        "length": str(inches(parcel.length_mm)),
        "width": str(inches(parcel.width_mm)),
        "height": str(inches(parcel.height_mm)),
        "weight": str(ounces(parcel.weight_g)),
    }


_ZPL_OPTIONS: Json = {"label_format": "ZPL"}


def rate_call(request: ShipmentRequest) -> ApiCall:
    """One parcel: a Shipment. Several: an Order, whose child shipments each get their own
    tracking code and label when the order is bought (EasyPost has no multi-parcel Shipment)."""
    if not request.parcels:
        raise CarrierError("a shipment needs at least one parcel")
    common = {
        "reference": request.reference,
        "to_address": address_json(request.ship_to),
        "from_address": address_json(request.ship_from),
        "options": dict(_ZPL_OPTIONS),
    }
    if len(request.parcels) == 1:
        body = {**common, "parcel": parcel_json(request.parcels[0])}
        return ApiCall("POST", "/shipments", {"shipment": body})
    # options on each child too: that orders pass their options down is not confirmed by a
    # source, and a child without ZPL is converted after buying anyway (`label_call`).
    children = [{"parcel": parcel_json(p), "options": dict(_ZPL_OPTIONS)} for p in request.parcels]
    return ApiCall("POST", "/orders", {"order": {**common, "shipments": children}})


def buy_call(quote: Quote) -> ApiCall:
    if quote.shipment_ref.startswith("order_"):
        # Orders are bought by carrier + service, not by rate id [E2 test_order_buy].
        body = {"carrier": quote.carrier, "service": quote.service}
        return ApiCall("POST", f"/orders/{quote.shipment_ref}/buy", body)
    return ApiCall("POST", f"/shipments/{quote.shipment_ref}/buy", {"rate": {"id": quote.rate_id}})


def label_call(shipment_id: str) -> ApiCall:
    return ApiCall("GET", f"/shipments/{shipment_id}/label", params={"file_format": "ZPL"})


def refund_call(shipment_id: str) -> ApiCall:
    return ApiCall("POST", f"/shipments/{shipment_id}/refund", {})


def tracker_call(tracking_number: str, *, carrier: str) -> ApiCall:
    tracker: Json = {"tracking_code": tracking_number}
    if carrier:
        tracker["carrier"] = carrier
    return ApiCall("POST", "/trackers", {"tracker": tracker})


# -- responses ----------------------------------------------------------------------------


def load_json(body: bytes) -> Json:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CarrierError(f"EasyPost sent a body that is not JSON: {_snippet(body)}") from exc
    if not isinstance(value, dict):
        raise CarrierError("EasyPost sent JSON that is not an object")
    return value


def money(value: object) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise CarrierError(f"EasyPost sent an amount that is not a number: {value!r}") from exc


def parse_rates(body: Json, *, account: Account) -> tuple[list[Quote], list[QuoteFailure]]:
    """Shipment or Order: rates[] plus per-carrier `rate_error` messages (still a 201)."""
    ref = str(body.get("id", ""))
    quotes = [
        Quote(
            provider=PROVIDER,
            account=account.name,
            carrier=str(rate["carrier"]),
            service=str(rate["service"]),
            amount=money(rate["rate"]),
            currency=str(rate.get("currency") or "USD"),
            delivery_days=_int_or_none(rate.get("delivery_days") or rate.get("est_delivery_days")),
            rate_id=str(rate["id"]),
            shipment_ref=ref,
        )
        for rate in body.get("rates") or []
    ]
    failures = [
        QuoteFailure(
            provider=PROVIDER,
            account=account.name,
            reason=f"rate_error: {msg.get('message', '')}",
            carrier=str(msg.get("carrier") or ""),
        )
        for msg in body.get("messages") or []
        if msg.get("type") == "rate_error"
    ]
    return quotes, failures


def purchased_labels(body: Json) -> list[LabelRef]:
    """A bought Shipment (one parcel) or a bought Order (one child shipment per parcel)."""
    shipments = body["shipments"] if body.get("object") == "Order" else [body]
    refs = [label_ref(s) for s in shipments]
    if not refs or any(not r.tracking_code for r in refs):
        raise CarrierError("EasyPost bought the label but sent no tracking code for a parcel")
    return refs


def label_ref(shipment: Json) -> LabelRef:
    label = shipment.get("postage_label") or {}
    rate = shipment.get("selected_rate") or {}
    return LabelRef(
        shipment_id=str(shipment["id"]),
        tracking_code=str(shipment.get("tracking_code") or ""),
        zpl_url=str(label.get("label_zpl_url") or ""),
        image_url=str(label.get("label_url") or ""),
        image_type=str(label.get("label_file_type") or ""),
        amount=money(rate["rate"]) if rate.get("rate") is not None else None,
        currency=str(rate.get("currency") or ""),
    )


def build_purchase(
    quote: Quote, *, account: Account, refs: list[LabelRef], labels: Mapping[str, bytes]
) -> Purchase:
    """`labels` maps shipment id to ZPL bytes; the shipment id is what `void` takes."""
    amounts = [r.amount for r in refs]
    amount = quote.amount if None in amounts else sum((a for a in amounts if a), Decimal(0))
    packages = tuple(
        PackageLabel(
            tracking_number=r.tracking_code, label_id=r.shipment_id, zpl=labels[r.shipment_id]
        )
        for r in refs
    )
    return Purchase(
        provider=PROVIDER,
        account=account.name,
        shipment_ref=quote.shipment_ref,
        carrier=quote.carrier,
        service=quote.service,
        amount=amount,
        currency=next((r.currency for r in refs if r.currency), quote.currency),
        packages=packages,
    )


# `submitted` is accepted by EasyPost and settled later (refunded|rejected) [E7]; the label
# must not be used from then on, so it counts as approved. Bill-on-scan carriers answer
# `not_applicable`: an unscanned label costs nothing, which is what a void wants.
_REFUND_APPROVED = frozenset({"submitted", "refunded", "not_applicable"})


def parse_refund(body: Json) -> VoidResult:
    status = str(body.get("refund_status") or "")
    return VoidResult(approved=status in _REFUND_APPROVED, message=f"refund_status: {status}")


def error_from_response(
    *, status: int, content_type: str, body: bytes, retry_after_s: float | None = None
) -> CarrierError:
    """EasyPost's `{"error": {code, message, errors[]}}` (errors as objects or strings), or
    whatever a proxy in front of it sends (HTML error pages, empty bodies)."""
    prefix = f"EasyPost HTTP {status}"
    if "json" not in content_type.lower() and body.lstrip()[:1] != b"{":
        kind = "an HTML error page" if b"<" in body[:200] else "a non-JSON body"
        return CarrierError(f"{prefix}: {kind}: {_snippet(body)}", status=status,
                            retry_after_s=retry_after_s)  # fmt: skip
    try:
        error = load_json(body).get("error")
    except CarrierError:
        return CarrierError(f"{prefix}: {_snippet(body)}", status=status,
                            retry_after_s=retry_after_s)  # fmt: skip
    if not isinstance(error, dict):
        text = str(error) if error else _snippet(body)
        return CarrierError(f"{prefix}: {text}", status=status, retry_after_s=retry_after_s)
    details = [_detail(e) for e in error.get("errors") or []]
    message = f"{prefix}: {error.get('code', 'ERROR')}: {error.get('message', '')}"
    if details:
        message += " (" + "; ".join(details) + ")"
    return CarrierError(message, status=status, retry_after_s=retry_after_s)


def _detail(item: object) -> str:
    if isinstance(item, dict):
        return f"{item.get('field', '')}: {item.get('message', '')}".strip(": ")
    return str(item)


def _snippet(body: bytes) -> str:
    text = body[:160].decode("utf-8", "replace")
    return " ".join(text.split()) or "(empty body)"


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None

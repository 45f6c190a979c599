"""Shippo request building and response parsing: pure, no I/O.

Shapes come from the official SDK models (goshippo/shippo-python-sdk v4: ShipmentCreateRequest,
Rate, Transaction, Refund, Track, TrackingStatus, ResponseMessage) and the docs pages cited in
reference/carriers.md §2.2. Money stays a Decimal built from Shippo's string amounts.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from server.carriers.base import (
    CarrierError,
    Parcel,
    PostalAddress,
    Quote,
    QuoteFailure,
    ShipmentRequest,
    TrackingEvent,
    TrackingStatus,
    VoidResult,
)

PROVIDER = "shippo"
# A transaction or refund in these states is still being worked on by Shippo: poll it.
PENDING_STATES = frozenset({"QUEUED", "WAITING", "PENDING"})
_METADATA_MAX = 100  # Shipment/Transaction `metadata` is "a string of up to 100 characters" (SDK)


def _address(address: PostalAddress) -> dict[str, str]:
    body = {
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
    return {key: value for key, value in body.items() if value}


def _cm(mm: int) -> str:
    # Shippo takes dimensions as strings; cm is accepted by every carrier (`mm` is in the v4
    # DistanceUnitEnum but older accounts/docs only show cm and in), so convert exactly.
    return format((Decimal(mm) / 10).normalize(), "f")


def _parcel(parcel: Parcel) -> dict[str, str]:
    return {
        "length": _cm(parcel.length_mm),
        "width": _cm(parcel.width_mm),
        "height": _cm(parcel.height_mm),
        "distance_unit": "cm",
        "weight": str(parcel.weight_g),
        "mass_unit": "g",  # WeightUnitEnum: g, kg, lb, oz
    }


def shipment_body(request: ShipmentRequest) -> dict[str, Any]:
    if not request.parcels:
        raise CarrierError("a shipment needs at least one parcel")
    return {
        "address_from": _address(request.ship_from),
        "address_to": _address(request.ship_to),
        # Several parcels make one multi-piece shipment: the rate covers all of them [S5].
        "parcels": [_parcel(parcel) for parcel in request.parcels],
        "metadata": request.reference[:_METADATA_MAX],
        "async": False,  # rates come back in this response instead of via polling [S4]
    }


def transaction_body(*, rate_id: str, reference: str) -> dict[str, Any]:
    return {
        "rate": rate_id,
        "label_file_type": "ZPLII",
        "async": False,
        "metadata": reference[:_METADATA_MAX],
    }


def refund_body(*, transaction_id: str) -> dict[str, Any]:
    # One label per refund request [S8].
    return {"transaction": transaction_id, "async": False}


def carrier_token(carrier: str) -> str:
    # Shippo's track path takes its carrier token ("usps", "ups", "fedex", "dhl_express",
    # "shippo" for test numbers); rates name the provider ("USPS", "DHL Express"). Lower-casing
    # with underscores fits those; other multi-word carriers are unconfirmed.
    return re.sub(r"\s+", "_", carrier.strip().lower())


def _message_text(message: Any) -> str:
    if isinstance(message, Mapping):
        text = str(message.get("text") or message.get("message") or "")
        code = str(message.get("code") or "")
        return f"{code}: {text}" if code and text else text or code
    return str(message)


def parse_rates(body: Any, *, account: str) -> tuple[list[Quote], list[QuoteFailure]]:
    if not isinstance(body, Mapping):
        raise CarrierError("Shippo shipment response is not a JSON object")
    shipment_id = str(body.get("object_id") or "")
    quotes: list[Quote] = []
    failures: list[QuoteFailure] = []
    for rate in body.get("rates") or []:
        try:
            servicelevel = rate.get("servicelevel") or {}
            days = rate.get("estimated_days", rate.get("days"))  # `days` before 2018 [S3]
            quotes.append(
                Quote(
                    provider=PROVIDER,
                    account=account,
                    carrier=str(rate["provider"]),
                    service=str(servicelevel.get("token") or servicelevel.get("name") or ""),
                    amount=Decimal(str(rate["amount"])),
                    currency=str(rate["currency"]),
                    delivery_days=int(days) if days is not None else None,
                    rate_id=str(rate["object_id"]),
                    shipment_ref=shipment_id,
                )
            )
        except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as exc:
            failures.append(QuoteFailure(PROVIDER, account, f"unreadable rate: {exc!r}"))
    # Carriers that failed to rate show up as shipment-level messages, still in a 201.
    for message in body.get("messages") or []:
        source = str(message.get("source") or "") if isinstance(message, Mapping) else ""
        failures.append(
            QuoteFailure(PROVIDER, account, f"rate_error: {_message_text(message)}", source)
        )
    status = str(body.get("status") or "")
    if status == "ERROR" and not quotes and not failures:
        failures.append(QuoteFailure(PROVIDER, account, "shipment status ERROR"))
    return quotes, failures


def transaction_status(body: Any) -> str:
    if not isinstance(body, Mapping) or not body.get("object_id"):
        raise CarrierError("Shippo transaction response has no object_id")
    return str(body.get("status") or "")


def check_transaction(body: Mapping[str, Any]) -> None:
    """Raise the carrier's own words when a label purchase ended in ERROR."""
    if body.get("status") == "ERROR" or body.get("object_state") == "INVALID":
        texts = [_message_text(m) for m in body.get("messages") or []]
        raise CarrierError("Shippo label failed: " + ("; ".join(t for t in texts if t) or "ERROR"))


def transaction_list(body: Any) -> list[Mapping[str, Any]]:
    if not isinstance(body, Mapping) or not isinstance(body.get("results"), list):
        raise CarrierError("Shippo transaction list has no results")
    return [item for item in body["results"] if isinstance(item, Mapping)]


def parse_refund(body: Any) -> VoidResult:
    if not isinstance(body, Mapping) or "status" not in body:
        raise CarrierError("Shippo refund response has no status")
    status = str(body["status"])
    # QUEUED/PENDING: submitted to the carrier, which may still reject it later.
    return VoidResult(approved=status != "ERROR", message=f"refund {status}")


def _when(raw: Any) -> datetime | None:
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_STATUS = {
    "UNKNOWN": TrackingStatus.UNKNOWN,
    "PRE_TRANSIT": TrackingStatus.PRE_TRANSIT,
    "TRANSIT": TrackingStatus.IN_TRANSIT,
    "DELIVERED": TrackingStatus.DELIVERED,
    "RETURNED": TrackingStatus.RETURNED,
    "FAILURE": TrackingStatus.EXCEPTION,
}


def _event(tracking_number: str, item: Mapping[str, Any]) -> TrackingEvent | None:
    occurred = _when(item.get("status_date")) or _when(item.get("object_created"))
    raw = str(item.get("status") or "UNKNOWN")
    if occurred is None:
        return None
    status = _STATUS.get(raw, TrackingStatus.UNKNOWN)
    substatus = item.get("substatus")
    sub = str(substatus.get("code") or "") if isinstance(substatus, Mapping) else ""
    if status is TrackingStatus.IN_TRANSIT and sub == "out_for_delivery":
        status = TrackingStatus.OUT_FOR_DELIVERY  # substatus code name unconfirmed by docs
    event_id = str(item.get("object_id") or "")
    if not event_id:  # stable across redeliveries so a replay lands once
        seed = f"{tracking_number}|{raw}|{occurred.isoformat()}"
        event_id = "sha256:" + hashlib.sha256(seed.encode()).hexdigest()[:32]
    return TrackingEvent(
        provider=PROVIDER,
        tracking_number=tracking_number,
        status=status,
        occurred_at=occurred,
        description=str(item.get("status_details") or ""),
        event_id=event_id,
        raw_status=f"{raw}/{sub}" if sub else raw,
    )


def parse_track(body: Any) -> list[TrackingEvent]:
    if not isinstance(body, Mapping) or not body.get("tracking_number"):
        raise CarrierError("Shippo track response has no tracking_number")
    number = str(body["tracking_number"])
    items = [*(body.get("tracking_history") or []), body.get("tracking_status")]
    events: dict[str, TrackingEvent] = {}
    for item in items:
        if isinstance(item, Mapping) and (event := _event(number, item)) is not None:
            events.setdefault(event.event_id, event)
    return sorted(events.values(), key=lambda e: e.occurred_at)


_TITLE = re.compile(rb"<(title|h1)[^>]*>(.*?)</\1>", re.IGNORECASE | re.DOTALL)


def _json_error_text(body: Any) -> str:
    if isinstance(body, Mapping):
        if isinstance(body.get("detail"), str):
            return str(body["detail"])
        if isinstance(body.get("messages"), list) and body["messages"]:
            return "; ".join(_message_text(m) for m in body["messages"])
        parts = []  # 400s are field-keyed lists: {"rate": ["This field is required."]}
        for field, value in body.items():
            words = value if isinstance(value, list) else [value]
            parts.append(f"{field}: " + " ".join(_message_text(w) for w in words))
        return "; ".join(parts)
    if isinstance(body, list):
        return "; ".join(_message_text(item) for item in body)
    return str(body)


def error_from_response(
    *, status: int, content_type: str, content: bytes, retry_after_s: float | None = None
) -> CarrierError:
    """A non-2xx answer as a CarrierError carrying Shippo's words, never a raw HTML page."""
    text = ""
    if "json" in content_type.lower():
        try:
            text = _json_error_text(json.loads(content))
        except ValueError:
            text = ""
    elif b"<html" in content[:512].lower() or "html" in content_type.lower():
        # Shippo answers unknown ids with a server HTML page (`<h1>Not Found</h1>`) [S3].
        match = _TITLE.search(content)
        inner = re.sub(rb"<[^>]+>", b"", match.group(2)) if match else b"HTML error page"
        text = html.unescape(inner.decode("utf-8", "replace")).strip()
    if not text:
        text = content[:200].decode("utf-8", "replace").strip() or "no body"
    return CarrierError(
        f"Shippo HTTP {status}: {text[:300]}", status=status, retry_after_s=retry_after_s
    )

"""ShipStation API V2 (formerly ShipEngine) JSON <-> our carrier types. Pure: no I/O.

Shapes follow the V2 OpenAPI file in shipstation/mcp-shipstation-api and docs.shipstation.com
(handbook reference/carriers.md §2.4, [SS1], [SS5], [SS12], [SS13]). Money arrives as JSON
numbers, so bodies are parsed with Decimal floats to keep cents exact.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from server.carriers.base import (
    CarrierError,
    PostalAddress,
    Quote,
    QuoteFailure,
    ShipmentRequest,
    VoidResult,
)

PROVIDER = "shipstation"

Json = dict[str, Any]


# ---- requests -------------------------------------------------------------------------------


def _address(address: PostalAddress) -> Json:
    out: Json = {
        "name": address.name,
        "phone": address.phone,
        "address_line1": address.line1,
        "city_locality": address.city,
        "state_province": address.region,
        "postal_code": address.postcode,
        "country_code": address.country,
        # We do not know; "unknown" lets the carrier decide the surcharge [SS1].
        "address_residential_indicator": "unknown",
    }
    if address.line2:
        out["address_line2"] = address.line2
    if address.company:
        out["company_name"] = address.company
    if address.email:
        out["email"] = address.email
    return out


def rates_body(request: ShipmentRequest, *, carrier_ids: Sequence[str]) -> Json:
    """POST /v2/rates: `rate_options.carrier_ids` is required by the API [SS1]."""
    packages = [
        {
            # "gram" and "centimeter" are accepted units [SS1]; we keep grams exact.
            "weight": {"value": parcel.weight_g, "unit": "gram"},
            "dimensions": {
                "unit": "centimeter",
                "length": parcel.length_mm / 10,
                "width": parcel.width_mm / 10,
                "height": parcel.height_mm / 10,
            },
            # Printed on the label; reference1 per the label_messages object [SS1].
            "label_messages": {"reference1": request.reference},
        }
        for parcel in request.parcels
    ]
    return {
        "rate_options": {"carrier_ids": list(carrier_ids), "preferred_currency": request.currency},
        "shipment": {
            "ship_from": _address(request.ship_from),
            "ship_to": _address(request.ship_to),
            "packages": packages,
        },
    }


def label_body() -> Json:
    """POST /v2/labels/rates/{rate_id}: ZPL 4x6, inline so no second round trip [SS5]."""
    return {"label_format": "zpl", "label_layout": "4x6", "label_download_type": "inline"}


# ---- decoding and errors --------------------------------------------------------------------


def decode_json(body: bytes, *, status: int) -> Any:
    """Parse a body or raise CarrierError naming what came back (HTML page, empty, junk)."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        raise CarrierError(f"HTTP {status}: empty body", status=status)
    if text.startswith("<"):
        # Gateways and load balancers answer with HTML error pages, not the JSON error shape.
        raise CarrierError(f"HTTP {status}: HTML page instead of JSON", status=status)
    try:
        return json.loads(text, parse_float=Decimal)
    except ValueError as exc:
        raise CarrierError(f"HTTP {status}: body is not JSON", status=status) from exc


def _messages(errors: Any) -> list[str]:
    out: list[str] = []
    if isinstance(errors, list):
        for item in errors:
            if isinstance(item, Mapping):
                code = str(item.get("error_code") or "")
                message = str(item.get("message") or "")
                out.append(f"{code}: {message}" if code else message)
            elif isinstance(item, str):
                out.append(item)
    return [m for m in out if m]


def error_from_response(body: bytes, *, status: int) -> CarrierError:
    """Non-2xx: `{"request_id", "errors":[{error_source, error_type, error_code, message}]}`
    [SS12]; a missing label id is a 404 with an empty body [SS1]."""
    try:
        data = decode_json(body, status=status)
    except CarrierError as exc:
        return exc
    words = _messages(data.get("errors")) if isinstance(data, Mapping) else []
    text = "; ".join(words) if words else "no error message"
    return CarrierError(f"HTTP {status}: {text}", status=status)


def _money(value: Any) -> tuple[Decimal, str]:
    if not isinstance(value, Mapping):
        return Decimal("0"), ""
    amount = value.get("amount")
    currency = str(value.get("currency") or "").upper()
    if amount is None:
        return Decimal("0"), currency
    return Decimal(str(amount)), currency


def _object(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise CarrierError(f"unexpected {what} response: not a JSON object")
    return data


# ---- rates ----------------------------------------------------------------------------------


def _carrier_name(rate: Mapping[str, Any]) -> str:
    return str(
        rate.get("carrier_friendly_name")
        or rate.get("carrier_nickname")
        or rate.get("carrier_code")
        or rate.get("carrier_id")
        or ""
    )


def parse_rates(data: Any, *, account: str) -> tuple[list[Quote], list[QuoteFailure]]:
    """`rate_response` with `status` completed|partial|error, `rates`, `invalid_rates`,
    `errors` [SS1]. A rate's total is shipping + insurance + confirmation + other (+ tax)."""
    root = _object(data, "rates")
    response = root.get("rate_response")
    if not isinstance(response, Mapping):
        raise CarrierError("rates response has no rate_response")
    shipment_ref = str(response.get("shipment_id") or root.get("shipment_id") or "")
    quotes: list[Quote] = []
    failures: list[QuoteFailure] = []
    for rate in response.get("rates") or []:
        if not isinstance(rate, Mapping):
            continue
        total = Decimal("0")
        currency = ""
        for key in (
            "shipping_amount",
            "insurance_amount",
            "confirmation_amount",
            "other_amount",
            "tax_amount",
        ):
            amount, cur = _money(rate.get(key))
            total += amount
            currency = currency or cur
        days = rate.get("delivery_days")
        quotes.append(
            Quote(
                provider=PROVIDER,
                account=account,
                carrier=_carrier_name(rate),
                service=str(rate.get("service_code") or ""),
                amount=total,
                currency=currency,
                delivery_days=int(days) if isinstance(days, int | Decimal) else None,
                rate_id=str(rate.get("rate_id") or ""),
                shipment_ref=shipment_ref,
            )
        )
    for rate in response.get("invalid_rates") or []:
        if not isinstance(rate, Mapping):
            continue
        words = _messages(rate.get("error_messages")) or ["invalid rate"]
        failures.append(
            QuoteFailure(
                provider=PROVIDER,
                account=account,
                reason="invalid_rate: " + "; ".join(words),
                carrier=_carrier_name(rate),
            )
        )
    for error in response.get("errors") or []:
        if not isinstance(error, Mapping):
            continue
        failures.append(
            QuoteFailure(
                provider=PROVIDER,
                account=account,
                reason="rate_error: " + "; ".join(_messages([error]) or ["unknown error"]),
                carrier=str(error.get("carrier_name") or error.get("carrier_code") or ""),
            )
        )
    if not quotes and not failures and response.get("status") == "error":
        failures.append(QuoteFailure(provider=PROVIDER, account=account, reason="rate_error"))
    return quotes, failures


# ---- labels ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabelPackage:
    tracking_number: str
    zpl: bytes | None  # inline label content
    zpl_url: str  # set when the API returned a download link instead of inline content


@dataclass(frozen=True, slots=True)
class ParsedLabel:
    label_id: str
    shipment_id: str
    carrier: str
    service: str
    amount: Decimal
    currency: str
    packages: tuple[LabelPackage, ...]


def _download(download: Any) -> tuple[bytes | None, str]:
    # Inline labels come back base64-encoded in `label_download.href`; URL downloads carry
    # https links in `zpl`/`href` instead [SS5 "inline label download type will provide a
    # single, Base64 encoded label"; the exact field is unconfirmed, so both are accepted].
    if not isinstance(download, Mapping):
        return None, ""
    href = str(download.get("href") or "")
    zpl_link = str(download.get("zpl") or "")
    if href.startswith(("http://", "https://")):
        return None, zpl_link or href
    if not href:
        return None, zpl_link
    try:
        return base64.b64decode(href, validate=True), ""
    except (binascii.Error, ValueError) as exc:
        raise CarrierError("label_download.href is neither a URL nor base64") from exc


def parse_label(data: Any, *, expected_packages: int) -> ParsedLabel:
    """Label object: one label_id for the whole shipment; `packages[]` carries one tracking
    number and label per package (multi-package, [SS1], [SS13]); the top-level
    tracking_number is the master number."""
    label = _object(data, "label")
    label_id = str(label.get("label_id") or "")
    status = str(label.get("status") or "")
    if status == "error" or not label_id:
        raise CarrierError(f"label not created (status {status or 'missing'})")
    packages: list[LabelPackage] = []
    for item in label.get("packages") or []:
        if not isinstance(item, Mapping):
            continue
        zpl, url = _download(item.get("label_download"))
        packages.append(LabelPackage(str(item.get("tracking_number") or ""), zpl, url))
    if not packages:
        zpl, url = _download(label.get("label_download"))
        packages.append(LabelPackage(str(label.get("tracking_number") or ""), zpl, url))
    if len(packages) == 1 and not packages[0].zpl and not packages[0].zpl_url:
        zpl, url = _download(label.get("label_download"))
        packages[0] = LabelPackage(packages[0].tracking_number, zpl, url)
    if len(packages) != expected_packages or any(not p.tracking_number for p in packages):
        # The label is bought already: name it so the caller can void it.
        raise CarrierError(
            f"label {label_id} has {len(packages)} tracked packages, expected {expected_packages}"
        )
    cost, currency = _money(label.get("shipment_cost"))
    insurance, _ = _money(label.get("insurance_cost"))
    return ParsedLabel(
        label_id=label_id,
        shipment_id=str(label.get("shipment_id") or ""),
        carrier=str(label.get("carrier_code") or ""),
        service=str(label.get("service_code") or ""),
        amount=cost + insurance,
        currency=currency,
        packages=tuple(packages),
    )


# ---- void -----------------------------------------------------------------------------------


def parse_void(data: Any) -> VoidResult:
    """`{approved, message, reason_code?}` [SS1]; reason_code is appended for the log."""
    result = _object(data, "void")
    approved = result.get("approved")
    if not isinstance(approved, bool):
        raise CarrierError("void response has no 'approved' flag")
    message = str(result.get("message") or "")
    reason = str(result.get("reason_code") or "")
    if reason and not approved:
        message = f"{message} ({reason})" if message else reason
    return VoidResult(approved=approved, message=message)

"""ShipStation V2 tracking: status codes, track responses and RSA-signed webhooks. Pure.

Webhook signing [SS11] (docs.shipstation.com/apis/docs/guides/webhooks-validation): headers
`x-shipengine-rsa-sha256-key-id`, `x-shipengine-rsa-sha256-signature`,
`x-shipengine-timestamp`; reject timestamps more than 5 minutes off. The signed bytes are
`<timestamp>.<raw body>` with RSASSA-PKCS1-v1_5/SHA-256 and a base64 signature, and the public
keys are a JWKS looked up by key id: taken from several public verifiers of these webhooks
(third-party code, not the docs page itself: unconfirmed).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from server.carriers.base import InvalidWebhook, TrackingEvent, TrackingStatus

PROVIDER = "shipstation"
KEY_ID_HEADER = "x-shipengine-rsa-sha256-key-id"
SIGNATURE_HEADER = "x-shipengine-rsa-sha256-signature"
TIMESTAMP_HEADER = "x-shipengine-timestamp"
MAX_SKEW = timedelta(minutes=5)  # the docs' suggested replay window [SS11]
# TRACK_EVENT_V2 per the V2 webhook schemas [SS8]; API_TRACK is the ShipEngine name that
# public V2 consumers still receive (third-party code), so both are tracking.
TRACK_RESOURCE_TYPES = frozenset({"TRACK_EVENT_V2", "API_TRACK"})

# Standardised status_code values [SS10]. AC (accepted) and AT (delivery attempted) mean the
# carrier holds the parcel, so they map to custody statuses (handbook §6); NY/UN do not.
_STATUS = {
    "UN": TrackingStatus.UNKNOWN,
    "NY": TrackingStatus.PRE_TRANSIT,
    "AC": TrackingStatus.IN_TRANSIT,
    "IT": TrackingStatus.IN_TRANSIT,
    "AT": TrackingStatus.OUT_FOR_DELIVERY,
    "DE": TrackingStatus.DELIVERED,
    "SP": TrackingStatus.DELIVERED,
    "EX": TrackingStatus.EXCEPTION,
}
# Finer status_detail_code values [SS1] that our coarse statuses can tell apart.
_DETAIL = {
    "OUT_FOR_DELIVERY": TrackingStatus.OUT_FOR_DELIVERY,
    "RETURN_TO_SENDER": TrackingStatus.RETURNED,
    "RETURNED_TO_SENDER": TrackingStatus.RETURNED,
}


def status_of(status_code: str, detail_code: str = "") -> TrackingStatus:
    return _DETAIL.get(detail_code.upper()) or _STATUS.get(
        status_code.upper(), TrackingStatus.UNKNOWN
    )


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _event_id(tracking_number: str, occurred: str, code: str, description: str) -> str:
    # V2 events carry no id of their own; a digest of what identifies one lets a replayed or
    # re-polled event land once.
    digest = hashlib.sha256(f"{tracking_number}|{occurred}|{code}|{description}".encode())
    return "ss-" + digest.hexdigest()[:32]


def parse_tracking(data: Any, *, fallback_time: datetime) -> list[TrackingEvent]:
    """A track response (`GET /v2/labels/{id}/track`) or a webhook's `data`: top-level status
    plus `events[]` [SS7, SS8]. Without events, the top-level status becomes one event."""
    if not isinstance(data, Mapping):
        raise ValueError("tracking data is not an object")
    number = str(data.get("tracking_number") or "")
    if not number:
        raise ValueError("tracking data has no tracking_number")
    out: list[TrackingEvent] = []
    for event in data.get("events") or []:
        if not isinstance(event, Mapping):
            continue
        raw_time = str(event.get("occurred_at") or event.get("carrier_occurred_at") or "")
        when = _when(raw_time) or fallback_time
        code = str(event.get("status_code") or "")
        detail = str(event.get("status_detail_code") or "")
        description = str(event.get("description") or event.get("status_description") or "")
        out.append(
            TrackingEvent(
                provider=PROVIDER,
                tracking_number=number,
                status=status_of(code, detail),
                occurred_at=when,
                description=description,
                event_id=_event_id(number, raw_time, code, description),
                raw_status=code,
            )
        )
    if not out:
        code = str(data.get("status_code") or "")
        description = str(data.get("status_description") or "")
        raw_time = str(data.get("actual_delivery_date") or "")
        out.append(
            TrackingEvent(
                provider=PROVIDER,
                tracking_number=number,
                status=status_of(code, str(data.get("status_detail_code") or "")),
                occurred_at=_when(raw_time) or fallback_time,
                description=description,
                event_id=_event_id(number, raw_time, code, description),
                raw_status=code,
            )
        )
    out.sort(key=lambda e: e.occurred_at)
    return out


# ---- webhook signatures ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignedHeaders:
    key_id: str
    signature: bytes
    timestamp: str
    signed_at: datetime


def _b64(value: str) -> bytes:
    # Accept standard and URL-safe alphabets, with or without padding.
    cleaned = value.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    return base64.b64decode(cleaned, validate=True)


def _timestamp(value: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except ValueError:
        return _when(value)


def signed_headers(headers: Mapping[str, str]) -> SignedHeaders:
    lower = {k.lower(): v for k, v in headers.items()}
    key_id = lower.get(KEY_ID_HEADER, "")
    signature = lower.get(SIGNATURE_HEADER, "")
    timestamp = lower.get(TIMESTAMP_HEADER, "")
    if not (key_id and signature and timestamp):
        raise InvalidWebhook("missing ShipStation signature headers")
    signed_at = _timestamp(timestamp)
    if signed_at is None:
        raise InvalidWebhook("unreadable x-shipengine-timestamp")
    try:
        raw = _b64(signature)
    except (binascii.Error, ValueError) as exc:
        raise InvalidWebhook("signature is not base64") from exc
    return SignedHeaders(key_id, raw, timestamp, signed_at)


def public_key_from_jwk(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    if jwk.get("kty") != "RSA":
        raise ValueError("not an RSA JWK")
    n = int.from_bytes(_b64(str(jwk["n"])), "big")
    e = int.from_bytes(_b64(str(jwk["e"])), "big")
    return rsa.RSAPublicNumbers(e, n).public_key()


def keys_from_jwks(data: Any) -> dict[str, rsa.RSAPublicKey]:
    """`{"keys":[{kid, kty:"RSA", n, e, ...}]}`; entries we cannot use are skipped."""
    keys: dict[str, rsa.RSAPublicKey] = {}
    items = data.get("keys") if isinstance(data, Mapping) else None
    for jwk in items or []:
        if isinstance(jwk, Mapping) and jwk.get("kid"):
            try:
                keys[str(jwk["kid"])] = public_key_from_jwk(jwk)
            except (KeyError, ValueError, binascii.Error):
                continue
    return keys


def verify_webhook(
    *, body: bytes, signed: SignedHeaders, key: rsa.RSAPublicKey, now: datetime
) -> None:
    if abs(now - signed.signed_at) > MAX_SKEW:
        raise InvalidWebhook("webhook timestamp outside the 5 minute window (replay?)")
    message = signed.timestamp.encode() + b"." + body
    try:
        key.verify(signed.signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise InvalidWebhook("webhook signature does not verify") from exc


def parse_webhook_body(body: bytes, *, received_at: datetime) -> list[TrackingEvent]:
    """`{"resource_url", "resource_type", "data": {...}}` [SS8]; other resource types are
    well-formed but carry no tracking, so they yield nothing."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise InvalidWebhook("webhook body is not JSON") from exc
    if not isinstance(payload, Mapping) or not isinstance(payload.get("resource_type"), str):
        raise InvalidWebhook("webhook body has no resource_type")
    if payload["resource_type"] not in TRACK_RESOURCE_TYPES:
        return []
    try:
        return parse_tracking(payload.get("data"), fallback_time=received_at)
    except ValueError as exc:
        raise InvalidWebhook(f"tracking webhook without usable data: {exc}") from exc

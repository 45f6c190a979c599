"""Shippo webhook authenticity and parsing: pure, no I/O.

Shippo's docs (tracking/webhooksecurity) offer three protections: an IP allowlist, a
self-generated `?token=` in the webhook URL, and HMAC provisioned through Shippo support. The docs
do not publish the HMAC format; public integrations agree on
`Shippo-Auth-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`
(Stripe-shaped; *third-party source*, unconfirmed by Shippo's own pages). We verify that, with a
freshness window so a captured request cannot be replayed later, and offer the token check for
accounts without HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

from server.carriers.base import CarrierError, InvalidWebhook, TrackingEvent
from server.carriers.shippo.mapping import parse_track

SIGNATURE_HEADER = "shippo-auth-signature"
TOLERANCE_S = 300.0  # the window Stripe-shaped schemes use; Shippo publishes none


def sign(*, secret: str, body: bytes, timestamp: int) -> str:
    """The header value Shippo would send (the fake server signs with this too)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


def verify_signature(
    *, body: bytes, headers: Mapping[str, str], secret: str, now: float,
    tolerance_s: float = TOLERANCE_S,
) -> None:  # fmt: skip
    if not secret:
        raise InvalidWebhook("no Shippo webhook secret configured for this account")
    header = _header(headers, SIGNATURE_HEADER)
    if not header:
        raise InvalidWebhook("missing Shippo-Auth-Signature header")
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        raise InvalidWebhook("Shippo-Auth-Signature has no timestamp") from None
    expected = sign(secret=secret, body=body, timestamp=timestamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, given) for given in fields.get("v1", [])):
        raise InvalidWebhook("Shippo webhook signature does not match")
    if abs(now - timestamp) > tolerance_s:
        raise InvalidWebhook(f"Shippo webhook timestamp {timestamp} is outside the window")


def verify_token(*, token: str, secret: str) -> None:
    """The `?token=` option: the caller passes the query parameter it received."""
    if not secret:
        raise InvalidWebhook("no Shippo webhook token configured for this account")
    if not hmac.compare_digest(token.encode(), secret.encode()):
        raise InvalidWebhook("Shippo webhook token does not match")


def parse_body(body: bytes) -> Sequence[TrackingEvent]:
    """Events of a `track_updated` webhook; other event types carry no tracking: []."""
    try:
        payload: Any = json.loads(body)
    except ValueError:
        raise InvalidWebhook("Shippo webhook body is not JSON") from None
    if not isinstance(payload, Mapping) or not isinstance(payload.get("event"), str):
        raise InvalidWebhook("Shippo webhook body has no event")
    if payload["event"] != "track_updated":
        return []
    try:
        return parse_track(payload.get("data"))
    except CarrierError as exc:
        raise InvalidWebhook(f"track_updated without a Track: {exc}") from None

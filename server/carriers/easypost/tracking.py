"""EasyPost trackers and `tracker.updated` webhooks, pure: verify, parse, map to custody.

Webhook body = Event `{object "Event", id "evt_…", description, result: <Tracker>}` [E3];
signature header `X-Hmac-Signature: hmac-sha256-hex=<hex HMAC-SHA256(NFKD(secret), raw body)>`
as the official SDK's `validate_webhook` computes it [E1]. Delivery is at-least-once and the
legacy signature carries no timestamp, so a replayed body verifies: every event gets a stable
`event_id` so the consumer lands it once (its unique key), which is the replay defence.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from server.carriers.base import InvalidWebhook, TrackingEvent, TrackingStatus
from server.carriers.easypost.mapping import PROVIDER

SIGNATURE_HEADER = "X-Hmac-Signature"
_PREFIX = "hmac-sha256-hex="

# EasyPost tracker statuses [K13c, E11] -> ours. Custody (CUSTODY in base) only once the
# carrier has the parcel: `pre_transit` ("label created", "pre-shipment info sent") is not.
# `available_for_pickup` = waiting at a carrier's counter: still in its hands, not delivered.
STATUS_MAP: Mapping[str, TrackingStatus] = {
    "unknown": TrackingStatus.UNKNOWN,
    "pre_transit": TrackingStatus.PRE_TRANSIT,
    "in_transit": TrackingStatus.IN_TRANSIT,
    "out_for_delivery": TrackingStatus.OUT_FOR_DELIVERY,
    "available_for_pickup": TrackingStatus.IN_TRANSIT,
    "delivered": TrackingStatus.DELIVERED,
    "return_to_sender": TrackingStatus.RETURNED,
    "failure": TrackingStatus.EXCEPTION,
    "cancelled": TrackingStatus.EXCEPTION,
    "error": TrackingStatus.EXCEPTION,
}


def map_status(raw: str) -> TrackingStatus:
    return STATUS_MAP.get(raw, TrackingStatus.UNKNOWN)


def signature(body: bytes, secret: str) -> str:
    key = unicodedata.normalize("NFKD", secret).encode("utf-8")
    return _PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(body: bytes, headers: Mapping[str, str], secret: str) -> None:
    if not secret:
        # Refuse rather than accept unsigned events: custody decides "shipped".
        raise InvalidWebhook("no EasyPost webhook secret is configured for this account")
    given = _header(headers, SIGNATURE_HEADER)
    if not given:
        raise InvalidWebhook(f"missing {SIGNATURE_HEADER} header")
    if not hmac.compare_digest(given.strip().lower().encode(), signature(body, secret).encode()):
        raise InvalidWebhook(f"{SIGNATURE_HEADER} does not match the body")


def parse_webhook(body: bytes, headers: Mapping[str, str], secret: str) -> list[TrackingEvent]:
    verify(body, headers, secret)
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidWebhook("signed body is not JSON") from exc
    if not isinstance(event, dict) or event.get("object") != "Event":
        raise InvalidWebhook("body is not an EasyPost Event")
    description = str(event.get("description") or "")
    result = event.get("result")
    if not description.startswith("tracker."):
        return []  # batch.*, insurance.*, …: verified, but nothing about custody
    if not isinstance(result, dict) or result.get("object") != "Tracker":
        raise InvalidWebhook(f"{description} event without a Tracker result")
    return parse_tracker(result)


def parse_tracker(tracker: Mapping[str, Any]) -> list[TrackingEvent]:
    """One event per tracking detail, oldest first; if none yet, one for the tracker's own
    status. A `tracker.updated` body repeats the whole history, so ids come from the detail
    (tracker id + time + status), not from the Event: replays and repeats land once."""
    code = str(tracker.get("tracking_code") or "")
    if not code:
        raise InvalidWebhook("Tracker without tracking_code")
    tracker_id = str(tracker.get("id") or code)
    events = [_event(code, tracker_id, detail) for detail in tracker.get("tracking_details") or []]
    top = str(tracker.get("status") or "unknown")
    if not events or events[-1].raw_status != top:
        # A just-bought label has no details yet [E2 test_shipment_buy]; a status the details
        # have not caught up with still counts.
        when = _when(tracker.get("updated_at") or tracker.get("created_at"))
        events.append(
            TrackingEvent(
                provider=PROVIDER,
                tracking_number=code,
                status=map_status(top),
                occurred_at=when,
                description=str(tracker.get("status_detail") or top),
                event_id=f"{tracker_id}:{when.isoformat()}:{top}",
                raw_status=top,
            )
        )
    return sorted(events, key=lambda e: e.occurred_at)


def _event(code: str, tracker_id: str, detail: Mapping[str, Any]) -> TrackingEvent:
    raw = str(detail.get("status") or "unknown")
    when = _when(detail.get("datetime"))
    return TrackingEvent(
        provider=PROVIDER,
        tracking_number=code,
        status=map_status(raw),
        occurred_at=when,
        description=str(detail.get("message") or ""),
        event_id=f"{tracker_id}:{when.isoformat()}:{raw}:{detail.get('status_detail') or ''}",
        raw_status=raw,
    )


def _when(value: object) -> datetime:
    if not value:
        raise InvalidWebhook("tracking detail without a time")
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidWebhook(f"tracking time is not ISO 8601: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), "")

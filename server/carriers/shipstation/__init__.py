"""ShipStation API V2 (formerly ShipEngine) behind the Carrier protocol.

V2, not V1: V1 `createlabel` returns base64 PDF only, V2 returns ZPL (handbook §2.3/§2.4).
A multi-package shipment is ONE V2 label (one label_id) with a tracking number and label per
package, so every PackageLabel of a purchase carries the same label_id and voiding one voids
the whole shipment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric import rsa

from server.carriers.base import (
    Account,
    CarrierError,
    InvalidWebhook,
    PackageLabel,
    Purchase,
    Quote,
    QuoteFailure,
    ShipmentRequest,
    TrackingEvent,
    VoidResult,
)
from server.carriers.shipstation import mapping, tracking
from server.carriers.shipstation.transport import DEFAULT_JWKS_URL, ShipStationTransport

__all__ = ["ShipStationCarrier"]

_JWKS_REFRESH_S = 60.0  # an unknown key id refetches the key set at most this often
_JWKS_TIMEOUT_S = 5.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ShipStationCarrier:
    provider = "shipstation"

    def __init__(
        self,
        *,
        account: Account,
        carrier_ids: Sequence[str],
        jwks_url: str = DEFAULT_JWKS_URL,
        transport: ShipStationTransport | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        # /v2/rates requires carrier_ids (the account's connected carriers "se-…"); Account
        # has no place for them, so they come in here.
        if not carrier_ids:
            raise ValueError("ShipStation rating needs at least one carrier_id")
        self.account = account
        self._carrier_ids = tuple(carrier_ids)
        self._transport = transport or ShipStationTransport(
            base_url=account.base_url, api_key=account.api_key, jwks_url=jwks_url
        )
        self._clock = clock
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._keys_fetched_at = float("-inf")
        self._keys_lock = threading.Lock()  # webhooks arrive on several request threads

    def close(self) -> None:
        self._transport.close()

    def rates(
        self, request: ShipmentRequest, *, timeout_s: float
    ) -> tuple[list[Quote], list[QuoteFailure]]:
        """Per-carrier failures inside a 2xx come back as QuoteFailures; a failed call
        (timeout, 429, HTTP error) raises CarrierError for the rate shop to log."""
        body = mapping.rates_body(request, carrier_ids=self._carrier_ids)
        data = self._transport.post_rates(body, timeout_s=timeout_s)
        return mapping.parse_rates(data, account=self.account.name)

    def buy(self, quote: Quote, request: ShipmentRequest, *, timeout_s: float) -> Purchase:
        if quote.provider != self.provider or quote.account != self.account.name:
            raise CarrierError(f"quote belongs to {quote.provider}/{quote.account}")
        data = self._transport.buy_rate(quote.rate_id, mapping.label_body(), timeout_s=timeout_s)
        label = mapping.parse_label(data, expected_packages=len(request.parcels))
        packages = []
        for package in label.packages:
            zpl = package.zpl
            if zpl is None and package.zpl_url:
                zpl = self._transport.download(package.zpl_url, timeout_s=timeout_s)
            if not zpl:
                raise CarrierError(f"label {label.label_id} came back without ZPL")
            packages.append(
                PackageLabel(
                    tracking_number=package.tracking_number, label_id=label.label_id, zpl=zpl
                )
            )
        return Purchase(
            provider=self.provider,
            account=self.account.name,
            shipment_ref=label.shipment_id or quote.shipment_ref,
            carrier=quote.carrier or label.carrier,
            service=label.service or quote.service,
            amount=label.amount,
            currency=label.currency or quote.currency,
            packages=tuple(packages),
        )

    def void(self, label_id: str, *, timeout_s: float) -> VoidResult:
        return mapping.parse_void(self._transport.void_label(label_id, timeout_s=timeout_s))

    def track(self, tracking_number: str, *, carrier: str, timeout_s: float) -> list[TrackingEvent]:
        """`tracking_number` may be a label id ("se-…"): then the documented
        GET /v2/labels/{id}/track is used; else /v2/tracking with `carrier` as carrier_code."""
        if tracking_number.startswith("se-"):
            data = self._transport.track_label(tracking_number, timeout_s=timeout_s)
        else:
            data = self._transport.track_number(
                carrier_code=carrier, tracking_number=tracking_number, timeout_s=timeout_s
            )
        try:
            return tracking.parse_tracking(data, fallback_time=self._clock())
        except ValueError as exc:
            raise CarrierError(f"unexpected tracking response: {exc}") from exc

    def track_label(self, label_id: str, *, timeout_s: float) -> list[TrackingEvent]:
        return self.track(label_id, carrier="", timeout_s=timeout_s)

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> Sequence[TrackingEvent]:
        signed = tracking.signed_headers(headers)
        now = self._clock()
        key = self._key(signed.key_id)
        tracking.verify_webhook(body=body, signed=signed, key=key, now=now)
        return tracking.parse_webhook_body(body, received_at=now)

    def _key(self, key_id: str) -> rsa.RSAPublicKey:
        with self._keys_lock:
            key = self._keys.get(key_id)
            if key is not None:
                return key
            if time.monotonic() - self._keys_fetched_at < _JWKS_REFRESH_S:
                raise InvalidWebhook(f"unknown signing key {key_id!r}")
            try:
                data = self._transport.fetch_jwks(timeout_s=_JWKS_TIMEOUT_S)
            except CarrierError as exc:
                # Not the sender's fault: the caller should answer 5xx so the webhook retries.
                raise CarrierError(f"cannot fetch ShipStation signing keys: {exc}") from exc
            self._keys_fetched_at = time.monotonic()
            self._keys.update(tracking.keys_from_jwks(data))
            key = self._keys.get(key_id)
            if key is None:
                raise InvalidWebhook(f"unknown signing key {key_id!r}")
            return key

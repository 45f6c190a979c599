"""Shippo adapter: one account behind the Carrier protocol.

Buying is where Shippo differs from the others: a transaction may come back QUEUED even with
`async: false`, so `buy` polls it until SUCCESS/ERROR inside the caller's deadline; and a
multi-parcel shipment gets one transaction (label + tracking number) per parcel, listed with
`GET /transactions?rate=<rate id>` once the purchase succeeded (docs multi-piece page; the old
client's examples/multi_piece_shipment.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from server.carriers.base import (
    Account,
    CarrierError,
    PackageLabel,
    Purchase,
    Quote,
    QuoteFailure,
    ShipmentRequest,
    TrackingEvent,
    VoidResult,
)
from server.carriers.shippo import mapping, webhooks
from server.carriers.shippo.transport import ShippoTransport

__all__ = ["ShippoCarrier"]

_POLL_FIRST_S = 0.2
_POLL_MAX_S = 1.0


class ShippoCarrier:
    provider = "shippo"

    def __init__(
        self, *, account: Account, transport: ShippoTransport | None = None,
        clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:  # fmt: skip
        self.account = account
        self._transport = transport or ShippoTransport(
            base_url=account.base_url, api_key=account.api_key
        )
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep

    def close(self) -> None:
        self._transport.close()

    def rates(
        self, request: ShipmentRequest, *, timeout_s: float
    ) -> tuple[list[Quote], list[QuoteFailure]]:
        # A whole-provider failure (timeout, 429, 5xx) becomes a QuoteFailure so the rate shop
        # keeps the other providers' quotes; its reason names the retry-after when given.
        try:
            body = self._transport.call(
                "POST", "/shipments/", body=mapping.shipment_body(request), timeout_s=timeout_s
            )
            return mapping.parse_rates(body, account=self.account.name)
        except CarrierError as exc:
            reason = str(exc)
            if exc.retry_after_s is not None:
                reason += f" (retry after {exc.retry_after_s:g} s)"
            return [], [QuoteFailure(self.provider, self.account.name, reason)]

    def buy(self, quote: Quote, request: ShipmentRequest, *, timeout_s: float) -> Purchase:
        deadline = self._monotonic() + timeout_s
        body = mapping.transaction_body(rate_id=quote.rate_id, reference=request.reference)
        master = self._transport.call("POST", "/transactions/", body=body, timeout_s=timeout_s)
        master = self._settle(master, deadline=deadline)
        transactions: list[Mapping[str, Any]] = [master]
        if len(request.parcels) > 1:
            listed = self._transport.call(
                "GET", "/transactions/", timeout_s=self._left(deadline),
                params={"rate": quote.rate_id, "results": str(max(25, len(request.parcels)))},
            )  # fmt: skip
            transactions = mapping.transaction_list(listed)
            for item in transactions:
                mapping.check_transaction(item)
            if len(transactions) != len(request.parcels):
                raise CarrierError(
                    f"Shippo returned {len(transactions)} labels for {len(request.parcels)} parcels"
                )
        packages = tuple(self._package(t, deadline=deadline) for t in transactions)
        return Purchase(
            provider=self.provider,
            account=self.account.name,
            shipment_ref=quote.shipment_ref,
            carrier=quote.carrier,
            service=quote.service,
            amount=quote.amount,
            currency=quote.currency,
            packages=packages,
        )

    def void(self, label_id: str, *, timeout_s: float) -> VoidResult:
        body = self._transport.call(
            "POST", "/refunds/", body=mapping.refund_body(transaction_id=label_id),
            timeout_s=timeout_s,
        )  # fmt: skip
        return mapping.parse_refund(body)

    def track(self, tracking_number: str, *, carrier: str, timeout_s: float) -> list[TrackingEvent]:
        path = f"/tracks/{mapping.carrier_token(carrier)}/{tracking_number}"
        return mapping.parse_track(self._transport.call("GET", path, timeout_s=timeout_s))

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> Sequence[TrackingEvent]:
        """HMAC (`Shippo-Auth-Signature`) with `account.webhook_secret` as the key."""
        webhooks.verify_signature(
            body=body, headers=headers, secret=self.account.webhook_secret, now=self._clock()
        )
        return webhooks.parse_body(body)

    def parse_webhook_with_token(self, *, body: bytes, token: str) -> Sequence[TrackingEvent]:
        """The `?token=` option, for accounts Shippo has not provisioned HMAC for."""
        webhooks.verify_token(token=token, secret=self.account.webhook_secret)
        return webhooks.parse_body(body)

    def _left(self, deadline: float) -> float:
        return deadline - self._monotonic()

    def _settle(self, transaction: Any, *, deadline: float) -> Mapping[str, Any]:
        """Poll a QUEUED/WAITING transaction until it settles or the deadline passes."""
        delay = _POLL_FIRST_S
        while mapping.transaction_status(transaction) in mapping.PENDING_STATES:
            left = self._left(deadline)
            if left <= delay:
                # The label may still be bought later: the id lets an operator find and void it.
                raise CarrierError(
                    f"timeout: Shippo transaction {transaction['object_id']} still "
                    f"{transaction['status']} at the deadline"
                )
            self._sleep(delay)
            delay = min(delay * 2, _POLL_MAX_S)
            transaction = self._transport.call(
                "GET", f"/transactions/{transaction['object_id']}", timeout_s=self._left(deadline)
            )
        mapping.check_transaction(transaction)
        return transaction  # type: ignore[no-any-return]

    def _package(self, transaction: Mapping[str, Any], *, deadline: float) -> PackageLabel:
        url = str(transaction.get("label_url") or "")
        number = str(transaction.get("tracking_number") or "")
        if not url or not number:
            raise CarrierError(f"Shippo transaction {transaction.get('object_id')} has no label")
        label = self._transport.fetch_label(url, timeout_s=self._left(deadline))
        if label.lstrip().startswith(b"^XA"):
            return PackageLabel(number, str(transaction["object_id"]), zpl=label)
        # The account default format won over ZPLII (e.g. a carrier without ZPL): keep the bytes.
        kind = "pdf" if label.startswith(b"%PDF") else "png"
        return PackageLabel(
            number, str(transaction["object_id"]), zpl=None, image=label, image_format=kind
        )

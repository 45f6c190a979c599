"""EasyPostCarrier: the Carrier protocol over EasyPost's pure mapping and thin transport."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from server.carriers.base import (
    Account,
    CarrierError,
    InvalidWebhook,
    Purchase,
    Quote,
    QuoteFailure,
    ShipmentRequest,
    TrackingEvent,
    VoidResult,
)
from server.carriers.easypost import mapping, tracking
from server.carriers.easypost.transport import Deadline, EasyPostTransport


class EasyPostCarrier:
    provider = mapping.PROVIDER

    def __init__(self, account: Account, *, transport: EasyPostTransport | None = None) -> None:
        self.account = account
        self._http = transport or EasyPostTransport(account)

    def close(self) -> None:
        self._http.close()

    def rates(
        self, request: ShipmentRequest, *, timeout_s: float
    ) -> tuple[list[Quote], list[QuoteFailure]]:
        body = self._http.call(mapping.rate_call(request), deadline=Deadline(timeout_s))
        return mapping.parse_rates(body, account=self.account)

    def buy(self, quote: Quote, request: ShipmentRequest, *, timeout_s: float) -> Purchase:
        deadline = Deadline(timeout_s)
        bought = self._http.call(mapping.buy_call(quote), deadline=deadline)
        refs = mapping.purchased_labels(bought)
        if len(refs) != len(request.parcels):
            raise CarrierError(
                f"EasyPost bought {len(refs)} labels for {len(request.parcels)} parcels"
            )
        labels: dict[str, bytes] = {}
        for ref in refs:
            if not ref.zpl_url:
                # Bought as PNG (carrier ignored the option): ask EasyPost to convert [E2].
                converted = self._http.call(mapping.label_call(ref.shipment_id), deadline=deadline)
                ref = mapping.label_ref(converted)
            if not ref.zpl_url:
                raise CarrierError(f"EasyPost has no ZPL label for {ref.shipment_id}")
            labels[ref.shipment_id] = self._http.download(ref.zpl_url, deadline=deadline)
        return mapping.build_purchase(quote, account=self.account, refs=refs, labels=labels)

    def void(self, label_id: str, *, timeout_s: float) -> VoidResult:
        # label_id is the (child) shipment id: EasyPost refunds per shipment, so each parcel
        # of a multi-parcel order can be voided on its own.
        body = self._http.call(mapping.refund_call(label_id), deadline=Deadline(timeout_s))
        return mapping.parse_refund(body)

    def track(self, tracking_number: str, *, carrier: str, timeout_s: float) -> list[TrackingEvent]:
        # POST /trackers returns the existing tracker for a code already tracked (observed 200
        # and 201 in recordings), so polling through it does not pile up trackers [E2].
        call = mapping.tracker_call(tracking_number, carrier=carrier)
        body = self._http.call(call, deadline=Deadline(timeout_s))
        try:
            return tracking.parse_tracker(body)
        except InvalidWebhook as exc:
            raise CarrierError(f"EasyPost tracker: {exc}") from exc

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> Sequence[TrackingEvent]:
        return tracking.parse_webhook(body, headers, self.account.webhook_secret)

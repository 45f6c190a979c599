"""Shippo adapter: golden tests of the pure mapping, then the real transport against the fake."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from server.carriers.base import (
    CUSTODY,
    Account,
    Carrier,
    CarrierError,
    InvalidWebhook,
    Parcel,
    PostalAddress,
    ShipmentRequest,
    TrackingEvent,
    TrackingStatus,
)
from server.carriers.shippo import ShippoCarrier, mapping, webhooks
from tests.fakes.shippo_server import FakeShippo

FROM = PostalAddress(
    name="Packline DC", line1="215 Clayton St.", line2="", city="San Francisco", region="CA",
    postcode="94117", country="US", phone="+1 555 341 9393", company="Packline",
)  # fmt: skip
TO = PostalAddress(
    name="Mrs Hippo", line1="965 Mission St", line2="Unit 480", city="San Francisco",
    region="CA", postcode="94103", country="US", email="hippo@example.com",
)  # fmt: skip
BOX = Parcel(weight_g=1250, length_mm=305, width_mm=200, height_mm=100)
ONE = ShipmentRequest(reference="SO-1001", ship_from=FROM, ship_to=TO, parcels=(BOX,))
THREE = ShipmentRequest(reference="SO-1002", ship_from=FROM, ship_to=TO, parcels=(BOX,) * 3)
SECRET = "whsec_test_4f9a"

# -- golden tests of the pure mapping ---------------------------------------------------------


def test_shipment_body_converts_units_and_asks_for_synchronous_rates() -> None:
    body = mapping.shipment_body(THREE)
    assert body["async"] is False
    assert body["metadata"] == "SO-1002"
    assert body["address_from"] == {
        "name": "Packline DC", "company": "Packline", "street1": "215 Clayton St.",
        "city": "San Francisco", "state": "CA", "zip": "94117", "country": "US",
        "phone": "+1 555 341 9393",
    }  # fmt: skip
    assert body["address_to"]["street2"] == "Unit 480"
    assert body["parcels"] == [
        {"length": "30.5", "width": "20", "height": "10", "distance_unit": "cm",
         "weight": "1250", "mass_unit": "g"}
    ] * 3  # fmt: skip


def test_shipment_without_parcels_is_refused() -> None:
    with pytest.raises(CarrierError, match="at least one parcel"):
        mapping.shipment_body(
            ShipmentRequest(reference="x", ship_from=FROM, ship_to=TO, parcels=())
        )


def test_transaction_body_buys_zpl_synchronously() -> None:
    assert mapping.transaction_body(rate_id="r1", reference="SO-1") == {
        "rate": "r1", "label_file_type": "ZPLII", "async": False, "metadata": "SO-1",
    }  # fmt: skip


RATES_201 = {
    "object_id": "5e40ead7cffe4cc1ad45108696162e42",
    "status": "SUCCESS",
    "rates": [
        {"object_id": "545ab0a1a6ea4c9f9adb2512a57d6d8b", "amount": "35.98", "currency": "USD",
         "provider": "UPS", "servicelevel": {"name": "Next Day Air", "token": "ups_next_day_air"},
         "estimated_days": 1},
        {"object_id": "old-style", "amount": "5.50", "currency": "USD", "provider": "USPS",
         "servicelevel": {"name": "Priority Mail", "token": "usps_priority"}, "days": 2},
        {"object_id": "broken", "amount": "n/a", "currency": "USD", "provider": "FedEx",
         "servicelevel": {"token": "fedex_ground"}},
    ],
    "messages": [{"source": "DHLExpress", "code": "carrier_timeout",
                  "text": "DHLExpress API did not respond. Please try again in a few minutes."}],
}  # fmt: skip


def test_rates_parse_money_as_decimal_and_keep_per_carrier_failures() -> None:
    quotes, failures = mapping.parse_rates(RATES_201, account="main")
    assert [(q.carrier, q.service, q.amount, q.delivery_days) for q in quotes] == [
        ("UPS", "ups_next_day_air", Decimal("35.98"), 1),
        ("USPS", "usps_priority", Decimal("5.50"), 2),
    ]
    assert quotes[0].rate_id == "545ab0a1a6ea4c9f9adb2512a57d6d8b"
    assert quotes[0].shipment_ref == "5e40ead7cffe4cc1ad45108696162e42"
    assert {(f.carrier, f.reason.split(":")[0]) for f in failures} == {
        ("", "unreadable rate"),
        ("DHLExpress", "rate_error"),
    }
    assert any("did not respond" in f.reason for f in failures)


def _status(oid: str, status: str, date: str, sub: str = "") -> dict[str, Any]:
    substatus = {"code": sub, "text": sub} if sub else None
    return {"object_id": oid, "status": status, "status_details": f"{status} scan",
            "status_date": date, "substatus": substatus}  # fmt: skip


TRACK = {
    "carrier": "usps",
    "tracking_number": "9205590164917312751089",
    "tracking_status": _status("s4", "TRANSIT", "2026-03-03T07:10:00Z", "out_for_delivery"),
    "tracking_history": [
        _status("s1", "PRE_TRANSIT", "2026-03-01T09:00:00Z"),
        _status("s2", "TRANSIT", "2026-03-01T18:30:00Z"),
        _status("s3", "FAILURE", "2026-03-02T11:00:00Z"),
        _status("s4", "TRANSIT", "2026-03-03T07:10:00Z", "out_for_delivery"),
        {"object_id": "s0", "status": "UNKNOWN", "status_date": None},
    ],
}


def test_track_maps_statuses_dedupes_and_orders_events() -> None:
    events = mapping.parse_track(TRACK)
    assert [(e.event_id, e.status) for e in events] == [
        ("s1", TrackingStatus.PRE_TRANSIT),
        ("s2", TrackingStatus.IN_TRANSIT),
        ("s3", TrackingStatus.EXCEPTION),
        ("s4", TrackingStatus.OUT_FOR_DELIVERY),
    ]
    assert events[0].occurred_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert events[0].status not in CUSTODY and events[1].status in CUSTODY
    assert events[3].raw_status == "TRANSIT/out_for_delivery"
    assert events[3].tracking_number == "9205590164917312751089"


def test_track_event_without_object_id_gets_a_stable_id() -> None:
    body = {
        "tracking_number": "T1",
        "tracking_status": _status("", "DELIVERED", "2026-01-01T00:00:00Z"),
    }
    first, again = mapping.parse_track(body), mapping.parse_track(json.loads(json.dumps(body)))
    assert first[0].event_id.startswith("sha256:") and first[0].event_id == again[0].event_id
    assert first[0].status is TrackingStatus.DELIVERED


def test_errors_carry_shippos_words_for_json_and_html_bodies() -> None:
    field_keyed = mapping.error_from_response(
        status=400, content_type="application/json",
        content=b'{"rate": ["This field is required."], "parcels": ["Invalid."]}',
    )  # fmt: skip
    assert str(field_keyed) == "Shippo HTTP 400: rate: This field is required.; parcels: Invalid."
    assert field_keyed.status == 400
    page = b"<!DOCTYPE html><html><head><title>Not Found</title></head><body>...</body></html>"
    html = mapping.error_from_response(status=404, content_type="text/html", content=page)
    assert str(html) == "Shippo HTTP 404: Not Found"
    auth = mapping.error_from_response(
        status=401, content_type="application/json", content=b'{"detail": "Invalid token."}'
    )
    assert str(auth) == "Shippo HTTP 401: Invalid token."
    garbage = mapping.error_from_response(status=500, content_type="", content=b"")
    assert str(garbage) == "Shippo HTTP 500: no body"


def test_refund_status_becomes_void_result() -> None:
    assert mapping.parse_refund({"status": "SUCCESS"}).approved
    assert mapping.parse_refund({"status": "QUEUED"}).message == "refund QUEUED"
    assert not mapping.parse_refund({"status": "ERROR"}).approved
    with pytest.raises(CarrierError):
        mapping.parse_refund(["not", "a", "refund"])


def test_webhook_signature_good_bad_and_stale() -> None:
    body = json.dumps({"event": "track_updated", "test": True, "data": TRACK}).encode()
    now = 1_780_000_000
    headers = {"Shippo-Auth-Signature": webhooks.sign(secret=SECRET, body=body, timestamp=now)}
    webhooks.verify_signature(body=body, headers=headers, secret=SECRET, now=now + 10)
    with pytest.raises(InvalidWebhook, match="does not match"):
        webhooks.verify_signature(body=body + b" ", headers=headers, secret=SECRET, now=now)
    with pytest.raises(InvalidWebhook, match="does not match"):
        webhooks.verify_signature(body=body, headers=headers, secret="other", now=now)
    with pytest.raises(InvalidWebhook, match="outside the window"):
        webhooks.verify_signature(body=body, headers=headers, secret=SECRET, now=now + 3600)
    with pytest.raises(InvalidWebhook, match="missing"):
        webhooks.verify_signature(body=body, headers={}, secret=SECRET, now=now)
    with pytest.raises(InvalidWebhook, match="timestamp"):
        webhooks.verify_signature(body=body, headers={"shippo-auth-signature": "v1=ab"},
                                  secret=SECRET, now=now)  # fmt: skip
    with pytest.raises(InvalidWebhook, match="no Shippo webhook secret"):
        webhooks.verify_signature(body=body, headers=headers, secret="", now=now)


def test_webhook_token_and_body_shapes() -> None:
    webhooks.verify_token(token="123abc", secret="123abc")
    with pytest.raises(InvalidWebhook):
        webhooks.verify_token(token="123abd", secret="123abc")
    assert webhooks.parse_body(b'{"event": "transaction_created", "data": {}}') == []
    assert (
        len(webhooks.parse_body(json.dumps({"event": "track_updated", "data": TRACK}).encode()))
        == 4
    )
    for bad in (b"\xff\xfe garbage", b"[]", b'{"event": "track_updated", "data": {}}'):
        with pytest.raises(InvalidWebhook):
            webhooks.parse_body(bad)


# -- the real transport against the fake server -----------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeShippo]:
    server = FakeShippo().start()
    yield server
    server.stop()


@pytest.fixture
def carrier(fake: FakeShippo) -> Iterator[ShippoCarrier]:
    account = Account(provider="shippo", name="main", api_key=fake.api_key,
                      base_url=fake.base_url, webhook_secret=SECRET)  # fmt: skip
    adapter = ShippoCarrier(account=account)
    conforms: Carrier = adapter  # mypy checks the adapter against the shared protocol
    assert conforms.provider == "shippo"
    yield adapter
    adapter.close()


def test_rates_through_the_wire(fake: FakeShippo, carrier: ShippoCarrier) -> None:
    quotes, failures = carrier.rates(THREE, timeout_s=5)
    assert failures == []
    assert {q.carrier for q in quotes} == {"USPS", "UPS", "DHL Express"}
    assert all(q.provider == "shippo" and q.account == "main" for q in quotes)
    assert all(isinstance(q.amount, Decimal) and q.shipment_ref for q in quotes)
    method, path, headers = fake.requests[-1]
    assert (method, path) == ("POST", "/shipments/")
    assert headers["Authorization"] == f"ShippoToken {fake.api_key}"


def test_wrong_key_is_a_quote_failure_with_shippos_words(fake: FakeShippo) -> None:
    account = Account(provider="shippo", name="main", api_key="shippo_test_wrong",
                      base_url=fake.base_url)  # fmt: skip
    quotes, failures = ShippoCarrier(account=account).rates(ONE, timeout_s=5)
    assert quotes == [] and failures[0].reason == "Shippo HTTP 401: Invalid token."
    assert "shippo_test_wrong" not in repr(account)


def test_partial_rate_failure_keeps_the_other_carriers(
    fake: FakeShippo, carrier: ShippoCarrier
) -> None:
    fake.failing_carriers = {"DHL Express"}
    quotes, failures = carrier.rates(ONE, timeout_s=5)
    assert {q.carrier for q in quotes} == {"USPS", "UPS"}
    assert [f.carrier for f in failures] == ["DHL Express"]
    assert failures[0].reason.startswith("rate_error: carrier_timeout:")


def test_hanging_shippo_is_a_timeout_not_a_hang(fake: FakeShippo, carrier: ShippoCarrier) -> None:
    fake.hang = True
    quotes, failures = carrier.rates(ONE, timeout_s=0.5)
    assert quotes == [] and failures[0].reason == "timeout after 0.5 s"
    with pytest.raises(CarrierError, match="timeout"):
        carrier.track("1Z", carrier="ups", timeout_s=0.5)


def test_429_carries_retry_after(fake: FakeShippo, carrier: ShippoCarrier) -> None:
    fake.rate_limit_retry_after = 7
    with pytest.raises(CarrierError) as caught:
        carrier.track("1Z", carrier="ups", timeout_s=5)
    assert caught.value.status == 429 and caught.value.retry_after_s == 7.0
    fake.rate_limit_retry_after = 3
    _, failures = carrier.rates(ONE, timeout_s=5)
    assert failures[0].reason == "Shippo HTTP 429: Request was throttled. (retry after 3 s)"


def test_html_error_pages_become_short_errors(fake: FakeShippo, carrier: ShippoCarrier) -> None:
    with pytest.raises(CarrierError) as missing:
        carrier.track("NOPE", carrier="usps", timeout_s=5)
    assert str(missing.value) == "Shippo HTTP 404: Not Found" and missing.value.status == 404
    fake.html_error_status = 502
    with pytest.raises(CarrierError, match=r"^Shippo HTTP 502: 502 Bad Gateway$"):
        carrier.void("0" * 32, timeout_s=5)


def _buy_three(fake: FakeShippo, carrier: ShippoCarrier, **knobs: Any) -> Any:
    quotes, _ = carrier.rates(THREE, timeout_s=5)
    ups = next(q for q in quotes if q.carrier == "UPS")
    for key, value in knobs.items():
        setattr(fake, key, value)
    return ups, carrier.buy(ups, THREE, timeout_s=10)


def test_multi_parcel_purchase_polls_queued_and_gets_zpl_per_package(
    fake: FakeShippo, carrier: ShippoCarrier
) -> None:
    ups, purchase = _buy_three(fake, carrier, queued_polls=2)
    assert (purchase.carrier, purchase.service, purchase.amount) == (
        "UPS",
        "ups_ground",
        ups.amount,
    )
    assert len(purchase.packages) == 3
    numbers = [p.tracking_number for p in purchase.packages]
    assert len(set(numbers)) == 3 and len({p.label_id for p in purchase.packages}) == 3
    for package in purchase.packages:
        assert package.zpl is not None and package.zpl.startswith(b"^XA")
        assert package.tracking_number.encode() in package.zpl
    polls = [p for m, p, _ in fake.requests if m == "GET" and p.startswith("/transactions/")]
    assert len([p for p in polls if p != "/transactions/"]) == 2  # two QUEUED answers polled
    label_gets = [h for m, p, h in fake.requests if p.startswith("/labels/")]
    assert len(label_gets) == 3 and all("Authorization" not in h for h in label_gets)
    posted = [p for m, p, _ in fake.requests if m == "POST" and p == "/transactions/"]
    assert len(posted) == 1  # one purchase for the whole multi-piece shipment


def test_zpl_label_barcode_scans_back_to_the_tracking_number(
    fake: FakeShippo, carrier: ShippoCarrier
) -> None:
    import io

    import zplkit
    import zxingcpp
    from PIL import Image

    quotes, _ = carrier.rates(ONE, timeout_s=5)
    package = carrier.buy(quotes[0], ONE, timeout_s=10).packages[0]
    assert package.zpl is not None
    image = Image.open(io.BytesIO(zplkit.render(package.zpl).labels[0].png()))
    assert package.tracking_number in [b.text for b in zxingcpp.read_barcodes(image)]


def test_label_still_queued_at_the_deadline_is_an_error_naming_it(
    fake: FakeShippo, carrier: ShippoCarrier
) -> None:
    quotes, _ = carrier.rates(ONE, timeout_s=5)
    fake.queued_polls = 10_000
    with pytest.raises(CarrierError, match=r"transaction [0-9a-f]{32} still QUEUED"):
        carrier.buy(quotes[0], ONE, timeout_s=1.0)


def test_failed_purchase_reports_the_carriers_words(
    fake: FakeShippo, carrier: ShippoCarrier
) -> None:
    quotes, _ = carrier.rates(ONE, timeout_s=5)
    fake.transaction_error = "The address is not valid for UPS."
    with pytest.raises(CarrierError, match="The address is not valid for UPS"):
        carrier.buy(quotes[0], ONE, timeout_s=5)


def test_void_one_package_then_again(fake: FakeShippo, carrier: ShippoCarrier) -> None:
    _, purchase = _buy_three(fake, carrier)
    label = purchase.packages[1].label_id
    result = carrier.void(label, timeout_s=5)
    assert result.approved and result.message == "refund SUCCESS"
    assert fake.transactions[label]["status"] == "REFUNDED"
    assert fake.transactions[purchase.packages[0].label_id]["status"] == "SUCCESS"
    with pytest.raises(CarrierError, match="already been refunded") as again:
        carrier.void(label, timeout_s=5)
    assert again.value.status == 400


def test_track_reaches_custody_only_on_a_carrier_scan(
    fake: FakeShippo, carrier: ShippoCarrier
) -> None:
    _, purchase = _buy_three(fake, carrier)
    number = purchase.packages[0].tracking_number
    events = carrier.track(number, carrier="UPS", timeout_s=5)
    assert [e.status for e in events] == [TrackingStatus.PRE_TRANSIT]
    assert fake.requests[-1][1] == f"/tracks/ups/{number}"
    fake.scan(number, "TRANSIT", "Origin scan")
    events = carrier.track(number, carrier="UPS", timeout_s=5)
    assert [e.status for e in events] == [TrackingStatus.PRE_TRANSIT, TrackingStatus.IN_TRANSIT]
    assert events[-1].status in CUSTODY


class _Receiver:
    """Our side of the webhook: a loopback HTTP endpoint that hands bytes to the adapter."""

    def __init__(self, carrier: ShippoCarrier) -> None:
        self.landed: dict[str, TrackingEvent] = {}
        self.deliveries = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    events = carrier.parse_webhook(body=body, headers=dict(self.headers.items()))
                except InvalidWebhook:
                    self.send_response(401)
                else:
                    receiver.deliveries += 1
                    for event in events:  # keyed by event id: a replay lands once
                        receiver.landed.setdefault(event.event_id, event)
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/shippo?token=x"


@pytest.fixture
def receiver(carrier: ShippoCarrier) -> Iterator[_Receiver]:
    endpoint = _Receiver(carrier)
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


def test_signed_webhook_good_bad_and_replayed(
    fake: FakeShippo, carrier: ShippoCarrier, receiver: _Receiver
) -> None:
    _, purchase = _buy_three(fake, carrier)
    number = purchase.packages[2].tracking_number
    fake.scan(number, "TRANSIT", "Arrived at facility")
    status, body = fake.send_track_webhook(receiver.url, number, hmac_secret=SECRET)
    assert status == 200
    assert [e.status for e in receiver.landed.values()] == [
        TrackingStatus.PRE_TRANSIT, TrackingStatus.IN_TRANSIT,
    ]  # fmt: skip
    # The same delivery again (Shippo retries; duplicate registrations duplicate events):
    assert fake.send_track_webhook(receiver.url, number, hmac_secret=SECRET)[0] == 200
    assert receiver.deliveries == 2 and len(receiver.landed) == 2
    # Wrong secret, unsigned, and a captured request replayed an hour later are refused.
    assert fake.send_track_webhook(receiver.url, number, hmac_secret="guess")[0] == 401
    assert fake.send_track_webhook(receiver.url, number)[0] == 401
    stale = int(time.time()) - 3600
    assert fake.send_track_webhook(receiver.url, number, hmac_secret=SECRET, timestamp=stale,
                                   body=body)[0] == 401  # fmt: skip
    assert receiver.deliveries == 2

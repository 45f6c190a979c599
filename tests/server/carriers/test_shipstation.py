"""ShipStation V2 adapter: golden tests of the pure mapping, then the real httpx transport
against the local fake (tests/fakes/shipstation_server.py) over loopback."""

from __future__ import annotations

import io
import json
import queue
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import zplkit
import zxingcpp
from PIL import Image

from server.carriers.base import (
    CUSTODY,
    Account,
    CarrierError,
    InvalidWebhook,
    Parcel,
    PostalAddress,
    Quote,
    ShipmentRequest,
    TrackingStatus,
)
from server.carriers.shipstation import ShipStationCarrier, mapping, tracking
from server.carriers.shipstation.transport import retry_after_seconds
from tests.fakes.shipstation_server import API_KEY, FakeShipStation

FROM = PostalAddress(
    name="Packline Warehouse",
    line1="1 Dock Road",
    line2="",
    city="Leeds",
    region="WYK",
    postcode="LS1 1AA",
    country="GB",
    phone="+44 113 000 0000",
    company="Packline Ltd",
)
TO = PostalAddress(
    name="Ada Lovelace",
    line1="12 St James's Square",
    line2="Flat 2",
    city="London",
    region="LND",
    postcode="SW1Y 4JH",
    country="GB",
    email="ada@example.org",
)


def _request(parcels: int = 1) -> ShipmentRequest:
    boxes = tuple(
        Parcel(weight_g=1200 + i, length_mm=305, width_mm=200, height_mm=95) for i in range(parcels)
    )
    return ShipmentRequest(reference="SO-1001", ship_from=FROM, ship_to=TO, parcels=boxes)


# ---- pure mapping: golden -------------------------------------------------------------------


def test_rates_body_is_the_documented_v2_shape() -> None:
    body = mapping.rates_body(_request(2), carrier_ids=["se-100", "se-200"])
    assert body == {
        "rate_options": {"carrier_ids": ["se-100", "se-200"], "preferred_currency": "EUR"},
        "shipment": {
            "ship_from": {
                "name": "Packline Warehouse",
                "phone": "+44 113 000 0000",
                "address_line1": "1 Dock Road",
                "city_locality": "Leeds",
                "state_province": "WYK",
                "postal_code": "LS1 1AA",
                "country_code": "GB",
                "address_residential_indicator": "unknown",
                "company_name": "Packline Ltd",
            },
            "ship_to": {
                "name": "Ada Lovelace",
                "phone": "",
                "address_line1": "12 St James's Square",
                "address_line2": "Flat 2",
                "city_locality": "London",
                "state_province": "LND",
                "postal_code": "SW1Y 4JH",
                "country_code": "GB",
                "address_residential_indicator": "unknown",
                "email": "ada@example.org",
            },
            "packages": [
                {
                    "weight": {"value": 1200, "unit": "gram"},
                    "dimensions": {
                        "unit": "centimeter",
                        "length": 30.5,
                        "width": 20.0,
                        "height": 9.5,
                    },
                    "label_messages": {"reference1": "SO-1001"},
                },
                {
                    "weight": {"value": 1201, "unit": "gram"},
                    "dimensions": {
                        "unit": "centimeter",
                        "length": 30.5,
                        "width": 20.0,
                        "height": 9.5,
                    },
                    "label_messages": {"reference1": "SO-1001"},
                },
            ],
        },
    }
    assert mapping.label_body() == {
        "label_format": "zpl",
        "label_layout": "4x6",
        "label_download_type": "inline",
    }


RATE_RESPONSE = b"""{
  "shipment_id": "se-shp-1",
  "rate_response": {
    "rate_request_id": "se-rr-1", "shipment_id": "se-shp-1", "status": "partial",
    "rates": [{
      "rate_id": "se-rate-1", "carrier_id": "se-100", "carrier_code": "ups",
      "carrier_friendly_name": "UPS", "service_code": "ups_ground", "delivery_days": 4,
      "shipping_amount": {"currency": "usd", "amount": 12.1},
      "insurance_amount": {"currency": "usd", "amount": 0.2},
      "confirmation_amount": {"currency": "usd", "amount": 0.0},
      "other_amount": {"currency": "usd", "amount": 0.1}
    }],
    "invalid_rates": [{
      "carrier_id": "se-200", "carrier_code": "fedex", "carrier_friendly_name": "FedEx",
      "error_messages": ["Invalid postal code"]
    }],
    "errors": [{"error_source": "carrier", "error_type": "integrations",
                "error_code": "no_rates_returned", "message": "DHL did not answer",
                "carrier_name": "DHL Express"}]
  }
}"""


def test_parse_rates_keeps_exact_money_and_every_failure() -> None:
    data = mapping.decode_json(RATE_RESPONSE, status=200)
    quotes, failures = mapping.parse_rates(data, account="ss-main")
    assert quotes == [
        Quote(
            provider="shipstation",
            account="ss-main",
            carrier="UPS",
            service="ups_ground",
            amount=Decimal("12.4"),
            currency="USD",
            delivery_days=4,
            rate_id="se-rate-1",
            shipment_ref="se-shp-1",
        )
    ]
    assert [(f.carrier, f.reason) for f in failures] == [
        ("FedEx", "invalid_rate: Invalid postal code"),
        ("DHL Express", "rate_error: no_rates_returned: DHL did not answer"),
    ]


def test_parse_label_gives_one_tracking_number_and_zpl_per_package() -> None:
    label = {
        "label_id": "se-9",
        "status": "completed",
        "shipment_id": "se-shp-1",
        "tracking_number": "1ZA",
        "carrier_code": "ups",
        "service_code": "ups_ground",
        "shipment_cost": {"currency": "usd", "amount": Decimal("24.8")},
        "insurance_cost": {"currency": "usd", "amount": Decimal("0.0")},
        "packages": [
            {"tracking_number": "1ZA", "label_download": {"href": "XlhBXlha"}},  # ^XA^XZ
            {
                "tracking_number": "1ZB",
                "label_download": {"href": "https://x/2.zpl", "zpl": "https://x/2.zpl"},
            },
        ],
    }
    parsed = mapping.parse_label(label, expected_packages=2)
    assert parsed.amount == Decimal("24.8") and parsed.currency == "USD"
    assert [(p.tracking_number, p.zpl, p.zpl_url) for p in parsed.packages] == [
        ("1ZA", b"^XA^XZ", ""),
        ("1ZB", None, "https://x/2.zpl"),
    ]
    with pytest.raises(CarrierError, match=r"label se-9 has 2 tracked packages, expected 3"):
        mapping.parse_label(label, expected_packages=3)
    with pytest.raises(CarrierError, match="status error"):
        mapping.parse_label(label | {"status": "error"}, expected_packages=2)


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (
            400,
            b'{"request_id":"r","errors":[{"error_code":"invalid_address",'
            b'"message":"Street not found"}]}',
            "HTTP 400: invalid_address: Street not found",
        ),
        (502, b"<html><body>Bad Gateway</body></html>", "HTTP 502: HTML page instead of JSON"),
        (404, b"", "HTTP 404: empty body"),
        (500, b"\x00\xffgarbage", "HTTP 500: body is not JSON"),
    ],
)
def test_error_bodies_become_carrier_errors_in_words(status: int, body: bytes, words: str) -> None:
    error = mapping.error_from_response(body, status=status)
    assert str(error) == words and error.status == status


def test_void_and_status_mapping() -> None:
    refused = mapping.parse_void(
        {"approved": False, "message": "Label has been used.", "reason_code": "label_already_used"}
    )
    assert not refused.approved and refused.message == "Label has been used. (label_already_used)"
    with pytest.raises(CarrierError):
        mapping.parse_void({"message": "?"})
    assert tracking.status_of("NY") not in CUSTODY and tracking.status_of("UN") not in CUSTODY
    assert {tracking.status_of(c) for c in ("AC", "IT", "AT", "DE", "SP")} <= CUSTODY
    assert tracking.status_of("IT", "RETURN_TO_SENDER") is TrackingStatus.RETURNED
    assert tracking.status_of("ZZ") is TrackingStatus.UNKNOWN


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


# ---- through the real transport against the fake --------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def fake() -> Iterator[FakeShipStation]:
    server = FakeShipStation().start()
    yield server
    server.stop()


@pytest.fixture
def wall() -> _Clock:
    return _Clock()


@pytest.fixture
def carrier(fake: FakeShipStation, wall: _Clock) -> Iterator[ShipStationCarrier]:
    account = Account(
        provider="shipstation", name="ss-main", api_key=API_KEY, base_url=fake.base_url
    )
    adapter = ShipStationCarrier(
        account=account,
        carrier_ids=["se-100", "se-200", "se-300"],
        jwks_url=fake.jwks_url,
        clock=wall,
    )
    yield adapter
    adapter.close()


def test_rates_from_every_carrier_with_the_api_key_header(
    fake: FakeShipStation, carrier: ShipStationCarrier
) -> None:
    quotes, failures = carrier.rates(_request(), timeout_s=5)
    assert failures == []
    assert {(q.carrier, q.service, q.amount) for q in quotes} == {
        ("UPS", "ups_ground", Decimal("12.9")),
        ("UPS", "ups_next_day_air", Decimal("48.6")),
        ("FedEx", "fedex_ground", Decimal("12.45")),
        ("DHL Express", "express_worldwide", Decimal("39.5")),
    }
    method, path, headers, body = fake.requests[-1]
    assert (method, path, headers["API-Key"]) == ("POST", "/v2/rates", API_KEY)
    assert body["rate_options"]["carrier_ids"] == ["se-100", "se-200", "se-300"]


def test_partial_rates_keep_the_good_carriers_and_log_the_bad(
    fake: FakeShipStation, carrier: ShipStationCarrier
) -> None:
    fake.behaviour.failing_carriers = {"se-200"}
    quotes, failures = carrier.rates(_request(), timeout_s=5)
    assert {q.carrier for q in quotes} == {"UPS", "DHL Express"}
    assert [(f.carrier, f.reason) for f in failures] == [
        ("FedEx", "invalid_rate: FedEx rating service unavailable")
    ]


def test_a_hanging_server_is_a_timeout_error(
    fake: FakeShipStation, carrier: ShipStationCarrier
) -> None:
    fake.behaviour.hang_paths = {"/v2/rates"}
    with pytest.raises(CarrierError, match=r"timeout after 0\.5 s") as caught:
        carrier.rates(_request(), timeout_s=0.5)
    assert caught.value.retry_after_s is None


def test_429_carries_retry_after(fake: FakeShipStation, carrier: ShipStationCarrier) -> None:
    fake.behaviour.rate_limited = 1
    with pytest.raises(CarrierError) as caught:
        carrier.rates(_request(), timeout_s=5)
    assert caught.value.status == 429 and caught.value.retry_after_s == 7.0
    quotes, _ = carrier.rates(_request(), timeout_s=5)  # the limit has passed
    assert quotes


def test_html_error_pages_and_bad_keys_are_clear_errors(
    fake: FakeShipStation, carrier: ShipStationCarrier
) -> None:
    fake.behaviour.html_errors = 1
    with pytest.raises(CarrierError, match="HTTP 502: HTML page instead of JSON"):
        carrier.rates(_request(), timeout_s=5)
    fake.api_key = "someone-else"
    with pytest.raises(CarrierError, match=r"HTTP 401: unauthorized: The API key is invalid\."):
        carrier.rates(_request(), timeout_s=5)


def test_dead_peer_is_a_connection_error() -> None:
    account = Account(provider="shipstation", name="x", api_key="k", base_url="http://127.0.0.1:9")
    dead = ShipStationCarrier(account=account, carrier_ids=["se-100"])
    with pytest.raises(CarrierError, match="connection failed"):
        dead.rates(_request(), timeout_s=2)
    dead.close()


@pytest.mark.parametrize("download", ["inline", "url"])
def test_buy_multi_package_gives_zpl_and_tracking_per_package(
    fake: FakeShipStation, carrier: ShipStationCarrier, download: str
) -> None:
    fake.behaviour.label_download = download
    request = _request(3)
    quotes, _ = carrier.rates(request, timeout_s=5)
    quote = next(q for q in quotes if q.service == "ups_ground")
    assert quote.amount == Decimal("37.7")  # 3 x 12.40 + 0.50
    purchase = carrier.buy(quote, request, timeout_s=5)
    assert (purchase.carrier, purchase.service, purchase.amount, purchase.currency) == (
        "UPS",
        "ups_ground",
        Decimal("37.7"),
        "USD",
    )
    numbers = [p.tracking_number for p in purchase.packages]
    assert len(numbers) == 3 == len(set(numbers))
    assert len({p.label_id for p in purchase.packages}) == 1  # one V2 label per shipment
    for seq, package in enumerate(purchase.packages, start=1):
        assert package.zpl is not None
        assert package.zpl.startswith(b"^XA") and package.zpl.endswith(b"^XZ")
        assert package.tracking_number.encode() in package.zpl
        assert f"Package {seq} of 3".encode() in package.zpl
        assert _scanned(package.zpl) == [package.tracking_number]
    buys = [r for r in fake.requests if r[1].startswith("/v2/labels/rates/")]
    assert [(r[1], r[3]) for r in buys] == [
        (f"/v2/labels/rates/{quote.rate_id}", mapping.label_body())
    ]


def _scanned(zpl: bytes) -> list[str]:
    # Render offline and decode: the printed barcode must scan back to the tracking number.
    png = zplkit.render(zpl.decode()).labels[0].png()
    return [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_buy_with_an_unknown_rate_is_the_providers_message(
    carrier: ShipStationCarrier,
) -> None:
    stale = Quote(
        provider="shipstation",
        account="ss-main",
        carrier="UPS",
        service="x",
        amount=Decimal(1),
        currency="USD",
        delivery_days=1,
        rate_id="se-rate-404",
    )
    with pytest.raises(CarrierError, match="rate_not_found: rate se-rate-404 not found"):
        carrier.buy(stale, _request(), timeout_s=5)


def test_void_approves_once_then_refuses_with_the_reason(
    fake: FakeShipStation, carrier: ShipStationCarrier
) -> None:
    request = _request(2)
    purchase = carrier.buy(carrier.rates(request, timeout_s=5)[0][0], request, timeout_s=5)
    label_id = purchase.packages[0].label_id
    first = carrier.void(label_id, timeout_s=5)
    assert first.approved and first.message.startswith("Request for refund submitted.")
    again = carrier.void(label_id, timeout_s=5)
    assert not again.approved
    assert again.message == "Label already voided. (label_already_voided)"
    assert fake.requests[-1][:2] == ("PUT", f"/v2/labels/{label_id}/void")
    with pytest.raises(CarrierError, match="HTTP 404: empty body"):
        carrier.void("se-nope", timeout_s=5)


def test_track_by_label_and_by_number(fake: FakeShipStation, carrier: ShipStationCarrier) -> None:
    request = _request()
    purchase = carrier.buy(carrier.rates(request, timeout_s=5)[0][0], request, timeout_s=5)
    label_id, number = purchase.packages[0].label_id, purchase.packages[0].tracking_number
    events = carrier.track(label_id, carrier="ups", timeout_s=5)
    assert [e.status for e in events] == [TrackingStatus.PRE_TRANSIT]
    fake.add_event(label_id, "AC", "Picked up by carrier")
    fake.add_event(label_id, "IT", "Departed facility")
    events = carrier.track(number, carrier="ups", timeout_s=5)
    assert [(e.raw_status, e.status) for e in events] == [
        ("NY", TrackingStatus.PRE_TRANSIT),
        ("AC", TrackingStatus.IN_TRANSIT),
        ("IT", TrackingStatus.IN_TRANSIT),
    ]
    assert all(e.tracking_number == number and e.event_id for e in events)
    assert fake.requests[-1][1] == "/v2/tracking"
    assert carrier.track_label(label_id, timeout_s=5) == events  # stable ids across polls


# ---- webhooks: signed by the fake, received over loopback ------------------------------------


class _Receiver:
    def __init__(self) -> None:
        self.got: queue.Queue[tuple[bytes, dict[str, str]]] = queue.Queue()
        got = self.got

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                got.put((body, dict(self.headers)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/shipstation"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    yield server
    server.close()


def _delivered_label(fake: FakeShipStation, carrier: ShipStationCarrier) -> str:
    request = _request()
    purchase = carrier.buy(carrier.rates(request, timeout_s=5)[0][0], request, timeout_s=5)
    label_id = purchase.packages[0].label_id
    fake.add_event(label_id, "AC", "Picked up")
    return label_id


def test_signed_webhook_verifies_and_lands_events(
    fake: FakeShipStation, carrier: ShipStationCarrier, receiver: _Receiver
) -> None:
    label_id = _delivered_label(fake, carrier)
    assert fake.send_webhook(receiver.url, label_id) == 200
    body, headers = receiver.got.get(timeout=10)
    events = carrier.parse_webhook(body=body, headers=headers)
    assert [e.raw_status for e in events] == ["NY", "AC"]
    assert events[-1].status in CUSTODY and events[0].status not in CUSTODY
    # The same delivery again (at-least-once) yields the same event ids to land once.
    assert [e.event_id for e in carrier.parse_webhook(body=body, headers=headers)] == [
        e.event_id for e in events
    ]


def test_tampered_unsigned_or_foreign_webhooks_are_refused(
    fake: FakeShipStation, carrier: ShipStationCarrier, receiver: _Receiver
) -> None:
    label_id = _delivered_label(fake, carrier)
    fake.send_webhook(receiver.url, label_id)
    body, headers = receiver.got.get(timeout=10)
    forged = body.replace(b'"AC"', b'"DE"')
    with pytest.raises(InvalidWebhook, match="does not verify"):
        carrier.parse_webhook(body=forged, headers=headers)
    with pytest.raises(InvalidWebhook, match="missing ShipStation signature headers"):
        carrier.parse_webhook(body=body, headers={"Content-Type": "application/json"})
    stranger = FakeShipStation(fresh_key=True).start()  # another keypair, same key id
    try:
        with pytest.raises(InvalidWebhook, match="does not verify"):
            carrier.parse_webhook(body=body, headers=stranger.sign(body))
    finally:
        stranger.stop()
    other_kid = dict(headers, **{"x-shipengine-rsa-sha256-key-id": "rotated-away"})
    with pytest.raises(InvalidWebhook, match="unknown signing key"):
        carrier.parse_webhook(body=body, headers=other_kid)
    junk = b"not json"
    with pytest.raises(InvalidWebhook, match="not JSON"):
        carrier.parse_webhook(body=junk, headers=fake.sign(junk))


def test_a_replayed_webhook_outside_the_window_is_refused(
    fake: FakeShipStation, carrier: ShipStationCarrier, receiver: _Receiver, wall: _Clock
) -> None:
    label_id = _delivered_label(fake, carrier)
    fake.send_webhook(receiver.url, label_id)
    body, headers = receiver.got.get(timeout=10)
    assert carrier.parse_webhook(body=body, headers=headers)
    wall.offset = timedelta(minutes=6)  # an attacker replays the captured request later
    with pytest.raises(InvalidWebhook, match="outside the 5 minute window"):
        carrier.parse_webhook(body=body, headers=headers)
    old = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    wall.offset = timedelta(0)
    with pytest.raises(InvalidWebhook, match="outside the 5 minute window"):
        carrier.parse_webhook(body=body, headers=fake.sign(body, timestamp=old))


def test_non_tracking_webhooks_yield_nothing(
    fake: FakeShipStation, carrier: ShipStationCarrier
) -> None:
    body = json.dumps({"resource_url": "x", "resource_type": "BATCH"}).encode()
    assert carrier.parse_webhook(body=body, headers=fake.sign(body)) == []

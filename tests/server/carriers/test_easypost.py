"""EasyPost adapter: golden tests of the pure mapping, then the real httpx transport against
the local fake (tests/fakes/easypost_server.py) over loopback."""

from __future__ import annotations

import io
import json
import queue
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import PIL.Image
import pytest
import zplkit
import zxingcpp

from server.carriers.base import (
    CUSTODY,
    Account,
    CarrierError,
    InvalidWebhook,
    Parcel,
    PostalAddress,
    ShipmentRequest,
    TrackingStatus,
)
from server.carriers.easypost import EasyPostCarrier, mapping, tracking
from tests.fakes.easypost_server import FakeEasyPost, Fault

FROM = PostalAddress(
    name="Packline WH1", line1="388 Townsend St", line2="", city="San Francisco",
    region="CA", postcode="94107", country="US", phone="5555555555",
)  # fmt: skip
TO = PostalAddress(
    name="Ada Buyer", line1="1 Main St", line2="Apt 2", city="Austin", region="TX",
    postcode="78701", country="US", email="ada@example.com", company="Ada Ltd",
)  # fmt: skip
BOX = Parcel(weight_g=1000, length_mm=300, width_mm=200, height_mm=100)
ONE = ShipmentRequest(reference="SO-1001", ship_from=FROM, ship_to=TO, parcels=(BOX,))
THREE = ShipmentRequest(reference="SO-1002", ship_from=FROM, ship_to=TO, parcels=(BOX,) * 3)
ACCOUNT = Account(provider="easypost", name="main", api_key="k", base_url="http://x/v2")


# -- pure mapping: golden --------------------------------------------------------------------


def test_units_round_up_to_tenths_of_ounces_and_inches() -> None:
    assert mapping.ounces(1000) == Decimal("35.3")  # 35.27 oz: never declare lighter
    assert mapping.ounces(1) == Decimal("0.1")
    assert mapping.inches(300) == Decimal("11.9")  # 11.81 in
    assert mapping.inches(254) == Decimal("10.0")


def test_single_parcel_is_a_shipment_with_zpl_option() -> None:
    call = mapping.rate_call(ONE)
    assert (call.method, call.path) == ("POST", "/shipments")
    assert call.body == {
        "shipment": {
            "reference": "SO-1001",
            "to_address": {
                "name": "Ada Buyer", "company": "Ada Ltd", "street1": "1 Main St",
                "street2": "Apt 2", "city": "Austin", "state": "TX", "zip": "78701",
                "country": "US", "phone": "", "email": "ada@example.com",
            },
            "from_address": {
                "name": "Packline WH1", "company": "", "street1": "388 Townsend St",
                "street2": "", "city": "San Francisco", "state": "CA", "zip": "94107",
                "country": "US", "phone": "5555555555", "email": "",
            },
            "options": {"label_format": "ZPL"},
            "parcel": {"length": "11.9", "width": "7.9", "height": "4.0", "weight": "35.3"},
        }
    }  # fmt: skip


def test_several_parcels_are_an_order_with_one_child_shipment_each() -> None:
    call = mapping.rate_call(THREE)
    assert (call.method, call.path) == ("POST", "/orders")
    assert call.body is not None
    children = call.body["order"]["shipments"]
    assert len(children) == 3
    assert all(c["options"] == {"label_format": "ZPL"} for c in children)
    assert children[0]["parcel"]["weight"] == "35.3"


def test_no_parcels_is_refused() -> None:
    with pytest.raises(CarrierError, match="at least one parcel"):
        mapping.rate_call(ShipmentRequest(reference="x", ship_from=FROM, ship_to=TO, parcels=()))


RATED = {
    "id": "shp_abc",
    "object": "Shipment",
    "rates": [
        {"id": "rate_1", "carrier": "USPS", "service": "GroundAdvantage", "rate": "6.07",
         "currency": "USD", "delivery_days": 3},
        {"id": "rate_2", "carrier": "USPS", "service": "Express", "rate": "23.75",
         "currency": "USD", "delivery_days": None, "est_delivery_days": None},
    ],
    "messages": [
        {"carrier": "UPS", "carrier_account_id": "ca_1", "type": "rate_error",
         "message": "Invalid Access License number"},
    ],
}  # fmt: skip


def test_rates_and_rate_errors_parse_to_quotes_and_failures() -> None:
    quotes, failures = mapping.parse_rates(RATED, account=ACCOUNT)
    assert [(q.carrier, q.service, q.amount, q.delivery_days) for q in quotes] == [
        ("USPS", "GroundAdvantage", Decimal("6.07"), 3),
        ("USPS", "Express", Decimal("23.75"), None),
    ]
    assert {(q.rate_id, q.shipment_ref, q.account) for q in quotes} == {
        ("rate_1", "shp_abc", "main"),
        ("rate_2", "shp_abc", "main"),
    }
    assert [(f.carrier, f.reason) for f in failures] == [
        ("UPS", "rate_error: Invalid Access License number")
    ]


def test_buy_call_by_rate_for_shipments_and_by_carrier_service_for_orders() -> None:
    quotes, _ = mapping.parse_rates(RATED, account=ACCOUNT)
    call = mapping.buy_call(quotes[0])
    assert (call.path, call.body) == ("/shipments/shp_abc/buy", {"rate": {"id": "rate_1"}})
    order_quotes, _ = mapping.parse_rates({**RATED, "id": "order_9"}, account=ACCOUNT)
    call = mapping.buy_call(order_quotes[0])
    assert (call.path, call.body) == (
        "/orders/order_9/buy",
        {"carrier": "USPS", "service": "GroundAdvantage"},
    )


def test_error_bodies_carry_easypost_words() -> None:
    body = b'{"error":{"code":"PARAMETER.REQUIRED","message":"Missing required parameter.",'
    body += b'"errors":[{"field":"shipment","message":"cannot be blank"}]}}'
    err = mapping.error_from_response(status=422, content_type="application/json", body=body)
    assert err.status == 422
    assert str(err) == (
        "EasyPost HTTP 422: PARAMETER.REQUIRED: Missing required parameter. "
        "(shipment: cannot be blank)"
    )
    alt = b'{"error":{"code":"NOT_FOUND","message":"Not found","errors":["no such shipment"]}}'
    err = mapping.error_from_response(status=404, content_type="application/json", body=alt)
    assert "NOT_FOUND: Not found (no such shipment)" in str(err)
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    err = mapping.error_from_response(status=502, content_type="text/html", body=html)
    assert err.status == 502 and "HTML error page" in str(err) and "502 Bad Gateway" in str(err)
    err = mapping.error_from_response(status=503, content_type="", body=b"")
    assert "(empty body)" in str(err)


@pytest.mark.parametrize(
    ("status", "approved"),
    [("submitted", True), ("refunded", True), ("not_applicable", True), ("rejected", False)],
)
def test_refund_status_decides_the_void(status: str, approved: bool) -> None:
    result = mapping.parse_refund({"id": "shp_1", "refund_status": status})
    assert result.approved is approved and status in result.message


TRACKER = {
    "id": "trk_1",
    "object": "Tracker",
    "tracking_code": "EZ1000000001",
    "status": "pre_transit",
    "updated_at": "2024-05-01T10:05:00Z",
    "tracking_details": [
        {"message": "Pre-Shipment Info Sent to USPS", "status": "pre_transit",
         "status_detail": "status_update", "datetime": "2024-05-01T09:00:00Z"},
        {"message": "Shipping Label Created", "status": "pre_transit",
         "status_detail": "label_created", "datetime": "2024-05-01T10:00:00Z"},
    ],
}  # fmt: skip


def test_pre_transit_tracker_is_not_custody() -> None:
    # karrio's quirk (carriers.md §1.4): pre-transit events must not read as "in transit".
    events = tracking.parse_tracker(TRACKER)
    assert [e.status for e in events] == [TrackingStatus.PRE_TRANSIT] * 2
    assert not any(e.status in CUSTODY for e in events)
    assert events[0].occurred_at == datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    assert len({e.event_id for e in events}) == 2


def test_tracker_statuses_map_to_ours() -> None:
    picked = {
        **TRACKER,
        "status": "in_transit",
        "tracking_details": [
            *TRACKER["tracking_details"],
            {"message": "Accepted", "status": "in_transit", "datetime": "2024-05-01T15:00:00Z"},
        ],
    }
    assert tracking.parse_tracker(picked)[-1].status is TrackingStatus.IN_TRANSIT
    assert tracking.map_status("available_for_pickup") in CUSTODY
    assert tracking.map_status("return_to_sender") is TrackingStatus.RETURNED
    assert tracking.map_status("failure") is TrackingStatus.EXCEPTION
    assert tracking.map_status("something_new") is TrackingStatus.UNKNOWN


def test_fresh_tracker_without_details_gives_its_own_status() -> None:
    fresh = {"id": "trk_2", "tracking_code": "9400", "status": "unknown",
             "created_at": "2024-05-01T10:00:00Z", "tracking_details": []}  # fmt: skip
    [event] = tracking.parse_tracker(fresh)
    assert (event.status, event.raw_status) == (TrackingStatus.UNKNOWN, "unknown")


def test_signature_golden_vector_with_nfkd_secret() -> None:
    # Expected digest computed with `openssl dgst -sha256 -hmac` over NFKD("sécret").
    body = b'{"object":"Event","id":"evt_1"}'
    expected = "hmac-sha256-hex=8a99aba855bd8fd0652a8c8fbd71ee4412b0f7d6cff08d98873b1dd9956bdd2b"
    assert tracking.signature(body, "s\u00e9cret") == expected  # precomposed é
    assert tracking.signature(body, "se\u0301cret") == expected  # already decomposed


def _signed(event: dict[str, object], secret: str = "sécret") -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event, separators=(",", ":")).encode()
    return body, {"x-hmac-signature": tracking.signature(body, secret)}


def test_webhook_rejects_bad_missing_and_unconfigured_signatures() -> None:
    body, headers = _signed(
        {"object": "Event", "description": "tracker.updated", "result": TRACKER}
    )
    assert tracking.parse_webhook(body, headers, "sécret")[0].tracking_number == "EZ1000000001"
    with pytest.raises(InvalidWebhook, match="does not match"):
        tracking.parse_webhook(body, headers, "other")
    with pytest.raises(InvalidWebhook, match="does not match"):
        tracking.parse_webhook(body + b" ", headers, "sécret")
    with pytest.raises(InvalidWebhook, match="missing"):
        tracking.parse_webhook(body, {}, "sécret")
    with pytest.raises(InvalidWebhook, match="no EasyPost webhook secret"):
        tracking.parse_webhook(body, headers, "")


def test_webhook_shapes() -> None:
    body, headers = _signed({"object": "Event", "description": "batch.updated", "result": {}})
    assert tracking.parse_webhook(body, headers, "sécret") == []
    body, headers = _signed({"object": "Event", "description": "tracker.updated", "result": {}})
    with pytest.raises(InvalidWebhook, match="without a Tracker"):
        tracking.parse_webhook(body, headers, "sécret")
    garbage = b"\xff\x00not json"
    with pytest.raises(InvalidWebhook, match="not JSON"):
        tracking.parse_webhook(garbage, {"X-Hmac-Signature": tracking.signature(garbage, "s")}, "s")


# -- the real transport against the fake -----------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeEasyPost]:
    with FakeEasyPost() as server:
        yield server


@pytest.fixture
def carrier(fake: FakeEasyPost) -> Iterator[EasyPostCarrier]:
    account = Account(provider="easypost", name="main", api_key=fake.api_key,
                      base_url=fake.base_url, webhook_secret=fake.webhook_secret)  # fmt: skip
    c = EasyPostCarrier(account)
    yield c
    c.close()


def test_rates_with_basic_auth(fake: FakeEasyPost, carrier: EasyPostCarrier) -> None:
    quotes, failures = carrier.rates(ONE, timeout_s=5)
    assert failures == []
    assert {(q.carrier, q.service, q.amount) for q in quotes} == {
        ("USPS", "GroundAdvantage", Decimal("6.07")),
        ("USPS", "Priority", Decimal("8.70")),
        ("UPS", "Ground", Decimal("11.69")),
    }
    assert all(q.shipment_ref.startswith("shp_") for q in quotes)
    method, path, auth = fake.requests[-1]
    assert (method, path) == ("POST", "/v2/shipments")
    assert auth.startswith("Basic ")
    assert fake.shipments[quotes[0].shipment_ref]["parcel"]["weight"] == "35.3"


def test_one_carrier_failing_does_not_fail_the_quote(
    fake: FakeEasyPost, carrier: EasyPostCarrier
) -> None:
    fake.rate_errors = {"UPS": "Invalid Access License number"}
    quotes, failures = carrier.rates(ONE, timeout_s=5)
    assert {q.carrier for q in quotes} == {"USPS"}
    assert [(f.carrier, f.reason) for f in failures] == [
        ("UPS", "rate_error: Invalid Access License number")
    ]


def test_hanging_api_times_out_as_carrier_error(
    fake: FakeEasyPost, carrier: EasyPostCarrier
) -> None:
    fake.hang = True
    with pytest.raises(CarrierError, match=r"timeout after 0\.3 s"):
        carrier.rates(ONE, timeout_s=0.3)
    fake.release()
    assert carrier.rates(ONE, timeout_s=5)[0]  # the same client works after a timeout


def test_rate_limit_carries_retry_after(fake: FakeEasyPost, carrier: EasyPostCarrier) -> None:
    fake.faults.append(Fault(429, "json", retry_after="7"))
    with pytest.raises(CarrierError) as caught:
        carrier.rates(ONE, timeout_s=5)
    assert (caught.value.status, caught.value.retry_after_s) == (429, 7.0)


def test_html_error_page_is_a_clear_carrier_error(
    fake: FakeEasyPost, carrier: EasyPostCarrier
) -> None:
    fake.faults.append(Fault(502, "html"))
    with pytest.raises(CarrierError, match="HTML error page") as caught:
        carrier.rates(ONE, timeout_s=5)
    assert caught.value.status == 502 and caught.value.retry_after_s is None


def test_wrong_api_key_and_dead_peer(fake: FakeEasyPost) -> None:
    bad = EasyPostCarrier(Account(provider="easypost", name="x", api_key="wrong",
                                  base_url=fake.base_url))  # fmt: skip
    with pytest.raises(CarrierError, match="HTTP 401") as caught:
        bad.rates(ONE, timeout_s=5)
    bad.close()
    assert caught.value.status == 401 and "wrong" not in str(caught.value)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]  # bound, never listening: connection refused
        dead = EasyPostCarrier(Account(provider="easypost", name="x", api_key="k",
                                       base_url=f"http://127.0.0.1:{dead_port}/v2"))  # fmt: skip
        with pytest.raises(CarrierError, match="connection failed"):
            dead.rates(ONE, timeout_s=5)
        dead.close()


def _scan(zpl: bytes) -> str:
    png = zplkit.render(zpl).labels[0].png()
    return str(zxingcpp.read_barcodes(PIL.Image.open(io.BytesIO(png)))[0].text)


def test_buy_multi_parcel_gives_one_tracking_number_and_zpl_per_parcel(
    fake: FakeEasyPost, carrier: EasyPostCarrier
) -> None:
    quotes, _ = carrier.rates(THREE, timeout_s=5)
    assert all(q.shipment_ref.startswith("order_") for q in quotes)
    cheapest = min(quotes, key=lambda q: q.amount)
    assert cheapest.amount == Decimal("18.21")  # 3 x 6.07: the order rate covers all parcels
    purchase = carrier.buy(cheapest, THREE, timeout_s=5)
    assert purchase.amount == Decimal("18.21") and purchase.currency == "USD"
    assert len(purchase.packages) == 3
    assert len({p.tracking_number for p in purchase.packages}) == 3
    assert len({p.label_id for p in purchase.packages}) == 3
    for package in purchase.packages:
        assert package.zpl is not None and package.zpl.startswith(b"^XA")
        assert _scan(package.zpl) == package.tracking_number
    downloads = [r for r in fake.requests if r[1].startswith("/files/")]
    assert len(downloads) == 3 and all(auth == "" for _, _, auth in downloads)


def test_buy_converts_to_zpl_when_the_label_came_back_png(
    fake: FakeEasyPost, carrier: EasyPostCarrier
) -> None:
    fake.honour_zpl_option = False
    quotes, _ = carrier.rates(ONE, timeout_s=5)
    purchase = carrier.buy(quotes[0], ONE, timeout_s=5)
    [package] = purchase.packages
    assert package.zpl is not None and package.tracking_number.encode() in package.zpl
    assert ("GET", f"/v2/shipments/{package.label_id}/label") in {r[:2] for r in fake.requests}


def test_buying_twice_is_refused_with_easypost_words(
    fake: FakeEasyPost, carrier: EasyPostCarrier
) -> None:
    quotes, _ = carrier.rates(ONE, timeout_s=5)
    carrier.buy(quotes[0], ONE, timeout_s=5)
    with pytest.raises(CarrierError, match="HTTP 422") as caught:
        carrier.buy(quotes[0], ONE, timeout_s=5)
    assert caught.value.status == 422


def test_void_one_package_of_an_order(fake: FakeEasyPost, carrier: EasyPostCarrier) -> None:
    quotes, _ = carrier.rates(THREE, timeout_s=5)
    purchase = carrier.buy(quotes[0], THREE, timeout_s=5)
    first, second = purchase.packages[0], purchase.packages[1]
    result = carrier.void(first.label_id, timeout_s=5)
    assert result.approved and "submitted" in result.message
    assert fake.shipments[first.label_id]["refund_status"] == "submitted"
    assert fake.shipments[second.label_id]["refund_status"] is None  # only that parcel
    fake.refund_status = "rejected"
    assert not carrier.void(second.label_id, timeout_s=5).approved
    with pytest.raises(CarrierError, match="NOT_FOUND") as caught:
        carrier.void("shp_missing", timeout_s=5)
    assert caught.value.status == 404


def test_track_reaches_custody_only_when_the_carrier_has_it(
    fake: FakeEasyPost, carrier: EasyPostCarrier
) -> None:
    quotes, _ = carrier.rates(ONE, timeout_s=5)
    code = carrier.buy(quotes[0], ONE, timeout_s=5).packages[0].tracking_number
    fake.advance(code, "pre_transit", "Shipping Label Created")
    events = carrier.track(code, carrier="USPS", timeout_s=5)
    assert events[-1].status is TrackingStatus.PRE_TRANSIT and events[-1].status not in CUSTODY
    fake.advance(code, "in_transit", "Accepted at USPS Origin Facility")
    events = carrier.track(code, carrier="USPS", timeout_s=5)
    assert events[-1].status is TrackingStatus.IN_TRANSIT and events[-1].status in CUSTODY
    assert events[-1].description == "Accepted at USPS Origin Facility"


class _Receiver:
    """A loopback webhook endpoint that hands each request to the test and answers 200."""

    def __init__(self) -> None:
        self.received: queue.Queue[tuple[bytes, dict[str, str]]] = queue.Queue()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.put((body, dict(self.headers.items())))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/easypost"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def next(self) -> tuple[bytes, dict[str, str]]:
        return self.received.get(timeout=10)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver()
    yield r
    r.close()


def test_webhooks_sent_by_the_fake_verify_and_replays_land_once(
    fake: FakeEasyPost, carrier: EasyPostCarrier, receiver: _Receiver
) -> None:
    quotes, _ = carrier.rates(ONE, timeout_s=5)
    code = carrier.buy(quotes[0], ONE, timeout_s=5).packages[0].tracking_number
    landed: dict[str, TrackingStatus] = {}  # what the consumer keys on: event_id

    event = fake.advance(code, "in_transit", "Accepted")
    assert fake.send_webhook(receiver.url, event).status_code == 200
    body, headers = receiver.next()
    events = carrier.parse_webhook(body=body, headers=headers)
    assert [e.status for e in events] == [TrackingStatus.IN_TRANSIT]
    assert events[0].tracking_number == code
    landed.update({e.event_id: e.status for e in events})

    fake.send_webhook(receiver.url, event)  # at-least-once delivery: the same Event again
    replay_body, replay_headers = receiver.next()
    assert replay_body == body
    replayed = carrier.parse_webhook(body=replay_body, headers=replay_headers)
    assert {e.event_id for e in replayed} <= landed.keys()  # nothing new lands

    later = fake.advance(code, "delivered", "Delivered, In/At Mailbox")
    fake.send_webhook(receiver.url, later)
    body, headers = receiver.next()
    new = [e for e in carrier.parse_webhook(body=body, headers=headers) if e.event_id not in landed]
    assert [e.status for e in new] == [TrackingStatus.DELIVERED]

    fake.send_webhook(receiver.url, later, secret="not-the-secret")
    body, headers = receiver.next()
    with pytest.raises(InvalidWebhook):
        carrier.parse_webhook(body=body, headers=headers)

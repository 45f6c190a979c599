"""Shopify webhooks over real HTTP: signature, duplicate deliveries, retries and cancellation."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import select

from server.bootstrap import Services
from server.channels import shopify
from server.db import tables as t
from server.domain.actor import SYSTEM
from shared.contract import API_PREFIX
from tests.server.conftest import Clock
from tests.server.http import count_rows, is_problem, sign_in
from tests.server.world import build_world

HOOK = f"{API_PREFIX}/channels/shop/shopify/webhooks"


def shopify_order(order_id: int = 5_001_234_567_890, *, sku: str = "SKU-A",
                  qty: int = 2) -> dict[str, Any]:  # fmt: skip
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": "#1042",
        "order_number": 1042,
        "email": "jan@example.nl",
        "created_at": "2026-11-25T10:00:00+01:00",
        "currency": "EUR",
        "financial_status": "paid",
        "fulfillment_status": None,
        "total_price": f"{12.50 * qty:.2f}",
        "shipping_address": {
            "name": "Jan de Vries", "first_name": "Jan", "last_name": "de Vries",
            "address1": "Damrak 1", "address2": None, "city": "Amsterdam", "zip": "1012 LG",
            "province": None, "country": "Netherlands", "country_code": "NL",
            "phone": "+31 20 1234567",
        },
        "line_items": [
            {"id": 13_000_000_001, "variant_id": 44_000_000_001, "product_id": 8_000_000_001,
             "sku": sku, "title": "Widget", "quantity": qty, "price": "12.50",
             "requires_shipping": True},
        ],
    }  # fmt: skip


def deliver(client: httpx.Client, body: bytes, *, event_id: str, topic: str = "orders/create",
            secret: str = "s3cret", signature: str | None = None) -> httpx.Response:  # fmt: skip
    return client.post(HOOK, content=body, headers={
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Webhook-Id": f"wh-{event_id}",
        "X-Shopify-Shop-Domain": "packline-test.myshopify.com",
        "X-Shopify-Hmac-Sha256": signature if signature is not None else shopify.sign(body, secret),
    })  # fmt: skip


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def _client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=30)


def _stocked(svc: Services, qty: int = 10) -> None:
    world = build_world(svc)
    svc.ledger.receive(sku_id=world.skus["SKU-A"], location_id=world.bins[0], qty=qty,
                       actor=SYSTEM)  # fmt: skip


def test_first_delivery_creates_and_replays_return_the_same_order(
    svc: Services, live_server: str
) -> None:
    _stocked(svc)
    creds = sign_in(svc)
    body = encode(shopify_order())
    with _client(live_server) as c:
        first = deliver(c, body, event_id="evt-1")
        assert first.status_code == 201, first.text
        number = first.json()["number"]
        assert first.json()["created"] is True
        for _ in range(3):
            again = deliver(c, body, event_id="evt-1")
            assert again.status_code == 200, again.text
            assert again.json()["number"] == number
            assert again.json()["created"] is False
        got = c.get(f"{API_PREFIX}/orders/by-number/{number}", headers=creds.headers)
    assert got.status_code == 200, got.text
    assert got.json()["external_id"] == "5001234567890"
    assert got.json()["state"] == "released"
    assert got.json()["address"]["country"] == "NL"
    assert [x["qty"] for x in got.json()["lines"]] == [2]
    assert count_rows(svc, "sales_order") == 1


def test_bad_signature_is_401_problem_and_stores_nothing(svc: Services, live_server: str) -> None:
    build_world(svc)
    body = encode(shopify_order())
    with _client(live_server) as c:
        wrong_secret = deliver(c, body, event_id="evt-1", secret="not-the-secret")
        no_signature = c.post(
            HOOK,
            content=body,
            headers={"X-Shopify-Topic": "orders/create", "X-Shopify-Event-Id": "evt-2"},
        )
    for r in (wrong_secret, no_signature):
        assert r.status_code == 401, r.text
        assert is_problem(r.headers["content-type"])
        assert r.json()["type"].endswith("invalid-signature")
    assert count_rows(svc, "sales_order") == 0
    assert count_rows(svc, "idempotency_key") == 0


def test_same_event_id_with_another_body_is_rejected(svc: Services, live_server: str) -> None:
    _stocked(svc)
    with _client(live_server) as c:
        assert deliver(c, encode(shopify_order(qty=1)), event_id="evt-1").status_code == 201
        other = deliver(c, encode(shopify_order(qty=3)), event_id="evt-1")
    assert other.status_code == 422, other.text
    assert is_problem(other.headers["content-type"])
    assert other.json()["type"].endswith("idempotency-key-reused")
    assert count_rows(svc, "sales_order") == 1


def test_a_new_event_for_the_same_shopify_order_days_later_creates_no_second_order(
    svc: Services, live_server: str, clock: Clock
) -> None:
    _stocked(svc)
    body = encode(shopify_order())
    with _client(live_server) as c:
        first = deliver(c, body, event_id="evt-1")
        assert first.status_code == 201, first.text
        clock.advance(days=3)
        later = deliver(c, body, event_id="evt-2", topic="orders/paid")
    assert later.status_code == 200, later.text
    assert later.json()["order_id"] == first.json()["order_id"]
    assert later.json()["created"] is False
    assert count_rows(svc, "sales_order") == 1


def test_eight_concurrent_deliveries_of_one_event_make_one_order(
    svc: Services, live_server: str
) -> None:
    _stocked(svc)
    body = encode(shopify_order())
    gate = threading.Barrier(8)

    def attempt(_: int) -> httpx.Response:
        with _client(live_server) as c:
            gate.wait(timeout=30)
            return deliver(c, body, event_id="evt-race")

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(attempt, range(8)))
    codes = sorted(r.status_code for r in responses)
    assert set(codes) <= {200, 201}, [r.text for r in responses]
    assert codes.count(201) == 1
    assert len({r.json()["order_id"] for r in responses}) == 1
    assert count_rows(svc, "sales_order") == 1
    assert count_rows(svc, "idempotency_key") == 1


def test_unmapped_sku_puts_the_order_on_hold_with_an_exception(
    svc: Services, live_server: str
) -> None:
    build_world(svc)
    creds = sign_in(svc)
    with _client(live_server) as c:
        r = deliver(c, encode(shopify_order(sku="NOT-IN-CATALOG")), event_id="evt-1")
        assert r.status_code == 201, r.text
        assert r.json()["state"] == "on_hold"
        excs = c.get(f"{API_PREFIX}/exceptions", params={"kind": "unmapped_sku"},
                     headers=creds.headers)  # fmt: skip
    assert excs.status_code == 200, excs.text
    assert [x["order_id"] for x in excs.json()] == [r.json()["order_id"]]
    assert "NOT-IN-CATALOG" in json.dumps(excs.json()[0])


def test_signed_garbage_is_422_problem_and_stores_nothing(svc: Services, live_server: str) -> None:
    build_world(svc)
    with _client(live_server) as c:
        garbage = deliver(c, b"\x00\xff{not json at all", event_id="evt-1")
        not_object = deliver(c, b"[1, 2, 3]", event_id="evt-2")
        no_lines = deliver(c, encode({"id": 1, "line_items": []}), event_id="evt-3")
    for r in (garbage, not_object, no_lines):
        assert r.status_code == 422, r.text
        assert is_problem(r.headers["content-type"])
        assert r.json()["type"].endswith("validation-failed")
    assert count_rows(svc, "sales_order") == 0
    assert count_rows(svc, "idempotency_key") == 0


def _reserved(svc: Services) -> int:
    sl = t.stock_level
    return int(svc.uow.read(lambda conn: sum(
        r.reserved for r in conn.execute(select(sl.c.reserved)).all()
    )))  # fmt: skip


def test_cancelled_in_shopify_releases_the_reservation(svc: Services, live_server: str) -> None:
    _stocked(svc, qty=2)
    payload = shopify_order(qty=2)
    with _client(live_server) as c:
        created = deliver(c, encode(payload), event_id="evt-1")
        assert created.json()["state"] == "released"
        assert _reserved(svc) == 2
        cancel_body = encode({**payload, "cancelled_at": "2026-11-25T11:00:00+01:00",
                              "cancel_reason": "customer"})  # fmt: skip
        cancelled = deliver(c, cancel_body, event_id="evt-2", topic="orders/cancelled")
        replay = deliver(c, cancel_body, event_id="evt-2", topic="orders/cancelled")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "cancelled"
    assert replay.status_code == 200, replay.text
    assert replay.json()["state"] == "cancelled"
    assert _reserved(svc) == 0
    # The freed stock is available again: another order for both units is released.
    with _client(live_server) as c:
        again = deliver(c, encode(shopify_order(order_id=777, qty=2)), event_id="evt-3")
    assert again.status_code == 201, again.text
    assert again.json()["state"] == "released"

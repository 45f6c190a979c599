"""Custody: the dispatch door's handover scans, carrier tracking webhooks from each provider
(signatures verified, replays landing once), polling as the fallback, the cut-off sweep's custody
exceptions, delivery, voids after handover through four-eyes, and what shipping cost.

Everything runs against the provider fakes over loopback HTTP and on both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.bootstrap import Services
from server.domain.actor import SYSTEM, Actor
from server.domain.errors import NotFound, ValidationFailed
from shared.contract import API_PREFIX
from tests.fakes.easypost_server import Fault
from tests.server.carriers.providers import Providers, three_providers
from tests.server.carriers.shipping_world import (
    SHIPPO_SECRET,
    bought,
    label_scanned,
    packed_order,
    shipping_services,
)
from tests.server.conftest import Clock
from tests.server.http import count_rows, sign_in


@pytest.fixture
def providers() -> Iterator[Providers]:
    with three_providers() as p:
        yield p


@pytest.fixture
def provider(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "easypost"))


@pytest.fixture
def svc(
    db_url: str, clock: Clock, tmp_path: Path, providers: Providers, provider: str
) -> Iterator[Services]:
    services = shipping_services(providers, db_url=db_url, clock=clock, tmp_path=tmp_path,
                                 only=[provider], custody_cutoff_hours=24,
                                 tracking_poll_minutes=30)  # fmt: skip
    yield services
    services.close()


def order_state(svc: Services, order_id: int) -> str:
    return svc.orders.get(order_id=order_id).state


def on_hand(svc: Services) -> tuple[int, int]:
    return svc.uow.read(lambda c: c.exec_driver_sql(
        "SELECT sum(on_hand), sum(reserved) FROM stock_level").one())  # fmt: skip


def ready_for_dispatch(svc: Services, ext: str, boxes: int = 1) -> tuple[int, list[dict[str, Any]]]:
    oid = packed_order(svc, ext, boxes=boxes)
    packages = bought(svc, oid)
    label_scanned(svc, oid, packages)
    assert order_state(svc, oid) == "labelled"
    return oid, packages


def hand_over(svc: Services, packages: list[dict[str, Any]]) -> int:
    carrier = packages[0]["carrier"]
    pickup = svc.custody.open_pickup(carrier=carrier, actor=SYSTEM)
    for p in packages:
        svc.custody.handover(pickup_id=pickup["id"], scanned=p["tracking_number"], actor=SYSTEM)
    return int(pickup["id"])


def test_handover_then_custody_webhook_ships_deducts_and_a_replay_lands_once(
    svc: Services, providers: Providers, live_server: str
) -> None:
    oid, packages = ready_for_dispatch(svc, "cust-1")
    before = on_hand(svc)
    hand_over(svc, packages)
    assert order_state(svc, oid) == "handed_over"
    assert on_hand(svc) == before  # deduction waits for the carrier (deduct_at = shipped)

    url = f"{live_server}{API_PREFIX}/carriers/easypost/webhooks"
    tracking = packages[0]["tracking_number"]
    event = providers.easypost.advance(tracking, "in_transit", "Picked up by the driver")
    first = providers.easypost.send_webhook(url, event)
    replay = providers.easypost.send_webhook(url, event)

    assert first.status_code == 200 and first.json()["recorded"] >= 1, first.text
    assert replay.json()["recorded"] == 0 and replay.json()["duplicates"] >= 1
    assert order_state(svc, oid) == "shipped"
    on, reserved = on_hand(svc)
    assert (on, reserved) == (before[0] - 2, before[1] - 2)  # the reservation became a deduction
    events_after_replay = count_rows(svc, "tracking_event")

    delivered = providers.easypost.advance(tracking, "delivered", "Left at the front door")
    assert providers.easypost.send_webhook(url, delivered).status_code == 200
    assert order_state(svc, oid) == "delivered"
    assert count_rows(svc, "tracking_event") > events_after_replay
    shipment = svc.spend.shipment(order_id=oid)
    assert shipment["packages"][0]["state"] == "delivered"
    assert shipment["packages"][0]["custody_at"] is not None


def test_a_webhook_with_a_bad_signature_is_refused_and_stores_nothing(
    svc: Services, providers: Providers, live_server: str
) -> None:
    oid, packages = ready_for_dispatch(svc, "cust-2")
    hand_over(svc, packages)
    url = f"{live_server}{API_PREFIX}/carriers/easypost/webhooks"
    event = providers.easypost.advance(packages[0]["tracking_number"], "in_transit")
    forged = providers.easypost.send_webhook(url, event, secret="not-our-secret")
    garbage = httpx.post(url, content=b"\x00\xffnot json", timeout=10,
                         headers={"X-Hmac-Signature": "hmac-sha256-hex=00"})  # fmt: skip
    unknown_provider = httpx.post(f"{live_server}{API_PREFIX}/carriers/fedex/webhooks",
                                  content=b"{}", timeout=10)  # fmt: skip
    not_configured = httpx.post(f"{live_server}{API_PREFIX}/carriers/shippo/webhooks",
                                content=b"{}", timeout=10)  # fmt: skip
    assert forged.status_code == 401
    assert forged.headers["content-type"] == "application/problem+json"
    assert garbage.status_code == 401
    assert unknown_provider.status_code == 422
    assert not_configured.status_code == 404
    assert count_rows(svc, "tracking_event") == 0
    assert order_state(svc, oid) == "handed_over"


@pytest.mark.parametrize("provider", ["shippo"], indirect=True)
def test_shippo_webhooks_by_hmac_and_by_token_and_multi_package_custody(
    svc: Services, providers: Providers, live_server: str
) -> None:
    oid, packages = ready_for_dispatch(svc, "cust-3", boxes=2)
    assert len(packages) == 2
    hand_over(svc, packages)
    url = f"{live_server}{API_PREFIX}/carriers/shippo/webhooks"
    first, second = (p["tracking_number"] for p in packages)
    carrier = packages[0]["carrier"].lower()

    providers.shippo.scan(first, "TRANSIT", "Accepted at the depot")
    status, _ = providers.shippo.send_track_webhook(url, first, hmac_secret=SHIPPO_SECRET,
                                                    carrier=carrier)  # fmt: skip
    assert status == 200
    assert order_state(svc, oid) == "handed_over"  # one carton of two is with the carrier

    providers.shippo.scan(second, "TRANSIT", "Accepted at the depot")
    body = json.dumps({"event": "track_updated", "test": True,
                       "data": providers.shippo.track_body(carrier, second)}).encode()  # fmt: skip
    wrong_token = httpx.post(f"{url}?token=guess", content=body, timeout=10)
    by_token = httpx.post(f"{url}?token={SHIPPO_SECRET}", content=body, timeout=10)
    assert wrong_token.status_code == 401
    assert by_token.status_code == 200, by_token.text
    assert order_state(svc, oid) == "shipped"


@pytest.mark.parametrize("provider", ["shipstation"], indirect=True)
def test_shipstation_signed_webhook_ships_the_order(
    svc: Services, providers: Providers, live_server: str
) -> None:
    oid, packages = ready_for_dispatch(svc, "cust-4")
    hand_over(svc, packages)
    pid = int(packages[0]["id"])
    row = svc.uow.read(lambda c: c.exec_driver_sql(
        f"SELECT label_id FROM shipment_package WHERE id = {pid}").one())  # fmt: skip
    providers.shipstation.add_event(row.label_id, "IT", "Departed facility")
    url = f"{live_server}{API_PREFIX}/carriers/shipstation/webhooks"
    assert providers.shipstation.send_webhook(url, row.label_id) == 200
    assert order_state(svc, oid) == "shipped"
    # A signature made for another body (tampering in transit) is refused.
    body = providers.shipstation.webhook_body(row.label_id)
    headers = providers.shipstation.sign(body)
    tampered = httpx.post(url, content=body.replace(b"Departed", b"Departxd"), headers=headers,
                          timeout=10)  # fmt: skip
    assert tampered.status_code == 401


def test_dispatch_door_refuses_what_must_not_leave(svc: Services, providers: Providers) -> None:
    oid = packed_order(svc, "door-1", boxes=2)
    packages = bought(svc, oid)
    carrier = packages[0]["carrier"]
    pickup = svc.custody.open_pickup(carrier=carrier, actor=SYSTEM)["id"]
    other = svc.custody.open_pickup(carrier="Some Other Carrier", actor=SYSTEM)["id"]
    first, second = packages

    with pytest.raises(ValidationFailed, match="never scanned onto the carton"):
        svc.custody.handover(pickup_id=pickup, scanned=first["tracking_number"], actor=SYSTEM)
    label_scanned(svc, oid, packages)
    with pytest.raises(NotFound, match="not one of our labels"):
        svc.custody.handover(pickup_id=pickup, scanned="1Z-NOT-OURS", actor=SYSTEM)
    with pytest.raises(ValidationFailed, match=f"goes with {carrier}"):
        svc.custody.handover(pickup_id=other, scanned=first["tracking_number"], actor=SYSTEM)

    done = svc.custody.handover(pickup_id=pickup, scanned=first["tracking_number"], actor=SYSTEM)
    again = svc.custody.handover(pickup_id=pickup, scanned=first["tracking_number"], actor=SYSTEM)
    assert (done.duplicate, done.remaining, done.order_state) == (False, 1, "labelled")
    assert (again.duplicate, again.remaining) == (True, 1)
    waiting = svc.custody.waiting()
    assert [w["tracking_number"] for w in waiting] == [second["tracking_number"]]

    svc.labels.void_package(package_id=second["id"], carriers=svc.rate_shopper.carriers,
                            actor=SYSTEM)  # fmt: skip
    with pytest.raises(ValidationFailed, match="VOIDED: do not ship"):
        svc.custody.handover(pickup_id=pickup, scanned=second["tracking_number"], actor=SYSTEM)
    svc.custody.close_pickup(pickup_id=pickup, actor=SYSTEM)
    with pytest.raises(ValidationFailed, match="closed"):
        svc.custody.handover(pickup_id=pickup, scanned=first["tracking_number"], actor=SYSTEM)
    assert svc.custody.pickup(pickup_id=pickup)["cartons"] == 1
    assert svc.custody.waiting() == []


def test_usps_routing_prefix_on_the_label_barcode_still_matches(svc: Services) -> None:
    _, packages = ready_for_dispatch(svc, "door-2")
    number = packages[0]["tracking_number"]
    pickup = svc.custody.open_pickup(carrier=packages[0]["carrier"], actor=SYSTEM)["id"]
    with pytest.raises(NotFound):  # a bare substring is not enough
        svc.custody.handover(pickup_id=pickup, scanned="99" + number, actor=SYSTEM)
    done = svc.custody.handover(pickup_id=pickup, scanned="42010001" + number, actor=SYSTEM)
    assert done.order_state == "handed_over"


@pytest.mark.parametrize("provider", ["shippo"], indirect=True)
def test_silence_past_the_cutoff_opens_a_custody_exception_and_polling_closes_it(
    svc: Services, providers: Providers, clock: Clock
) -> None:
    oid, packages = ready_for_dispatch(svc, "sweep-1")
    hand_over(svc, packages)
    clock.advance(hours=23)
    assert svc.custody.sweep() == []  # not yet past the cut-off
    clock.advance(hours=2)
    polled, opened = svc.custody.run_once(svc.rate_shopper.carriers)
    # The carrier knows the label (pre-transit) but has not scanned the parcel either.
    assert len(opened) == 1 and order_state(svc, oid) == "handed_over"
    assert svc.custody.sweep() == []  # one exception per package, not one per pass
    custody = [e for e in svc.exceptions.list(state="open") if e.kind == "custody"]
    assert [e.order_id for e in custody] == [oid]
    assert packages[0]["tracking_number"] in custody[0].reason

    clock.advance(minutes=31)  # the poll interval has passed again
    providers.shippo.scan(packages[0]["tracking_number"], "TRANSIT", "Found at the hub")
    polled, opened = svc.custody.run_once(svc.rate_shopper.carriers)
    assert polled.recorded >= 1 and opened == []
    assert order_state(svc, oid) == "shipped"
    assert [e for e in svc.exceptions.list(state="open") if e.kind == "custody"] == []


def test_void_after_handover_needs_a_second_person(
    svc: Services, providers: Providers, live_server: str
) -> None:
    oid, packages = ready_for_dispatch(svc, "void-1")
    hand_over(svc, packages)
    packer = sign_in(svc, badge="BADGE-PACK-1", roles=frozenset({"packer", "supervisor"}))
    boss = sign_in(svc, badge="BADGE-BOSS-1", roles=frozenset({"supervisor"}))
    pid = packages[0]["id"]
    with httpx.Client(base_url=live_server + API_PREFIX, timeout=30) as c:
        asked = c.post(f"/packages/{pid}/void", json={"reason": "customer changed address"},
                       headers=packer.headers)  # fmt: skip
        assert asked.status_code == 202, asked.text
        approval = asked.json()
        assert approval["operation"] == "void_after_handover"
        assert approval["payload"] == {
            "package_id": pid,
            "tracking_number": packages[0]["tracking_number"],
        }
        decide = {"approve": True, "reason": "checked with the driver",
                  "payload_hash": approval["payload_hash"]}  # fmt: skip
        own = c.post(
            f"/approvals/{approval['id']}/decision",
            json={**decide, "badge": "BADGE-PACK-1"},
            headers=packer.headers,
        )
        assert own.status_code in (403, 409), own.text  # nobody approves their own request
        assert svc.spend.shipment(order_id=oid)["packages"][0]["state"] == "handed_over"
        ok = c.post(
            f"/approvals/{approval['id']}/decision",
            json={**decide, "badge": "BADGE-BOSS-1"},
            headers=boss.headers,
        )
        assert ok.status_code == 200, ok.text
        assert ok.json()["state"] == "executed"
    assert svc.spend.shipment(order_id=oid)["packages"][0]["state"] == "voided"
    assert order_state(svc, oid) == "packed"  # every label void: back to the bench for a new one


def test_per_shipment_cost_and_carrier_spend(
    svc: Services, providers: Providers, live_server: str, clock: Clock
) -> None:
    start = clock()
    a = packed_order(svc, "spend-1")
    b = packed_order(svc, "spend-2", boxes=2)
    c_ = packed_order(svc, "spend-3")
    pa, pb, pc = bought(svc, a), bought(svc, b), bought(svc, c_)
    for p in pc:  # a shipment voided before it left: refunded, not spend
        svc.labels.void_package(package_id=p["id"], carriers=svc.rate_shopper.carriers,
                                actor=SYSTEM)  # fmt: skip
    costs = [svc.spend.shipment(order_id=o) for o in (a, b, c_)]
    assert all(x["cost_amount"] is not None for x in costs)
    assert costs[1]["packages"][1]["package_no"] == 2
    spend = svc.spend.carrier_spend(since=start - timedelta(minutes=1),
                                    until=start + timedelta(minutes=1))  # fmt: skip
    assert sum(r["shipments"] for r in spend) == 2
    assert sum(r["voided_shipments"] for r in spend) == 1
    assert sum(r["packages"] for r in spend) == len(pa) + len(pb)
    assert sum(r["amount"] for r in spend) == costs[0]["cost_amount"] + costs[1]["cost_amount"]
    headers = sign_in(svc).headers
    with httpx.Client(base_url=live_server + API_PREFIX, headers=headers, timeout=30) as c:
        since = (start - timedelta(minutes=1)).isoformat()
        until = (start + timedelta(minutes=1)).isoformat()
        r = c.get("/shipping/spend", params={"since": since, "until": until})
        backwards = c.get("/shipping/spend", params={"since": until, "until": since})
        naive = c.get("/shipping/spend", params={"since": "2026-01-01T00:00:00",
                                                 "until": until})  # fmt: skip
        one = c.get(f"/orders/{b}/shipment")
    assert r.status_code == 200 and sum(x["shipments"] for x in r.json()) == 2
    assert backwards.status_code == 422 and naive.status_code == 422
    assert one.status_code == 200 and len(one.json()["packages"]) == 2


def test_the_dispatch_door_over_http(svc: Services, live_server: str) -> None:
    oid, packages = ready_for_dispatch(svc, "http-1", boxes=2)
    headers = sign_in(svc, badge="BADGE-DOCK-1", roles=frozenset({"dispatch"})).headers
    with httpx.Client(base_url=live_server + API_PREFIX, headers=headers, timeout=30) as c:
        waiting = c.get("/dispatch/waiting").json()
        pickup = c.post("/pickups", json={"carrier": packages[0]["carrier"]})
        assert pickup.status_code == 201, pickup.text
        pid = pickup.json()["id"]
        first = c.post(f"/pickups/{pid}/scans", json={"barcode": packages[0]["tracking_number"]})
        unknown = c.post(f"/pickups/{pid}/scans", json={"barcode": "NOT-A-LABEL"})
        empty = c.post(f"/pickups/{pid}/scans", json={"barcode": ""})
        second = c.post(f"/pickups/{pid}/scans", json={"barcode": packages[1]["tracking_number"]})
        on_dock = c.get("/dispatch/awaiting-carrier").json()
        still_waiting = c.get("/dispatch/waiting").json()
        closed = c.post(f"/pickups/{pid}/close")
        twice = c.post(f"/pickups/{pid}/close")
        missing = c.get("/pickups/999999")
        spend = c.get("/shipping/spend", params={"since": "2026-01-01T00:00:00Z",
                                                 "until": "2027-01-01T00:00:00Z"})  # fmt: skip
    assert [w["tracking_number"] for w in waiting] == [p["tracking_number"] for p in packages]
    assert first.status_code == 200 and first.json()["remaining"] == 1
    assert first.json()["order_state"] == "labelled"
    assert unknown.status_code == 404 and "not one of our labels" in unknown.json()["detail"]
    assert empty.status_code == 422
    assert second.json()["order_state"] == "handed_over" and second.json()["remaining"] == 0
    assert [(w["tracking_number"], w["state"]) for w in on_dock] == [
        (p["tracking_number"], "handed_over") for p in packages
    ]
    assert still_waiting == []
    assert closed.status_code == 200 and closed.json()["cartons"] == 2
    assert closed.json()["state"] == "closed" and twice.status_code == 422
    assert missing.status_code == 404
    assert spend.status_code == 403  # carrier spend is for supervisors
    assert order_state(svc, oid) == "handed_over"


def test_a_provider_that_cannot_answer_at_purchase_is_a_503_to_retry(
    svc: Services, providers: Providers, live_server: str
) -> None:
    oid = packed_order(svc, "slow-1")
    svc.shipping_quotes.rate_order(order_id=oid, shopper=svc.rate_shopper, currency="USD",
                                   actor=SYSTEM)  # fmt: skip
    # The provider is overloaded when the bench buys: it asks us to come back later.
    providers.easypost.faults.append(Fault(status=429, kind="json", retry_after="2"))
    headers = sign_in(svc).headers
    with httpx.Client(base_url=live_server + API_PREFIX, headers=headers, timeout=60) as c:
        r = c.post(f"/orders/{oid}/labels")
    assert r.status_code == 503, r.text  # the bench keeps the order and retries by itself
    assert r.json()["type"].endswith("provider-unavailable")
    assert svc.labels.packages(order_id=oid) == []
    with httpx.Client(base_url=live_server + API_PREFIX, headers=headers, timeout=60) as c:
        again = c.post(f"/orders/{oid}/labels")  # the retry, once the provider is back
    assert again.status_code == 200 and len(again.json()) == 1


def test_a_supervisor_dismisses_a_custody_exception_with_what_they_found(
    svc: Services, clock: Clock
) -> None:
    _, packages = ready_for_dispatch(svc, "dismiss-1")
    hand_over(svc, packages)
    clock.advance(hours=25)
    [opened] = svc.custody.sweep()
    [view] = [e for e in svc.exceptions.list(state="open") if e.id == opened]
    assert view.actions == ("dismiss",)
    note = {"note": "driver confirmed pickup by phone"}
    svc.exceptions.resolve(exception_id=opened, action="dismiss", data=note, actor=SYSTEM)
    assert [e for e in svc.exceptions.list(state="open") if e.kind == "custody"] == []
    clock.advance(hours=25)
    assert svc.custody.sweep() == []  # dismissed once is not reopened by the next pass


def test_with_deduction_at_handover_the_dock_scan_deducts_and_custody_does_not_again(
    db_url: str, clock: Clock, tmp_path: Path, providers: Providers
) -> None:
    svc = shipping_services(providers, db_url=db_url, clock=clock, tmp_path=tmp_path,
                            only=["easypost"], deduct_at="handed_over")  # fmt: skip
    try:
        oid, packages = ready_for_dispatch(svc, "deduct-1")
        before = on_hand(svc)
        hand_over(svc, packages)
        after_handover = on_hand(svc)
        event = providers.easypost.advance(packages[0]["tracking_number"], "in_transit")
        svc.custody.record(
            svc.rate_shopper.carriers[0].parse_webhook(
                body=json.dumps(event, separators=(",", ":")).encode(),
                headers={"X-Hmac-Signature": providers.easypost.sign(
                    json.dumps(event, separators=(",", ":")).encode())},
            ),
            source="webhook",
        )  # fmt: skip
        assert after_handover == (before[0] - 2, before[1] - 2)
        assert order_state(svc, oid) == "shipped"
        assert on_hand(svc) == after_handover  # shipped, and nothing deducted twice
        assert svc.ledger.reconcile().clean
    finally:
        svc.close()


@pytest.mark.parametrize("provider", ["shipstation"], indirect=True)
def test_one_shipstation_label_covers_every_box_so_a_void_voids_them_together(
    svc: Services, providers: Providers
) -> None:
    oid, packages = ready_for_dispatch(svc, "ss-void-1", boxes=2)
    first, second = packages
    pickup = svc.custody.open_pickup(carrier=second["carrier"], actor=SYSTEM)["id"]
    svc.custody.handover(pickup_id=pickup, scanned=second["tracking_number"], actor=SYSTEM)
    packer = svc.identity.create_operator(name="P", badge="BADGE-P-9", roles={"packer"},
                                          actor=SYSTEM)  # fmt: skip
    asker = Actor(None, packer, frozenset({"packer"}), "P")
    # Box 1 is still on the bench, but its label is box 2's too, and box 2 has left: approval.
    out = svc.labels.void_package(package_id=first["id"], carriers=svc.rate_shopper.carriers,
                                  actor=asker, reason="wrong address")  # fmt: skip
    assert getattr(out, "operation", None) == "void_after_handover"
    assert {p["state"] for p in svc.spend.shipment(order_id=oid)["packages"]} == {
        "labelled", "handed_over"}  # fmt: skip


@pytest.mark.parametrize("provider", ["shipstation"], indirect=True)
def test_voiding_a_shipstation_label_before_handover_voids_all_its_boxes(
    svc: Services, providers: Providers
) -> None:
    oid, packages = ready_for_dispatch(svc, "ss-void-2", boxes=2)
    svc.labels.void_package(package_id=packages[0]["id"], carriers=svc.rate_shopper.carriers,
                            actor=SYSTEM)  # fmt: skip
    assert [p["state"] for p in svc.spend.shipment(order_id=oid)["packages"]] == [
        "voided", "voided"]  # fmt: skip
    assert order_state(svc, oid) == "packed"  # no live label left: back for a new one


@pytest.mark.parametrize("provider", ["shippo"], indirect=True)
def test_a_carton_labelled_and_never_handed_over_becomes_a_custody_exception(
    svc: Services, providers: Providers, clock: Clock
) -> None:
    oid, packages = ready_for_dispatch(svc, "lost-1")
    clock.advance(hours=25)
    _, opened = svc.custody.run_once(svc.rate_shopper.carriers)
    [view] = [e for e in svc.exceptions.list(state="open") if e.id in opened]
    assert view.kind == "custody" and "never handed over" in view.reason
    # The driver took it without a dock scan: the poll hears the carrier, the order ships.
    clock.advance(minutes=31)
    providers.shippo.scan(packages[0]["tracking_number"], "TRANSIT", "Picked up")
    polled, _ = svc.custody.run_once(svc.rate_shopper.carriers)
    assert polled.recorded >= 1 and order_state(svc, oid) == "shipped"
    assert [e for e in svc.exceptions.list(state="open") if e.kind == "custody"] == []

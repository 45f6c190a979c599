"""Labels at the bench, on the server (both databases): `POST /orders/{id}/ship` rates if needed
and buys once, however often a bench asks; the `package_labelled` station event makes a package
labelled only when the scan carries its tracking number, and the order labelled once every live
package is. Shipping goes to the Shippo fake on loopback (one provider: deterministic)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from server.bootstrap import Services
from server.db import tables as t
from server.domain.actor import SYSTEM
from shared.contract import API_PREFIX
from tests.fakes.shippo_server import FakeShippo
from tests.server.conftest import Clock
from tests.server.http import Credentials, count_rows, sign_in
from tests.server.shipping_services import closing, running_shippo, services_with, shippo_account
from tests.server.world import build_world, place

AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


@pytest.fixture
def shippo() -> Iterator[FakeShippo]:
    yield from running_shippo()


@pytest.fixture
def svc(db_url: str, clock: Clock, tmp_path: Path, shippo: FakeShippo) -> Iterator[Services]:
    yield from closing(services_with([shippo_account(shippo)], db_url=db_url, clock=clock,
                                     tmp_path=tmp_path, rate_deadline_s=10))  # fmt: skip


@pytest.fixture
def creds(svc: Services) -> Credentials:
    return sign_in(svc)  # admin + supervisor: also saves rate rules


@pytest.fixture
def api(live_server: str, creds: Credentials) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server + API_PREFIX, headers=creds.headers, timeout=60) as c:
        yield c


def ev(kind: str, order_id: int, payload: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    return {"key": key or str(uuid.uuid4()), "kind": kind, "order_id": order_id,
            "at": AT.isoformat(), "payload": payload}  # fmt: skip


def events(api: httpx.Client, *batch: dict[str, Any]) -> list[dict[str, Any]]:
    r = api.post("/stations/events", json={"events": list(batch)})
    assert r.status_code == 200, r.text
    return list(r.json()["results"])


def picking(svc: Services, ext: str, units: int = 2) -> int:
    if count_rows(svc, "warehouse") == 0:
        w = build_world(svc)
        svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=20, actor=SYSTEM)
    oid = place(svc, ext, ("SKU-A", units))
    svc.tasks.claim(order_id=oid, actor=SYSTEM)
    return oid


def pack(api: httpx.Client, oid: int, *, boxes: int) -> None:
    pick = {"lines": [{"line_no": 1, "sku": "SKU-A", "units": boxes, "scans": []}]}
    packed = {"boxes": [{"box_type": "BOX-M", "units": 1, "measured_weight_g": 400}] * boxes}
    done = events(api, ev("pick_completed", oid, pick), ev("pack_completed", oid, packed))
    assert [r["status"] for r in done] == ["applied", "applied"], done


def packed(svc: Services, api: httpx.Client, ext: str, *, boxes: int = 2) -> int:
    oid = picking(svc, ext, units=boxes)
    pack(api, oid, boxes=boxes)
    return oid


def labelled(oid: int, package: dict[str, Any], scanned: str | None = None,
             key: str | None = None) -> dict[str, Any]:  # fmt: skip
    return ev("package_labelled", oid, {"package_id": package["id"],
                                        "tracking_number": package["tracking_number"],
                                        "scanned": scanned or package["tracking_number"]},
              key=key)  # fmt: skip


def purchases(svc: Services) -> int:
    a = t.audit
    rows = svc.uow.read(
        lambda c: c.execute(
            select(a.c.id).where(a.c.entity == "shipment", a.c.action == "purchased")
        ).all()
    )
    return len(rows)


# -- POST /orders/{id}/ship ---------------------------------------------------------------------


def test_ship_buys_one_label_per_box_once_however_often_it_is_asked(
    svc: Services, api: httpx.Client, shippo: FakeShippo
) -> None:
    oid = picking(svc, "ship-1")
    early = api.post(f"/orders/{oid}/ship")
    assert early.status_code == 409 and "not packed" in early.json()["detail"]
    assert early.headers["content-type"] == "application/problem+json"
    assert api.post("/orders/999999/ship").status_code == 404
    pack(api, oid, boxes=2)

    first = api.post(f"/orders/{oid}/ship")
    assert first.status_code == 200, first.text
    packages = first.json()
    assert [p["package_no"] for p in packages] == [1, 2]
    assert len({p["tracking_number"] for p in packages}) == 2
    assert {p["state"] for p in packages} == {"bought"}
    again = api.post(f"/orders/{oid}/ship")  # a bench that timed out asks again
    assert again.status_code == 200 and again.json() == packages
    assert len(shippo.transactions) == 2  # two parcels bought once, never a second time
    assert purchases(svc) == 1
    assert len({q["shop_no"] for q in api.get(f"/orders/{oid}/quotes").json()}) == 1
    labels = [api.get(f"/packages/{p['id']}/label") for p in packages]
    assert [r.status_code for r in labels] == [200, 200]
    assert all(
        p["tracking_number"].encode() in r.content for p, r in zip(packages, labels, strict=True)
    )


def test_a_rate_quoted_before_packing_is_replaced_by_one_for_the_packed_boxes(
    svc: Services, api: httpx.Client, clock: Clock, shippo: FakeShippo
) -> None:
    oid = picking(svc, "ship-2")
    assert api.post(f"/orders/{oid}/rates").status_code == 200  # one parcel, from the catalog
    clock.advance(minutes=5)
    pack(api, oid, boxes=2)
    bought = api.post(f"/orders/{oid}/ship").json()
    assert len(bought) == 2  # a label per packed box, not the single parcel first quoted
    assert {q["shop_no"] for q in api.get(f"/orders/{oid}/quotes").json()} == {1, 2}


def test_ship_while_a_purchase_runs_is_refused_to_retry_and_an_old_lease_is_taken_over(
    svc: Services, api: httpx.Client, clock: Clock, shippo: FakeShippo
) -> None:
    oid = packed(svc, api, "ship-3", boxes=1)
    assert api.post(f"/orders/{oid}/rates").status_code == 200
    # A first call holds the purchase (as if its carrier call were still running).
    assert svc.uow.write(lambda conn: svc.ship_order._claim(conn, oid))
    busy = api.post(f"/orders/{oid}/ship")
    assert busy.status_code == 409
    assert busy.json()["type"].endswith(":order-locked") and busy.json()["retry"] is True
    assert "try again" in busy.json()["detail"] and shippo.transactions == {}
    clock.advance(seconds=svc.ship_order.lease.total_seconds() + 1)  # that server died
    taken = api.post(f"/orders/{oid}/ship")
    assert taken.status_code == 200 and len(taken.json()) == 1
    assert len(shippo.transactions) == 1


def test_two_benches_asking_at_once_buy_once(
    svc: Services, api: httpx.Client, live_server: str, creds: Credentials, shippo: FakeShippo
) -> None:
    oid = packed(svc, api, "ship-4", boxes=2)
    shippo.latency_s = 0.3  # every carrier call is slow: the two requests overlap
    answers: list[httpx.Response] = []

    def ask() -> None:
        with httpx.Client(base_url=live_server + API_PREFIX, headers=creds.headers,
                          timeout=60) as c:  # fmt: skip
            answers.append(c.post(f"/orders/{oid}/ship"))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(r.status_code for r in answers)[0] == 200
    for r in answers:
        assert r.status_code == 200 or r.json()["type"].endswith(":order-locked"), r.text
    assert len(shippo.transactions) == 2 and purchases(svc) == 1
    assert len(api.post(f"/orders/{oid}/ship").json()) == 2


def test_a_refused_purchase_says_why_and_leaves_the_order_buyable(
    svc: Services, api: httpx.Client, shippo: FakeShippo
) -> None:
    oid = packed(svc, api, "ship-5", boxes=1)
    shippo.transaction_error = "Address not deliverable"
    refused = api.post(f"/orders/{oid}/ship")
    assert refused.status_code == 422 and "Address not deliverable" in refused.json()["detail"]
    shippo.transaction_error = ""
    bought = api.post(f"/orders/{oid}/ship")  # the lease was released: a retry can buy
    assert bought.status_code == 200 and len(bought.json()) == 1


def test_no_rate_to_choose_is_refused_with_the_explanation(
    svc: Services, api: httpx.Client, shippo: FakeShippo
) -> None:
    oid = packed(svc, api, "ship-6", boxes=1)
    shippo.failing_carriers = {"USPS", "UPS", "DHL Express"}  # every carrier times out
    refused = api.post(f"/orders/{oid}/ship")
    assert refused.status_code == 422
    assert "no carrier rate could be chosen" in refused.json()["detail"]
    assert api.get(f"/orders/{oid}/packages").json() == []
    shippo.failing_carriers = set()
    assert len(api.post(f"/orders/{oid}/ship").json()) == 1  # rated again, then bought


# -- package_labelled ---------------------------------------------------------------------------


def test_label_scans_make_packages_and_then_the_order_labelled(
    svc: Services, api: httpx.Client
) -> None:
    oid = packed(svc, api, "lab-1", boxes=2)
    one, two = api.post(f"/orders/{oid}/ship").json()
    first = labelled(oid, one)
    [r] = events(api, first)
    assert r["status"] == "applied" and "1 package(s) still to scan" in r["detail"]
    assert svc.orders.get(order_id=oid).state == "packed"
    # USPS IMpb: AI 420 + ZIP before the number, FNC1 between; the same rule as the bench.
    [r] = events(api, labelled(oid, two, scanned=f"42012345\x1d{two['tracking_number']}"))
    assert r["status"] == "applied" and r["detail"].endswith("order labelled")
    view = svc.orders.get(order_id=oid)
    assert view.state == "labelled"
    scans = view.transitions[-1]["evidence"]["label_scan"]
    assert [s["package_id"] for s in scans] == [one["id"], two["id"]]
    assert scans[0]["event"] == first["key"] and scans[0]["scanned"] == one["tracking_number"]
    states = {p["id"]: p["state"] for p in api.get(f"/orders/{oid}/packages").json()}
    assert states == {one["id"]: "labelled", two["id"]: "labelled"}
    # A replay lands once; a new scan of a labelled carton changes nothing.
    [again] = events(api, first)
    assert (again["status"], again["original"]) == ("duplicate", "applied")
    [rescan] = events(api, labelled(oid, one))
    assert rescan["status"] == "applied" and "already labelled" in rescan["detail"]
    assert len(svc.orders.get(order_id=oid).transitions) == len(view.transitions)
    # After labelling the label still prints (a torn one is reprinted at the bench).
    assert api.get(f"/packages/{one['id']}/label").status_code == 200


def test_wrong_unknown_foreign_and_voided_label_scans_are_rejected_with_words(
    svc: Services, api: httpx.Client
) -> None:
    oid = packed(svc, api, "lab-2", boxes=2)
    other = packed(svc, api, "lab-3", boxes=1)
    one, two = api.post(f"/orders/{oid}/ship").json()
    [theirs] = api.post(f"/orders/{other}/ship").json()
    bad = [
        labelled(oid, one, scanned=two["tracking_number"]),  # the other carton's label
        labelled(oid, one, scanned=one["tracking_number"][:-1]),  # a short read is no match
        labelled(oid, {"id": 987654, "tracking_number": "1ZNOPE"}),
        labelled(oid, theirs),  # another order's package reported for this one
        ev("package_labelled", oid, {"package_id": one["id"]}),  # payload missing fields
    ]
    results = events(api, *bad)
    assert [r["status"] for r in results] == ["rejected"] * 5
    assert "does not carry the tracking number of package 1" in results[0]["detail"]
    assert "not known to the server" in results[2]["detail"]
    assert "belongs to another order" in results[3]["detail"]
    assert "payload is not valid" in results[4]["detail"]
    assert {p["state"] for p in api.get(f"/orders/{oid}/packages").json()} == {"bought"}
    # Package 2's label is voided (a torn label, say): its scan is refused, and the order is
    # labelled once every package still live is.
    assert api.post(f"/packages/{two['id']}/void").json()["state"] == "voided"
    [voided] = events(api, labelled(oid, two))
    assert voided["status"] == "rejected" and "was voided" in voided["detail"]
    [done] = events(api, labelled(oid, one))
    assert done["status"] == "applied" and svc.orders.get(order_id=oid).state == "labelled"
    [again] = events(api, bad[0])  # a rejection replayed stays a rejection
    assert (again["status"], again["original"]) == ("duplicate", "rejected")


def test_a_label_scan_before_the_order_is_packed_is_rejected(
    svc: Services, api: httpx.Client
) -> None:
    oid = picking(svc, "lab-4", units=1)
    # The office may buy a label early (POST /labels does not wait for the pack) ...
    assert api.post(f"/orders/{oid}/rates").status_code == 200
    [package] = api.post(f"/orders/{oid}/labels").json()
    # ... but the scan onto the carton only counts once the order is packed.
    [r] = events(api, labelled(oid, package))
    assert r["status"] == "rejected" and "labels are scanned once it is packed" in r["detail"]
    assert svc.orders.get(order_id=oid).state == "picking"
    assert api.get(f"/orders/{oid}/packages").json()[0]["state"] == "bought"


def test_the_bench_client_reads_a_running_purchase_as_try_again(
    svc: Services, api: httpx.Client, live_server: str, creds: Credentials
) -> None:
    from server.services.ship_order import _release
    from station.sync.client import HttpGateway, ServerRefused
    from station.sync.shipping_client import HttpShippingClient, purchase_running

    oid = packed(svc, api, "bench-1", boxes=2)
    gateway = HttpGateway(base_url=live_server, station_token=creds.station_token)
    client = HttpShippingClient(gateway=gateway)
    try:
        gateway.login(badge="BADGE-ADMIN-1")
        assert api.post(f"/orders/{oid}/rates").status_code == 200
        assert svc.uow.write(lambda conn: svc.ship_order._claim(conn, oid))
        with pytest.raises(ServerRefused) as busy:
            client.ship(order_id=oid)
        assert purchase_running(busy.value) and "try again" in busy.value.detail
        svc.uow.write(lambda conn: _release(conn, oid))  # that first call gave up
        packages = client.ship(order_id=oid)
        assert [p.package_no for p in packages] == [1, 2]
        assert client.label(package_id=packages[1].id).startswith(b"^XA")
        assert client.packing_slip(order_id=oid).startswith(b"%PDF")
        with pytest.raises(ServerRefused) as refused:
            client.ship(order_id=987654)
        assert refused.value.status == 404 and not purchase_running(refused.value)
    finally:
        gateway.close()


def test_a_packed_unlabelled_order_comes_back_to_the_bench_that_packed_it(
    svc: Services, api: httpx.Client, creds: Credentials
) -> None:
    from server.domain.actor import Actor

    bench = Actor(creds.station_id, None, frozenset({"packer"}), "bench")
    if count_rows(svc, "warehouse") == 0:
        w = build_world(svc)
        svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=20, actor=SYSTEM)
    oid = place(svc, "resume-1", ("SKU-A", 1))
    svc.tasks.claim(order_id=oid, actor=bench)
    pack(api, oid, boxes=1)
    mine = {t.order_id: t.state for t in svc.tasks.open_tasks(station_id=creds.station_id)}
    others = {t.order_id for t in svc.tasks.open_tasks(station_id=None)}
    assert mine.get(oid) == "packed" and oid not in others
    again = svc.tasks.claim(order_id=oid, actor=bench)  # resuming changes nothing
    assert again.state == "packed"
    package = api.post(f"/orders/{oid}/ship").json()[0]
    assert events(api, labelled(oid, package))[0]["status"] == "applied"
    assert oid not in {t.order_id for t in svc.tasks.open_tasks(station_id=creds.station_id)}

"""Rating an order over HTTP, with the server configured (PACKLINE_CARRIER_ACCOUNTS) for the
three provider fakes: quotes from all three, a decision with its explanation, the quote log
growing with each re-rate, rules saved through the API and refused when malformed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.bootstrap import Services
from server.domain.actor import SYSTEM
from shared.contract import API_PREFIX
from tests.server.carriers.providers import Providers, three_providers
from tests.server.carriers.shipping_world import shipping_services
from tests.server.conftest import Clock
from tests.server.http import sign_in
from tests.server.shipping_services import closing
from tests.server.world import build_world, place


@pytest.fixture
def providers() -> Iterator[Providers]:
    with three_providers() as p:
        yield p


@pytest.fixture
def svc(db_url: str, clock: Clock, tmp_path: Path, providers: Providers) -> Iterator[Services]:
    yield from closing(shipping_services(providers, db_url=db_url, clock=clock,
                                         tmp_path=tmp_path))  # fmt: skip


def test_rate_an_order_rerate_and_read_the_log(svc: Services, live_server: str) -> None:
    world = build_world(svc)
    svc.ledger.receive(sku_id=world.skus["SKU-A"], location_id=world.bins[0], qty=5,
                       actor=SYSTEM)  # fmt: skip
    order_id = place(svc, "rate-1", ("SKU-A", 2))
    unstocked = place(svc, "rate-2", ("SKU-B", 1))  # no stock: parked, nothing to ship from
    headers = sign_in(svc).headers
    svc.identity.create_operator(name="Second", badge="BADGE-SUP-2", roles={"supervisor"},
                                 actor=SYSTEM)  # fmt: skip
    with httpx.Client(base_url=live_server + API_PREFIX, headers=headers, timeout=30) as c:
        bad = c.put("/rate-rules", json={"definition": {"id": "x"}})
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
        rule = {"id": "r1", "name": "Fast NL", "priority": 1,
                "objective": {"kind": "fastest"}, "countries": ["NL"]}  # fmt: skip
        asked = c.put("/rate-rules", json={"definition": rule})
        # A rule change waits for a second person (four-eyes) and changes nothing until then.
        assert asked.status_code == 202 and asked.json()["applied"] is False
        assert c.get("/rate-rules").json() == []
        approval = asked.json()["approval"]
        decided = c.post(f"/approvals/{approval['id']}/decision",
                         json={"approve": True, "reason": "checked", "badge": "BADGE-SUP-2",
                               "payload_hash": approval["payload_hash"]})  # fmt: skip
        assert decided.status_code == 200 and decided.json()["state"] == "executed"
        assert [r["definition"]["name"] for r in c.get("/rate-rules").json()] == ["Fast NL"]
        first = c.post(f"/orders/{order_id}/rates").json()
        second = c.post(f"/orders/{order_id}/rates").json()
        log = c.get(f"/orders/{order_id}/quotes").json()
        refused = c.post(f"/orders/{unstocked}/rates")
    assert {q["provider"] for q in first["quotes"]} == {"easypost", "shippo", "shipstation"}
    assert first["chosen_quote_id"] in {q["id"] for q in first["quotes"]}
    assert "Fast NL" in first["explanation"]
    assert (first["shop_no"], second["shop_no"]) == (1, 2)
    assert len(log) == len(first["quotes"]) + len(second["quotes"])  # re-rating adds
    assert refused.status_code == 422 and "holds no stock" in refused.json()["detail"]


def test_buy_print_and_void_per_package(svc: Services, live_server: str) -> None:
    import io

    import zxingcpp
    from PIL import Image

    from tests.fakes.printer_emulator import render_png

    world = build_world(svc)
    svc.ledger.receive(sku_id=world.skus["SKU-A"], location_id=world.bins[0], qty=5,
                       actor=SYSTEM)  # fmt: skip
    order_id = place(svc, "buy-1", ("SKU-A", 1))
    headers = sign_in(svc).headers
    with httpx.Client(base_url=live_server + API_PREFIX, headers=headers, timeout=30) as c:
        early = c.post(f"/orders/{order_id}/labels")
        assert early.status_code == 422 and "rate the order first" in early.json()["detail"]
        assert c.post(f"/orders/{order_id}/rates").status_code == 200
        bought = c.post(f"/orders/{order_id}/labels")
        assert bought.status_code == 200, bought.text
        packages = bought.json()
        again = c.post(f"/orders/{order_id}/labels")
        labels = [c.get(f"/packages/{p['id']}/label") for p in packages]
        voided = c.post(f"/packages/{packages[0]['id']}/void").json()
        after = c.get(f"/packages/{packages[0]['id']}/label")
    assert len(packages) == 1 and packages[0]["state"] == "bought"
    assert again.status_code == 422  # bought once; a second buy would pay twice
    for package, label in zip(packages, labels, strict=True):
        assert label.headers["content-type"] == "application/zpl"
        image = Image.open(io.BytesIO(render_png(label.content)))
        texts = [d.text for d in zxingcpp.read_barcodes(image)]
        assert package["tracking_number"] in texts  # the printed label scans back
    assert voided["state"] == "voided"
    assert after.status_code == 422  # a voided label is never printed again

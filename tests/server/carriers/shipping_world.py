"""Builders for shipping tests: services wired to the provider fakes (with webhook secrets), an
order packed in N boxes through real station events, labels bought and label-scanned."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.bootstrap import Services
from server.domain.actor import SYSTEM, Actor
from server.domain.orders import OrderState
from shared.contract.events import PackageLabelled, PackCompleted, PackedBox, new_event
from tests.fakes.shipstation_server import API_KEY
from tests.server.carriers.providers import Providers
from tests.server.conftest import Clock
from tests.server.shipping_services import services_with
from tests.server.world import build_world, place

EASYPOST_SECRET = "sécret"  # the fake's default (EasyPost normalises it NFKD)
SHIPPO_SECRET = "shippo-hook-secret"


def accounts(p: Providers, only: Sequence[str] = ("easypost", "shippo", "shipstation")) -> str:
    every = {
        "easypost": {"provider": "easypost", "name": "ep", "api_key": p.easypost.api_key,
                     "base_url": p.easypost.base_url, "webhook_secret": EASYPOST_SECRET},
        "shippo": {"provider": "shippo", "name": "sp", "api_key": p.shippo.api_key,
                   "base_url": p.shippo.base_url, "webhook_secret": SHIPPO_SECRET},
        "shipstation": {"provider": "shipstation", "name": "ss", "api_key": API_KEY,
                        "base_url": p.shipstation.base_url, "carrier_ids": ["se-100", "se-200"],
                        "jwks_url": p.shipstation.jwks_url},
    }  # fmt: skip
    return json.dumps([every[name] for name in only])


def shipping_services(
    p: Providers,
    *,
    db_url: str,
    clock: Clock,
    tmp_path: Path,
    only: Sequence[str] = ("easypost", "shippo", "shipstation"),
    **kw: Any,
) -> Services:
    return services_with(json.loads(accounts(p, only)), db_url=db_url, clock=clock,
                         tmp_path=tmp_path, **kw)  # fmt: skip


_benches: dict[int, Actor] = {}


def bench(svc: Services) -> Actor:
    """An enrolled packing bench (station events come from a station)."""
    if id(svc) not in _benches:
        code = svc.identity.issue_enrolment_code(station_name=f"bench-{id(svc)}", kind="bench",
                                                 actor=SYSTEM)  # fmt: skip
        _, station = svc.identity.enrol(code=code)
        _benches[id(svc)] = Actor(station.id, None, frozenset({"packer"}), "bench")
    return _benches[id(svc)]


def station_event(svc: Services, kind: str, order_id: int, payload: Any) -> str:
    event = new_event(kind=kind, order_id=order_id, at=datetime.now(UTC),  # type: ignore[arg-type]
                      payload=payload)  # fmt: skip
    out = svc.station_events.apply_one(event=event, actor=bench(svc))
    assert out.status == "applied", out
    return out.detail


def packed_order(svc: Services, ext: str, *, boxes: int = 1, qty: int = 2) -> int:
    """An order picked and packed into `boxes` boxes, the pack reported as the bench does."""
    if not svc.uow.read(lambda c: c.exec_driver_sql("SELECT count(*) FROM warehouse").scalar()):
        world = build_world(svc)
        svc.ledger.receive(sku_id=world.skus["SKU-A"], location_id=world.bins[0], qty=50,
                           actor=SYSTEM)  # fmt: skip
    oid = place(svc, ext, ("SKU-A", qty))
    svc.orders.transition(order_id=oid, target=OrderState.PICKING, evidence={"claim": "test"},
                          actor=SYSTEM)  # fmt: skip
    svc.orders.transition(order_id=oid, target=OrderState.PICKED, evidence={"pick": "test"},
                          actor=SYSTEM)  # fmt: skip
    pack = PackCompleted(boxes=[PackedBox(box_type="B1", units=1, measured_weight_g=900 + n)
                                for n in range(boxes)])  # fmt: skip
    station_event(svc, "pack_completed", oid, pack)
    return oid


def bought(svc: Services, order_id: int) -> list[dict[str, Any]]:
    svc.shipping_quotes.rate_order(order_id=order_id, shopper=svc.rate_shopper, currency="USD",
                                   actor=SYSTEM)  # fmt: skip
    return svc.labels.buy(order_id=order_id, carriers=svc.rate_shopper.carriers, currency="USD",
                          actor=SYSTEM)  # fmt: skip


def label_scanned(svc: Services, order_id: int, packages: list[dict[str, Any]]) -> None:
    """The packer scans each printed label onto its carton (the bench's station event)."""
    for p in packages:
        station_event(svc, "package_labelled", order_id,
                      PackageLabelled(package_id=p["id"], tracking_number=p["tracking_number"],
                                      scanned=p["tracking_number"]))  # fmt: skip

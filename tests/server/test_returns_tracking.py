"""A parcel found by the tracking number on its label: the order went out through a real label
purchase (the EasyPost fake over loopback) and the dispatch handover, then came back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.bootstrap import Services
from server.domain.actor import SYSTEM
from tests.server.carriers.providers import three_providers
from tests.server.carriers.shipping_world import (
    bought,
    label_scanned,
    packed_order,
    shipping_services,
)
from tests.server.conftest import Clock


@pytest.fixture
def svc(db_url: str, clock: Clock, tmp_path: Path) -> Iterator[Services]:
    with three_providers() as providers:
        services = shipping_services(
            providers, db_url=db_url, clock=clock, tmp_path=tmp_path, only=["easypost"]
        )
        yield services
        services.close()


def test_the_tracking_number_on_the_parcel_finds_its_open_rma(svc: Services) -> None:
    order_id = packed_order(svc, "TRK-1")
    packages = bought(svc, order_id)
    label_scanned(svc, order_id, packages)
    pickup = svc.custody.open_pickup(carrier=packages[0]["carrier"], actor=SYSTEM)
    svc.custody.handover(
        pickup_id=pickup["id"], scanned=packages[0]["tracking_number"], actor=SYSTEM
    )
    order = svc.orders.get(order_id=order_id)
    assert order.state == "handed_over"
    rma = svc.returns.issue(
        order_number=order.number, lines=[(1, 1)], reason="damaged in transit", actor=SYSTEM
    )
    found = svc.returns.lookup(code=packages[0]["tracking_number"])
    assert found["id"] == rma["id"] and found["order_number"] == order.number

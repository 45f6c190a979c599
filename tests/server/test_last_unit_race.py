"""The race for the last unit: exactly one winner, the losers in the conflict queue."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from server.bootstrap import Services
from server.domain.actor import SYSTEM
from tests.server.world import build_world, place


def _race(svc: Services, n: int, units: int) -> list[str]:
    world = build_world(svc, skus=("HOT",))
    svc.ledger.receive(sku_id=world.skus["HOT"], location_id=world.bins[0], qty=units, actor=SYSTEM)
    start = threading.Barrier(min(n, 32))

    def attempt(i: int) -> str:
        if i < 32:
            start.wait()  # all 32 leave the gate together, each on its own connection
        order_id = place(svc, f"race-{i}", ("HOT", 1))
        return svc.orders.get(order_id=order_id).state

    with ThreadPoolExecutor(max_workers=32) as pool:
        return list(pool.map(attempt, range(n)))


def test_32_racers_for_the_last_unit_one_wins(svc: Services) -> None:
    states = _race(svc, 32, 1)
    assert states.count("released") == 1
    assert states.count("on_hold") == 31
    conflicts = svc.exceptions.list(kind="stock_conflict")
    assert len(conflicts) == 31
    assert all(c.recommendation for c in conflicts)
    report = svc.ledger.reconcile()
    assert report.clean, report.drifts


def test_640_attempts_for_100_units_give_exactly_100(svc: Services) -> None:
    states = _race(svc, 640, 100)
    assert states.count("released") == 100
    assert states.count("on_hold") == 540
    assert len(svc.exceptions.list(kind="stock_conflict", limit=1000)) == 540
    report = svc.ledger.reconcile()
    assert report.clean, report.drifts


def test_opposite_line_orders_never_deadlock(
    svc: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """Two orders over the same two SKUs in opposite line order, 200 of them at once: no
    deadlock, not even one the unit of work quietly retried (ledger.md 7.4, item 3)."""
    world = build_world(svc)
    for code, where in (("SKU-A", 0), ("SKU-B", 1)):
        svc.ledger.receive(sku_id=world.skus[code], location_id=world.bins[where], qty=1000,
                           actor=SYSTEM)  # fmt: skip
    caplog.set_level(logging.INFO, logger="server.services.unit_of_work")

    def attempt(i: int) -> str:
        lines = (("SKU-A", 1), ("SKU-B", 1)) if i % 2 else (("SKU-B", 1), ("SKU-A", 1))
        return svc.orders.get(order_id=place(svc, f"dl-{i}", *lines)).state

    with ThreadPoolExecutor(max_workers=16) as pool:
        states = list(pool.map(attempt, range(200)))
    assert states.count("released") == 200
    retried = [r.getMessage() for r in caplog.records if "transient" in r.getMessage()]
    assert retried == [], retried[:3]
    assert svc.ledger.reconcile().clean

"""A Hypothesis state machine over receive / reserve / release / deduct / count with failures
injected in the middle of transactions: the ledger invariants hold after every step."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import event, func, select, text, update
from sqlalchemy.exc import DBAPIError

from server.bootstrap import Services
from server.db import tables as t
from server.domain.actor import SYSTEM
from server.domain.errors import DomainError
from server.domain.orders import OrderState
from tests.server.world import build_world, place


class InjectedFailure(Exception):
    """Raised from inside the database driver call, as a crash or a dropped link would be."""


@contextmanager
def fail_at_statement(svc: Services, n: int) -> Iterator[None]:
    seen = 0

    def before(*_: object) -> None:
        nonlocal seen
        seen += 1
        if seen == n:
            raise InjectedFailure(f"injected at statement {n}")

    event.listen(svc.db.writer, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(svc.db.writer, "before_cursor_execute", before)


def run_property_machine(svc: Services) -> None:
    world = build_world(svc, skus=("P-1", "P-2"), bins=2)
    sku_ids = list(world.skus.values())
    counter = iter(range(10**6))

    class Ledger(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.orders: list[int] = []

        @rule(
            sku=st.sampled_from(sku_ids),
            where=st.sampled_from(world.bins),
            qty=st.integers(1, 5),
            fail_at=st.none() | st.integers(1, 6),
        )
        def receive(self, sku: int, where: int, qty: int, fail_at: int | None) -> None:
            with maybe_fail(svc, fail_at), contextlib.suppress(InjectedFailure):
                svc.ledger.receive(sku_id=sku, location_id=where, qty=qty, actor=SYSTEM)

        @rule(
            code=st.sampled_from(["P-1", "P-2"]),
            qty=st.integers(1, 4),
            fail_at=st.none() | st.integers(1, 12),
        )
        def reserve(self, code: str, qty: int, fail_at: int | None) -> None:
            with maybe_fail(svc, fail_at), contextlib.suppress(InjectedFailure):
                self.orders.append(place(svc, f"o{next(counter)}", (code, qty)))

        @rule(data=st.data(), fail_at=st.none() | st.integers(1, 8))
        def release(self, data: st.DataObject, fail_at: int | None) -> None:
            if not self.orders:
                return
            oid = data.draw(st.sampled_from(self.orders))
            with maybe_fail(svc, fail_at), contextlib.suppress(InjectedFailure, DomainError):
                svc.orders.cancel(order_id=oid, reason="test", actor=SYSTEM)

        @rule(data=st.data())
        def deduct(self, data: st.DataObject) -> None:
            # Shipping: the reservation becomes a deduction (stock leaves to `shipped`).
            released = [
                o
                for o in self.orders
                if svc.orders.get(order_id=o).state == OrderState.RELEASED.value
            ]
            if not released:
                return
            oid = data.draw(st.sampled_from(released))
            ship(svc, oid)

        @rule(
            where=st.sampled_from(world.bins),
            sku=st.sampled_from(sku_ids),
            counted=st.integers(0, 12),
            fail_at=st.none() | st.integers(1, 10),
        )
        def count(self, where: int, sku: int, counted: int, fail_at: int | None) -> None:
            sl = t.stock_level
            row = svc.uow.read(
                lambda c: c.execute(
                    select(sl.c.id).where(sl.c.location_id == where, sl.c.sku_id == sku)
                ).scalar()
            )
            if row is None:
                return
            with maybe_fail(svc, fail_at), contextlib.suppress(InjectedFailure):
                svc.ledger.apply_count(
                    stock_level_id=row, counted=counted, expected_on_hand=None, actor=SYSTEM
                )

        @invariant()
        def counters_equal_the_ledger(self) -> None:
            report = svc.ledger.reconcile()
            assert report.clean, report.drifts

        @invariant()
        def reserved_within_on_hand(self) -> None:
            sl = t.stock_level
            bad = svc.uow.read(
                lambda c: c.execute(
                    select(func.count())
                    .select_from(sl)
                    .where(
                        (sl.c.reserved < 0) | (sl.c.reserved > sl.c.on_hand) | (sl.c.on_hand < 0)
                    )
                ).scalar()
            )
            assert bad == 0

    Ledger.TestCase.settings = settings(
        max_examples=12,
        stateful_step_count=15,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    Ledger.TestCase().runTest()


FLOOR = [
    ("picking", "claim"),
    ("picked", "pick"),
    ("packing", "pack_start"),
    ("packed", "pack"),
    ("labelled", "label_scan"),
    ("shipped", "custody_event"),
]


def ship(svc: Services, order_id: int) -> None:
    """Walk an order over the floor with evidence at each step; stock leaves at `shipped`."""
    for target, key in FLOOR:
        if target == "picking":
            svc.tasks.claim(order_id=order_id, actor=SYSTEM)
            continue
        svc.orders.transition(
            order_id=order_id,
            target=OrderState(target),
            evidence={key: {"test": True}},
            actor=SYSTEM,
        )


def maybe_fail(svc: Services, fail_at: int | None) -> contextlib.AbstractContextManager[None]:
    return fail_at_statement(svc, fail_at) if fail_at else contextlib.nullcontext()


def test_ledger_invariants_survive_random_operations_and_failures(svc: Services) -> None:
    run_property_machine(svc)


def test_movement_ledger_refuses_update_and_delete(svc: Services) -> None:
    world = build_world(svc, skus=("P-1",))
    svc.ledger.receive(sku_id=world.skus["P-1"], location_id=world.bins[0], qty=3, actor=SYSTEM)
    with pytest.raises(DBAPIError, match="append-only"):
        svc.uow.write(lambda c: c.execute(update(t.movement).values(qty=99)))
    with pytest.raises(DBAPIError, match="append-only"):
        svc.uow.write(lambda c: c.execute(text("DELETE FROM movement")))


def test_check_constraint_refuses_reserving_beyond_on_hand(svc: Services) -> None:
    world = build_world(svc, skus=("P-1",))
    sid = svc.ledger.receive(
        sku_id=world.skus["P-1"], location_id=world.bins[0], qty=2, actor=SYSTEM
    )
    sl = t.stock_level
    with pytest.raises(DBAPIError):
        svc.uow.write(lambda c: c.execute(update(sl).where(sl.c.id == sid).values(reserved=3)))
    assert svc.ledger.reconcile().clean

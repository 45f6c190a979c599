"""Mapping windows, evidence-gated transitions, edits and cancels, the exception queue,
four-eyes approvals and station identity — through the services on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.bootstrap import Services
from server.domain.actor import SYSTEM, Actor
from server.domain.address import Address
from server.domain.errors import (
    BarcodeConflict,
    InvalidBarcode,
    MissingEvidence,
    NotFound,
    OrderLocked,
    PayloadMismatch,
    SelfApproval,
    Unauthenticated,
)
from server.domain.orders import OrderState
from server.services.approvals import payload_hash
from server.services.catalog import BarcodeSpec
from tests.server.conftest import Clock
from tests.server.world import add_gtin, build_world, order, place


def test_old_and_new_barcode_overlap_then_old_is_refused(svc: Services, clock: Clock) -> None:
    w = build_world(svc)
    old = add_gtin(svc, w.skus["SKU-A"], "4006381333931")
    svc.catalog.add_barcode(
        sku_id=w.skus["SKU-A"], actor=SYSTEM, spec=BarcodeSpec(value="5012345678900", kind="gtin")
    )
    svc.catalog.end_barcode(barcode_id=old, valid_to=clock.now + timedelta(days=30), actor=SYSTEM)
    clock.advance(days=10)
    assert svc.catalog.resolve_barcode(value="4006381333931").sku_code == "SKU-A"
    assert svc.catalog.resolve_barcode(value="5012345678900").sku_code == "SKU-A"
    clock.advance(days=25)
    with pytest.raises(NotFound, match="stopped being valid"):
        svc.catalog.resolve_barcode(value="4006381333931")
    assert svc.catalog.resolve_barcode(value="5012345678900").sku_code == "SKU-A"


def test_overlapping_windows_of_one_barcode_on_two_skus_are_refused(
    svc: Services, clock: Clock
) -> None:
    w = build_world(svc)
    add_gtin(svc, w.skus["SKU-A"], "4006381333931")
    with pytest.raises(BarcodeConflict):
        add_gtin(svc, w.skus["SKU-B"], "4006381333931")
    # After the first window closes the value may move to another SKU.
    bid = svc.catalog.resolve_barcode(value="4006381333931").barcode_id
    svc.catalog.end_barcode(barcode_id=bid, valid_to=clock.now + timedelta(days=1), actor=SYSTEM)
    svc.catalog.add_barcode(
        sku_id=w.skus["SKU-B"],
        actor=SYSTEM,
        spec=BarcodeSpec(
            value="4006381333931", kind="gtin", valid_from=clock.now + timedelta(days=1)
        ),
    )
    clock.advance(days=2)
    assert svc.catalog.resolve_barcode(value="4006381333931").sku_code == "SKU-B"


def test_gtin_check_digits_are_validated(svc: Services) -> None:
    w = build_world(svc)
    with pytest.raises(InvalidBarcode, match="check digit"):
        add_gtin(svc, w.skus["SKU-A"], "4006381333932")
    case = svc.catalog.add_barcode(
        sku_id=w.skus["SKU-A"],
        actor=SYSTEM,
        spec=BarcodeSpec(value="15012345678907", kind="case", units=6),
    )
    assert case and svc.catalog.resolve_barcode(value="15012345678907").units == 6


def test_paid_is_not_ready_to_pick(svc: Services) -> None:
    w = build_world(svc)
    svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=5, actor=SYSTEM)
    oid = place(svc, "unpaid-1", ("SKU-A", 2), paid=False)
    view = svc.orders.get(order_id=oid)
    assert view.state == "allocated"
    assert [x.kind for x in svc.exceptions.list()] == ["payment_not_captured"]
    view = svc.orders.record_capture(
        order_id=oid,
        reference="psp-1",
        amount=view.lines[0].qty,
        currency="EUR",
        source="psp",
        actor=SYSTEM,
    )
    assert view.state == "released"
    evidence = view.transitions[-1]["evidence"]
    assert evidence["reservations"] and evidence["payment_capture"]["reference"] == "psp-1"
    assert svc.exceptions.list() == []


def test_transitions_without_evidence_are_refused(svc: Services) -> None:
    w = build_world(svc)
    svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=5, actor=SYSTEM)
    oid = place(svc, "ev-1", ("SKU-A", 1))
    svc.tasks.claim(order_id=oid, actor=SYSTEM)
    with pytest.raises(MissingEvidence):
        svc.orders.transition(order_id=oid, target=OrderState.PICKED, evidence={}, actor=SYSTEM)
    with pytest.raises(Exception, match="cannot become shipped"):
        svc.orders.transition(
            order_id=oid,
            target=OrderState.SHIPPED,
            evidence={"custody_event": {"x": 1}},
            actor=SYSTEM,
        )
    assert svc.orders.get(order_id=oid).state == "picking"


def test_cancel_before_picking_releases_and_after_is_refused(svc: Services) -> None:
    w = build_world(svc)
    sid = svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=3, actor=SYSTEM)
    first = place(svc, "c-1", ("SKU-A", 3))
    second = place(svc, "c-2", ("SKU-A", 1))
    assert svc.orders.get(order_id=second).state == "on_hold"
    svc.orders.cancel(order_id=first, reason="customer changed mind", actor=SYSTEM)
    conflict = svc.exceptions.list(kind="stock_conflict")[0]
    assert (
        svc.exceptions.resolve(exception_id=conflict.id, action="retry", data={}, actor=SYSTEM)[
            "order_state"
        ]
        == "released"
    )
    svc.tasks.claim(order_id=second, actor=SYSTEM)
    with pytest.raises(OrderLocked):
        svc.orders.cancel(order_id=second, reason="too late", actor=SYSTEM)
    with pytest.raises(OrderLocked):
        svc.orders.edit(order_id=second, actor=SYSTEM, address=None)
    assert svc.ledger.reconcile().clean and sid


def test_edit_before_picking_reallocates(svc: Services) -> None:
    w = build_world(svc)
    svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=3, actor=SYSTEM)
    svc.ledger.receive(sku_id=w.skus["SKU-B"], location_id=w.bins[1], qty=3, actor=SYSTEM)
    oid = place(svc, "e-1", ("SKU-A", 2))
    from decimal import Decimal

    from server.domain.intake import IncomingLine

    view = svc.orders.edit(
        order_id=oid, actor=SYSTEM, lines=(IncomingLine("SKU-B", 1, Decimal("1")),)
    )
    assert view.state == "accepted" and view.lines[0].reserved == 0
    svc.allocation.allocate(order_id=oid, actor=SYSTEM)
    view = svc.orders.get(order_id=oid)
    assert view.state == "released" and [x.listing_sku for x in view.lines] == ["SKU-B"]
    assert svc.ledger.reconcile().clean


def test_exception_queue_holds_and_resolves(svc: Services) -> None:
    w = build_world(svc)
    svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=3, actor=SYSTEM)
    abroad = Address("Ann", "1 Main St", "", "Boston", "MA", "02101", "US", "")
    result = svc.intake.ingest(
        channel_code="shop", actor=SYSTEM, order=order("x-1", ("LISTING-9", 1), address=abroad)
    )
    assert result.state == "on_hold"
    kinds = sorted(x.kind for x in svc.exceptions.list())
    assert kinds == ["missing_phone", "unmapped_sku"]
    by_kind = {x.kind: x for x in svc.exceptions.list()}
    svc.exceptions.resolve(
        exception_id=by_kind["unmapped_sku"].id,
        action="map_sku",
        data={"sku_id": w.skus["SKU-A"]},
        actor=SYSTEM,
    )
    assert svc.orders.get(order_id=result.order_id).state == "on_hold"  # phone still missing
    # Validation ran again: what is still wrong is in the queue, under a fresh entry.
    by_kind = {x.kind: x for x in svc.exceptions.list()}
    assert list(by_kind) == ["missing_phone"]
    out = svc.exceptions.resolve(
        exception_id=by_kind["missing_phone"].id,
        action="set_phone",
        data={"phone": "+1 617 555 0100"},
        actor=SYSTEM,
    )
    assert out["order_state"] == "released"


def test_large_count_needs_four_eyes_and_self_approval_is_refused(svc: Services) -> None:
    w = build_world(svc)
    sid = svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=30, actor=SYSTEM)
    a = svc.identity.create_operator(name="A", badge="BADGE-A", roles={"supervisor"}, actor=SYSTEM)
    b = svc.identity.create_operator(name="B", badge="BADGE-B", roles={"supervisor"}, actor=SYSTEM)
    alice = Actor(operator_id=a, roles=frozenset({"supervisor"}), name="A")
    bob = Actor(operator_id=b, roles=frozenset({"supervisor"}), name="B")
    small = svc.counts.count(stock_level_id=sid, counted=28, actor=alice)
    assert small.applied is not None and small.applied.after == 28
    big = svc.counts.count(stock_level_id=sid, counted=10, actor=alice)
    assert big.applied is None and big.approval is not None
    req = big.approval
    with pytest.raises(SelfApproval):
        svc.approvals.decide(
            approval_id=req.id,
            approve=True,
            reason="ok",
            seen_payload_hash=req.payload_hash,
            approver=alice,
        )
    tampered = payload_hash({**req.payload, "counted": 0})
    with pytest.raises(PayloadMismatch):
        svc.approvals.decide(
            approval_id=req.id, approve=True, reason="ok", seen_payload_hash=tampered, approver=bob
        )
    done = svc.approvals.decide(
        approval_id=req.id,
        approve=True,
        reason="recounted",
        seen_payload_hash=req.payload_hash,
        approver=bob,
    )
    assert done.state == "executed" and done.result and done.result["after"] == 10
    assert svc.ledger.reconcile().clean


def test_count_below_reserved_puts_the_order_in_the_conflict_queue(svc: Services) -> None:
    w = build_world(svc)
    sid = svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=4, actor=SYSTEM)
    keep = place(svc, "k-1", ("SKU-A", 2))
    lose = place(svc, "k-2", ("SKU-A", 2))
    result = svc.ledger.apply_count(
        stock_level_id=sid, counted=3, expected_on_hand=None, actor=SYSTEM
    )
    assert result.orders_on_hold == (lose,)
    assert svc.orders.get(order_id=keep).state == "released"
    assert svc.orders.get(order_id=lose).state == "on_hold"
    assert svc.ledger.reconcile().clean


def test_station_enrols_once_and_operators_sign_in_by_badge(svc: Services) -> None:
    svc.identity.create_operator(
        name="P", badge="BADGE-P", roles={"packer"}, pin="1234", actor=SYSTEM
    )
    code = svc.identity.issue_enrolment_code(station_name="Bench 9", kind="bench", actor=SYSTEM)
    token, station = svc.identity.enrol(code=code)
    with pytest.raises(Unauthenticated):
        svc.identity.enrol(code=code)
    assert svc.identity.station_for_token(token).id == station.id
    with pytest.raises(Unauthenticated):
        svc.identity.login(station_id=station.id, badge="BADGE-P", pin="9999")
    login = svc.identity.login(station_id=station.id, badge="BADGE-P", pin="1234")
    actor = svc.identity.authenticate(station_token=token, operator_token=login.token)
    assert actor.station_id == station.id and actor.roles == frozenset({"packer"})


def test_backorder_rule_waits_and_receipt_fills_it(svc: Services) -> None:
    from server.services.rules import RuleSpec

    w = build_world(svc)
    svc.rules.create(
        spec=RuleSpec(name="bo", strategy="first_expired", channel_code="shop", backorder=True),
        actor=SYSTEM,
    )
    oid = place(svc, "b-1", ("SKU-A", 2))
    assert svc.orders.get(order_id=oid).state == "backordered"
    svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=5, actor=SYSTEM)
    assert svc.allocation.waiting_for(sku_id=w.skus["SKU-A"]) == [oid]
    svc.allocation.allocate(order_id=oid, actor=SYSTEM)
    assert svc.orders.get(order_id=oid).state == "released"


def test_stations_get_supervisor_badge_digests_not_badges(svc: Services) -> None:
    import hashlib

    svc.identity.create_operator(name="S", badge="BADGE-S1", roles={"supervisor"}, actor=SYSTEM)
    svc.identity.create_operator(name="P", badge="BADGE-P1", roles={"packer"}, actor=SYSTEM)
    digests = svc.identity.supervisor_badge_digests()
    assert digests == [hashlib.sha256(b"BADGE-S1").hexdigest()]


def test_a_bench_resumes_its_own_order_and_others_cannot_take_it(svc: Services) -> None:
    w = build_world(svc)
    svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=5, actor=SYSTEM)
    oid = place(svc, "res-1", ("SKU-A", 1))
    other = place(svc, "res-2", ("SKU-A", 1))
    bench_a, bench_b = Actor(station_id=None), Actor(station_id=None)
    code_a = svc.identity.issue_enrolment_code(station_name="A", kind="bench", actor=SYSTEM)
    code_b = svc.identity.issue_enrolment_code(station_name="B", kind="bench", actor=SYSTEM)
    bench_a = Actor(station_id=svc.identity.enrol(code=code_a)[1].id)
    bench_b = Actor(station_id=svc.identity.enrol(code=code_b)[1].id)
    svc.tasks.claim(order_id=oid, actor=bench_a)
    # After a restart bench A sees its own order first, and claiming it again resumes it.
    assert [x.order_id for x in svc.tasks.open_tasks(station_id=bench_a.station_id)] == [oid, other]
    assert svc.tasks.claim(order_id=oid, actor=bench_a).state == "picking"
    assert [x.order_id for x in svc.tasks.open_tasks(station_id=bench_b.station_id)] == [other]
    with pytest.raises(Exception, match="cannot become picking"):
        svc.tasks.claim(order_id=oid, actor=bench_b)

"""Returns through the real services and the real ledger, on SQLite and PostgreSQL: units go into
quarantine (never available), nothing goes back to stock without a recorded triage decision,
wrong items are flagged and recorded, high-value restocks need a second person, replays land
once, and the books still reconcile."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import select

from server.bootstrap import Services
from server.db import returns_tables as rt
from server.db import tables as t
from server.domain.actor import SYSTEM
from server.domain.errors import (
    IdempotencyMismatch,
    NotFound,
    SelfApproval,
    ValidationFailed,
)
from server.services.approvals import payload_hash
from server.services.returns import Received, UnitReceipt
from tests.server.http import count_rows
from tests.server.returns_world import (
    GTIN_A,
    GTIN_B,
    GTIN_C,
    NOT_IN_CATALOG,
    Desk,
    movements,
    on_hand,
    returns_world,
    shipped_order,
    unit,
    virtual_id,
)
from tests.server.world import place


@pytest.fixture
def desk(svc: Services) -> Desk:
    return returns_world(svc)


def rma_for(svc: Services, desk: Desk, ext: str, *lines: tuple[str, int], price: str = "10.00"):
    _, number = shipped_order(svc, desk, ext, *lines, price=price)
    return svc.returns.issue(
        order_number=number,
        lines=[(n, q) for n, (_, q) in enumerate(lines, start=1)],
        reason="customer changed their mind",
        actor=desk.clerk,
    )


def triage(svc: Services, desk: Desk, unit_id: int, decision: str, bin_code: str | None = None):
    return svc.returns.triage(
        unit_id=unit_id,
        decision=decision,
        bin_code=bin_code,
        note="",
        key=str(uuid.uuid4()),
        actor=desk.clerk,
    )


def assert_not_available(svc: Services, ext: str) -> None:
    """A new order for the SKU cannot take the quarantined unit: it waits for stock."""
    order = svc.orders.get(order_id=place(svc, ext, ("SKU-A", 1)))
    assert order.state == "on_hold" and order.lines[0].reserved == 0
    [why] = [x for x in svc.exceptions.list() if x.order_id == order.id]
    assert why.kind == "stock_conflict"


def test_a_received_unit_sits_in_quarantine_and_is_not_available(svc: Services, desk: Desk) -> None:
    sku = desk.world.skus["SKU-A"]
    rma = rma_for(svc, desk, "R-1", ("SKU-A", 2))
    assert rma["number"].startswith("RMA") and rma["state"] == "open"
    assert on_hand(svc, location_id=desk.world.bins[0], sku_id=sku) == 0  # all shipped

    got = svc.returns.receive(rma_id=rma["id"], receipt=unit(GTIN_A), actor=desk.clerk)

    assert not got.replayed
    assert got.unit["flag"] is None and got.unit["line_no"] == 1
    assert got.unit["state"] == "quarantined" and got.unit["location"] == "Q-01"
    assert got.unit["refund"] == "triggered"  # an ordinary return refunds on receipt
    assert on_hand(svc, location_id=desk.quarantine[0], sku_id=sku) == 1
    assert movements(svc, sku_id=sku)[-1] == ("SHIPPED", "Q-01", "return", 1)
    # Quarantine is never sellable: a new order for the SKU waits instead of taking the unit.
    assert_not_available(svc, "NEW-1")
    assert svc.returns.get(rma_id=rma["id"])["state"] == "receiving"
    assert svc.ledger.reconcile().clean


def test_nothing_goes_back_to_stock_without_a_recorded_triage(svc: Services, desk: Desk) -> None:
    sku = desk.world.skus["SKU-A"]
    rma = rma_for(svc, desk, "R-2", ("SKU-A", 1))
    u = svc.returns.receive(rma_id=rma["id"], receipt=unit(GTIN_A), actor=desk.clerk).unit
    assert_not_available(svc, "NEW-2")
    assert svc.returns.get(rma_id=rma["id"])["state"] == "received"  # all in, triage open

    with pytest.raises(ValidationFailed, match="not a bin"):
        triage(svc, desk, u["id"], "restock", "Q-02")  # quarantine is not a shelf
    with pytest.raises(ValidationFailed, match="needs the bin"):
        triage(svc, desk, u["id"], "restock")
    out = triage(svc, desk, u["id"], "restock", "A-01")

    assert out == {
        "unit_id": u["id"],
        "state": "restocked",
        "decision": "restock",
        "location": "A-01",
        "approval_id": None,
    }
    assert on_hand(svc, location_id=desk.quarantine[0], sku_id=sku) == 0
    assert on_hand(svc, location_id=desk.world.bins[1], sku_id=sku) == 1
    assert movements(svc, sku_id=sku)[-1] == ("Q-01", "A-01", "triage", 1)
    recorded = svc.uow.read(lambda c: c.execute(select(rt.return_triage)).one())
    assert (recorded.decision, recorded.decided_by) == ("restock", desk.clerk.operator_id)
    with pytest.raises(ValidationFailed, match="already triaged"):
        triage(svc, desk, u["id"], "scrap")
    assert svc.returns.get(rma_id=rma["id"])["state"] == "closed"
    # Back on a shelf, the unit can now be promised.
    promised = svc.orders.get(order_id=place(svc, "NEW-2b", ("SKU-A", 1)))
    assert promised.state == "released" and promised.lines[0].reserved == 1
    assert svc.ledger.reconcile().clean


def test_damaged_scrap_and_vendor_are_movements_and_damaged_units_never_restock(
    svc: Services, desk: Desk
) -> None:
    sku = desk.world.skus["SKU-A"]
    rma = rma_for(svc, desk, "R-3", ("SKU-A", 3))
    units = [
        svc.returns.receive(
            rma_id=rma["id"], receipt=unit(GTIN_A, condition=c), actor=desk.clerk
        ).unit
        for c in ("damaged", "opened", "missing_parts")
    ]
    with pytest.raises(ValidationFailed, match="damaged cannot go back to stock"):
        triage(svc, desk, units[0]["id"], "restock", "A-01")
    with pytest.raises(ValidationFailed, match="takes no bin"):
        triage(svc, desk, units[1]["id"], "scrap", "A-01")

    assert triage(svc, desk, units[0]["id"], "damaged")["location"] == "DAMAGED"
    assert triage(svc, desk, units[1]["id"], "scrap")["state"] == "scrapped"
    assert triage(svc, desk, units[2]["id"], "vendor")["state"] == "vendor"

    assert on_hand(svc, location_id=desk.quarantine[0], sku_id=sku) == 0
    assert on_hand(svc, location_id=virtual_id(svc, "DAMAGED"), sku_id=sku) == 1
    assert movements(svc, sku_id=sku)[-3:] == [
        ("Q-01", "DAMAGED", "triage", 1),
        ("Q-01", "ADJUSTMENT-LOSS", "scrap", 1),
        ("Q-01", "VENDOR", "triage", 1),
    ]
    assert svc.ledger.reconcile().clean


def test_items_not_on_the_order_are_flagged_recorded_and_never_refunded(
    svc: Services, desk: Desk
) -> None:
    rma = rma_for(svc, desk, "R-4", ("SKU-A", 1), ("SKU-B", 1))
    not_ordered = svc.returns.receive(rma_id=rma["id"], receipt=unit(GTIN_C), actor=desk.clerk)
    first_a = svc.returns.receive(rma_id=rma["id"], receipt=unit(GTIN_A), actor=desk.clerk)
    extra_a = svc.returns.receive(rma_id=rma["id"], receipt=unit(GTIN_A), actor=desk.clerk)
    unknown = svc.returns.receive(rma_id=rma["id"], receipt=unit(NOT_IN_CATALOG), actor=desk.clerk)

    assert not_ordered.unit["flag"] == "not_on_order" and not_ordered.unit["refund"] is None
    assert first_a.unit["flag"] is None and first_a.unit["refund"] == "triggered"
    assert extra_a.unit["flag"] == "not_authorised" and extra_a.unit["refund"] is None
    assert unknown.unit["flag"] == "unknown_item" and unknown.unit["sku"] is None
    # The wrong item is on the books in quarantine, as found stock (not as a customer return).
    sku_c = desk.world.skus["SKU-C"]
    assert movements(svc, sku_id=sku_c) == [("ADJUSTMENT-GAIN", "Q-01", "return", 1)]
    assert on_hand(svc, location_id=desk.quarantine[0], sku_id=sku_c) == 1
    flagged = svc.returns.units(flagged=True)
    assert [x["flag"] for x in flagged] == ["not_on_order", "not_authorised", "unknown_item"]
    audit = svc.uow.read(
        lambda c: (
            c.execute(
                select(t.audit.c.action)
                .where(t.audit.c.entity == "return_unit")
                .order_by(t.audit.c.id)
            )
            .scalars()
            .all()
        )
    )
    assert audit == ["flag", "receive", "flag", "flag"]
    refunds = svc.returns.refunds(rma_id=rma["id"])
    assert [(r["unit_id"], r["amount"]) for r in refunds] == [(first_a.unit["id"], Decimal("10"))]
    # An item the catalog never had is not on the books: only scrap or vendor, no movement.
    with pytest.raises(ValidationFailed, match="not in the catalog"):
        triage(svc, desk, unknown.unit["id"], "restock", "A-01")
    moves_before = count_rows(svc, "movement")
    assert triage(svc, desk, unknown.unit["id"], "vendor")["state"] == "vendor"
    assert count_rows(svc, "movement") == moves_before
    assert svc.returns.get(rma_id=rma["id"])["state"] == "receiving"  # SKU-B never came
    assert svc.ledger.reconcile().clean


def test_bad_receipts_are_refused_and_leave_nothing(svc: Services, desk: Desk) -> None:
    rma = rma_for(svc, desk, "R-5", ("SKU-A", 1))
    before = (count_rows(svc, "return_unit"), count_rows(svc, "movement"))
    with pytest.raises(ValidationFailed, match="not a quarantine bin"):
        svc.returns.receive(rma_id=rma["id"], receipt=unit(GTIN_A, bin="A-01"), actor=desk.clerk)
    with pytest.raises(NotFound, match="no bin Q-99"):
        svc.returns.receive(rma_id=rma["id"], receipt=unit(GTIN_A, bin="Q-99"), actor=desk.clerk)
    with pytest.raises(ValidationFailed, match="not a condition"):
        svc.returns.receive(
            rma_id=rma["id"], receipt=unit(GTIN_A, condition="meh"), actor=desk.clerk
        )
    with pytest.raises(NotFound):
        svc.returns.receive(rma_id=999_999, receipt=unit(GTIN_A), actor=desk.clerk)
    assert (count_rows(svc, "return_unit"), count_rows(svc, "movement")) == before


def test_every_replay_lands_once_and_a_reused_key_with_another_body_is_refused(
    svc: Services, desk: Desk
) -> None:
    sku = desk.world.skus["SKU-A"]
    _, number = shipped_order(svc, desk, "R-6", ("SKU-A", 2))
    issue = {
        "order_number": number,
        "lines": [(1, 2)],
        "reason": "faulty",
        "actor": desk.clerk,
        "key": "rma-key-0001",
    }
    rma = svc.returns.issue(**issue)
    assert svc.returns.issue(**issue)["id"] == rma["id"]
    assert count_rows(svc, "rma") == 1
    with pytest.raises(IdempotencyMismatch):
        svc.returns.issue(**{**issue, "reason": "something else"})

    receipt = unit(GTIN_A)
    first = svc.returns.receive(rma_id=rma["id"], receipt=receipt, actor=desk.clerk)
    again = svc.returns.receive(rma_id=rma["id"], receipt=receipt, actor=desk.clerk)
    assert again.replayed and again.unit["id"] == first.unit["id"]
    assert count_rows(svc, "return_unit") == 1 and count_rows(svc, "refund_trigger") == 1
    assert on_hand(svc, location_id=desk.quarantine[0], sku_id=sku) == 1
    with pytest.raises(IdempotencyMismatch):
        svc.returns.receive(
            rma_id=rma["id"], receipt=replace(receipt, bin="Q-02"), actor=desk.clerk
        )

    key = str(uuid.uuid4())
    kw = {
        "unit_id": first.unit["id"],
        "decision": "restock",
        "bin_code": "A-01",
        "note": "",
        "key": key,
        "actor": desk.clerk,
    }
    assert svc.returns.triage(**kw) == svc.returns.triage(**kw)
    assert movements(svc, sku_id=sku).count(("Q-01", "A-01", "triage", 1)) == 1
    with pytest.raises(IdempotencyMismatch):
        svc.returns.triage(**{**kw, "decision": "scrap", "bin_code": None})
    assert svc.ledger.reconcile().clean


def test_authorisation_follows_the_order(svc: Services, desk: Desk) -> None:
    oid, number = shipped_order(svc, desk, "R-7", ("SKU-A", 2), ("SKU-B", 1))
    svc.returns.issue(order_number=number, lines=[(1, 1)], reason="a", actor=desk.clerk)
    with pytest.raises(ValidationFailed, match="only 1 left"):
        svc.returns.issue(order_number=number, lines=[(1, 2)], reason="b", actor=desk.clerk)
    with pytest.raises(ValidationFailed, match="no line 9"):
        svc.returns.issue(order_number=number, lines=[(9, 1)], reason="b", actor=desk.clerk)
    with pytest.raises(ValidationFailed, match="listed twice"):
        svc.returns.issue(order_number=number, lines=[(2, 1), (2, 1)], reason="b", actor=desk.clerk)
    with pytest.raises(ValidationFailed, match="needs a reason"):
        svc.returns.issue(order_number=number, lines=[(2, 1)], reason=" ", actor=desk.clerk)
    with pytest.raises(NotFound):
        svc.returns.issue(order_number="PL9999999", lines=[(1, 1)], reason="b", actor=desk.clerk)
    svc.ledger.receive(
        sku_id=desk.world.skus["SKU-A"], location_id=desk.world.bins[0], qty=1, actor=SYSTEM
    )
    unshipped = place(svc, "R-7b", ("SKU-A", 1))
    with pytest.raises(ValidationFailed, match="left the warehouse"):
        svc.returns.issue(
            order_number=svc.orders.get(order_id=unshipped).number,
            lines=[(1, 1)],
            reason="b",
            actor=desk.clerk,
        )
    # Two open RMAs on one order: the order number no longer names one, the RMA number does.
    second = svc.returns.issue(order_number=number, lines=[(2, 1)], reason="c", actor=desk.clerk)
    with pytest.raises(ValidationFailed, match="2 open RMAs"):
        svc.returns.lookup(code=number)
    assert svc.returns.lookup(code=second["number"])["id"] == second["id"]
    assert svc.returns.get(rma_id=second["id"])["order_id"] == oid


def test_lookup_by_rma_and_order_number_gives_what_the_desk_checks(
    svc: Services, desk: Desk
) -> None:
    rma = rma_for(svc, desk, "R-8", ("SKU-A", 2))
    for code in (rma["number"], rma["order_number"], f"  {rma['number']}  "):
        found = svc.returns.lookup(code=code)
        assert found["id"] == rma["id"]
    [line] = found["lines"]
    assert (line["sku"], line["qty"], line["received"]) == ("SKU-A", 2, 0)
    assert {"value": GTIN_A, "units": 1} in line["barcodes"]
    with pytest.raises(NotFound, match="no RMA, order or parcel"):
        svc.returns.lookup(code="1Z999AA10123456784")
    with pytest.raises(NotFound):
        svc.returns.lookup(code="RMA0999999")


def test_a_gtin14_scan_finds_the_catalogs_ean13_and_a_case_is_refused(
    svc: Services, desk: Desk
) -> None:
    from server.services.catalog import BarcodeSpec

    rma = rma_for(svc, desk, "R-9", ("SKU-B", 1))
    svc.catalog.add_barcode(
        sku_id=desk.world.skus["SKU-B"],
        actor=SYSTEM,
        spec=BarcodeSpec(value="CASE-B6", kind="case", units=6),
    )
    with pytest.raises(ValidationFailed, match="case barcode"):
        svc.returns.receive(rma_id=rma["id"], receipt=unit("CASE-B6"), actor=desk.clerk)
    got = svc.returns.receive(rma_id=rma["id"], receipt=unit("0" + GTIN_B), actor=desk.clerk)
    assert got.unit["sku"] == "SKU-B" and got.unit["flag"] is None


def test_high_value_restock_needs_a_second_person_and_leaves_the_refund_to_its_own_approval(
    svc: Services, desk: Desk
) -> None:
    sku = desk.world.skus["SKU-A"]
    rma = rma_for(svc, desk, "R-10", ("SKU-A", 1), price="900.00")
    u = svc.returns.receive(rma_id=rma["id"], receipt=unit(GTIN_A), actor=desk.clerk).unit
    assert u["refund"] == "awaiting_approval"  # high value: no refund until approved

    key = str(uuid.uuid4())
    asked = svc.returns.triage(
        unit_id=u["id"], decision="restock", bin_code="A-01", note="ok", key=key, actor=desk.clerk
    )
    assert asked["state"] == "awaiting_approval" and asked["approval_id"] is not None
    assert on_hand(svc, location_id=desk.world.bins[1], sku_id=sku) == 0  # nothing moved yet
    # A retry (even with a fresh key) joins the waiting request instead of asking twice.
    retry = svc.returns.triage(
        unit_id=u["id"],
        decision="restock",
        bin_code="A-01",
        note="ok",
        key=str(uuid.uuid4()),
        actor=desk.clerk,
    )
    assert retry["approval_id"] == asked["approval_id"]
    pending = [a.operation for a in svc.approvals.list_pending()]
    assert sorted(pending) == ["refund_high_value_return", "restock_high_value_return"]
    with pytest.raises(ValidationFailed, match="already waits"):
        triage(svc, desk, u["id"], "restock", "A-00")

    approval = svc.approvals.get(approval_id=asked["approval_id"])
    assert approval.operation == "restock_high_value_return"
    with pytest.raises(SelfApproval):
        svc.approvals.decide(
            approval_id=approval.id,
            approve=True,
            reason="mine",
            seen_payload_hash=approval.payload_hash,
            approver=replace(desk.clerk, roles=frozenset({"supervisor"})),
        )
    assert on_hand(svc, location_id=desk.world.bins[1], sku_id=sku) == 0

    done = svc.approvals.decide(
        approval_id=approval.id,
        approve=True,
        reason="checked it",
        seen_payload_hash=payload_hash(approval.payload),
        approver=desk.supervisor,
    )
    assert done.state == "executed" and done.result is not None
    assert done.result["state"] == "restocked"
    assert on_hand(svc, location_id=desk.world.bins[1], sku_id=sku) == 1
    assert on_hand(svc, location_id=desk.quarantine[0], sku_id=sku) == 0
    recorded = svc.uow.read(lambda c: c.execute(select(rt.return_triage)).one())
    assert (recorded.approval_id, recorded.requested_by, recorded.decided_by) == (
        approval.id,
        desk.clerk.operator_id,
        desk.supervisor.operator_id,
    )
    [refund] = svc.returns.refunds(rma_id=rma["id"])
    # The shelf's approval is not the money's: the refund still waits for its own request.
    assert refund["state"] == "awaiting_approval"
    assert refund["approval_id"] not in (None, approval.id)
    assert svc.approvals.get(approval_id=refund["approval_id"]).state == "pending"
    assert svc.ledger.reconcile().clean


def test_a_refused_high_value_restock_leaves_the_unit_in_quarantine(
    svc: Services, desk: Desk
) -> None:
    sku = desk.world.skus["SKU-A"]
    rma = rma_for(svc, desk, "R-11", ("SKU-A", 1), price="900.00")
    u = svc.returns.receive(rma_id=rma["id"], receipt=unit(GTIN_A), actor=desk.clerk).unit
    asked = triage(svc, desk, u["id"], "restock", "A-01")
    approval = svc.approvals.get(approval_id=asked["approval_id"])
    svc.approvals.decide(
        approval_id=approval.id,
        approve=False,
        reason="scratched",
        seen_payload_hash=approval.payload_hash,
        approver=desk.supervisor,
    )
    assert svc.returns.unit(unit_id=u["id"])["state"] == "quarantined"
    assert on_hand(svc, location_id=desk.quarantine[0], sku_id=sku) == 1
    # The clerk decides otherwise; a damaged decision needs no second person.
    assert triage(svc, desk, u["id"], "damaged")["state"] == "damaged"
    assert svc.ledger.reconcile().clean


def test_a_lot_tracked_unit_without_its_lot_cannot_be_restocked(svc: Services, desk: Desk) -> None:
    from server.services.catalog import SkuSpec

    rma = rma_for(svc, desk, "R-12", ("SKU-A", 3))
    # Not lot-tracked yet: a lot on the barcode is evidence, the books keep no lot for it.
    plain = svc.returns.receive(
        rma_id=rma["id"], receipt=unit(GTIN_A, lot="L0", bin="Q-02"), actor=desk.clerk
    ).unit
    assert plain["lot"] == ""
    svc.catalog.upsert_sku(
        spec=SkuSpec(
            code="SKU-A",
            name="SKU-A",
            weight_g=100,
            length_mm=10,
            width_mm=10,
            height_mm=10,
            unit_value=Decimal("5"),
            track_lot=True,
        ),
        actor=SYSTEM,
    )
    bare = svc.returns.receive(rma_id=rma["id"], receipt=unit(GTIN_A), actor=desk.clerk).unit
    with_lot = svc.returns.receive(
        rma_id=rma["id"], receipt=unit(GTIN_A, lot="L7"), actor=desk.clerk
    ).unit
    with pytest.raises(ValidationFailed, match="lot of this unit is unknown"):
        triage(svc, desk, bare["id"], "restock", "A-01")
    assert triage(svc, desk, with_lot["id"], "restock", "A-01")["state"] == "restocked"
    sl = t.stock_level
    lots = svc.uow.read(
        lambda c: c.execute(
            select(sl.c.lot, sl.c.on_hand).where(sl.c.location_id == desk.world.bins[1])
        ).all()
    )
    assert [(x.lot, x.on_hand) for x in lots] == [("L7", 1)]
    quarantined = svc.uow.read(
        lambda c: c.execute(
            select(sl.c.lot, sl.c.on_hand).where(sl.c.location_id == desk.quarantine[1])
        ).all()
    )
    assert [(x.lot, x.on_hand) for x in quarantined] == [("", 1)]
    assert svc.ledger.reconcile().clean


def test_desks_racing_for_the_last_authorised_unit_and_for_one_key(
    svc: Services, desk: Desk
) -> None:
    """Eight desks send a unit against a one-unit RMA at once, and eight retries of one receipt
    arrive together: one unit counts, the rest are flagged; the retried receipt lands once."""
    rma = rma_for(svc, desk, "R-13", ("SKU-A", 1))
    gate = threading.Barrier(8)

    def racer(receipt: UnitReceipt) -> Received:
        gate.wait()
        return svc.returns.receive(rma_id=rma["id"], receipt=receipt, actor=desk.clerk)

    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(racer, [unit(GTIN_A) for _ in range(8)]))
    assert sorted(str(g.unit["flag"]) for g in got) == ["None"] + ["not_authorised"] * 7
    assert count_rows(svc, "refund_trigger") == 1

    same = unit(GTIN_A, bin="Q-02")
    with ThreadPoolExecutor(max_workers=8) as pool:
        again = list(pool.map(racer, [same] * 8))
    assert len({g.unit["id"] for g in again}) == 1
    assert sum(not g.replayed for g in again) == 1
    assert on_hand(svc, location_id=desk.quarantine[1], sku_id=desk.world.skus["SKU-A"]) == 1
    assert svc.ledger.reconcile().clean

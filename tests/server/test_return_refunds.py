"""High-value refunds and restocks offered to waiting orders, through the real services on SQLite
and PostgreSQL: a refund above the threshold is released by its own four-eyes approval whatever
triage decides, never by the person who asked, once only; a refused one stays unrefunded; and a
restocked unit fills a backordered order the way a stock receipt does."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import select

from server.bootstrap import Services
from server.db import tables as t
from server.domain.actor import SYSTEM
from server.domain.errors import ApprovalStateError, Forbidden, SelfApproval
from server.services.approvals import ApprovalView
from server.services.rules import RuleSpec
from tests.server.http import count_rows
from tests.server.returns_world import GTIN_A, Desk, returns_world, shipped_order, unit
from tests.server.world import place


@pytest.fixture
def desk(svc: Services) -> Desk:
    return returns_world(svc)


def received(svc: Services, desk: Desk, ext: str, *, price: str, condition: str = "sellable"):
    _, number = shipped_order(svc, desk, ext, ("SKU-A", 1), price=price)
    rma = svc.returns.issue(order_number=number, lines=[(1, 1)], reason="x", actor=desk.clerk)
    got = svc.returns.receive(
        rma_id=rma["id"], receipt=unit(GTIN_A, condition=condition), actor=desk.clerk
    )
    return rma, got.unit


def refund_of(svc: Services, rma: dict) -> dict:
    [refund] = svc.returns.refunds(rma_id=rma["id"])
    return refund


def refund_request(svc: Services, rma: dict) -> ApprovalView:
    return svc.approvals.get(approval_id=refund_of(svc, rma)["approval_id"])


def decide(svc: Services, approval: ApprovalView, *, approve: bool, approver) -> ApprovalView:
    return svc.approvals.decide(
        approval_id=approval.id,
        approve=approve,
        reason="looked at it",
        seen_payload_hash=approval.payload_hash,
        approver=approver,
    )


def triage(svc: Services, desk: Desk, unit_id: int, decision: str, bin_code: str | None = None):
    return svc.returns.triage(unit_id=unit_id, decision=decision, bin_code=bin_code, note="",
                              key=str(uuid.uuid4()), actor=desk.clerk)  # fmt: skip


def refund_audit(svc: Services) -> list[str]:
    a = t.audit
    return list(
        svc.uow.read(
            lambda c: (
                c.execute(select(a.c.action).where(a.c.entity == "refund_trigger").order_by(a.c.id))
                .scalars()
                .all()
            )
        )
    )


def test_a_high_value_refund_is_asked_for_at_receipt_with_words_for_the_approver(
    svc: Services, desk: Desk
) -> None:
    rma, u = received(svc, desk, "HV-1", price="900.00")
    assert u["refund"] == "awaiting_approval"
    asked = refund_request(svc, rma)
    assert (asked.operation, asked.state, asked.requested_by) == (
        "refund_high_value_return",
        "pending",
        desk.clerk.operator_id,
    )
    assert asked.payload["unit_id"] == u["id"] and Decimal(asked.payload["amount"]) == 900
    assert (
        asked.words.startswith("Refund 900") and f"{rma['number']}, unit {u['id']}" in asked.words
    )
    # An ordinary return refunds on receipt and asks nobody.
    small, v = received(svc, desk, "HV-2", price="10.00")
    assert v["refund"] == "triggered" and refund_of(svc, small)["approval_id"] is None
    assert [a.operation for a in svc.approvals.list_pending()] == ["refund_high_value_return"]


def test_the_clerk_who_received_it_cannot_release_the_refund(svc: Services, desk: Desk) -> None:
    rma, _ = received(svc, desk, "HV-3", price="900.00")
    asked = refund_request(svc, rma)
    with pytest.raises(SelfApproval):
        decide(svc, asked, approve=True,
               approver=replace(desk.clerk, roles=frozenset({"supervisor"})))  # fmt: skip
    with pytest.raises(Forbidden, match="only supervisor"):
        decide(svc, asked, approve=True, approver=replace(desk.clerk, operator_id=10**6))
    assert refund_of(svc, rma)["state"] == "awaiting_approval"
    assert svc.approvals.get(approval_id=asked.id).state == "pending"


def test_an_approved_refund_is_recorded_once_whatever_triage_decided(
    svc: Services, desk: Desk
) -> None:
    rma, u = received(svc, desk, "HV-4", price="900.00", condition="damaged")
    assert triage(svc, desk, u["id"], "scrap")["state"] == "scrapped"  # no restock, ever
    asked = refund_request(svc, rma)

    done = decide(svc, asked, approve=True, approver=desk.supervisor)

    assert done.state == "executed" and done.result is not None
    assert done.result["state"] == "triggered" and Decimal(done.result["amount"]) == 900
    refund = refund_of(svc, rma)
    assert (refund["state"], refund["approval_id"]) == ("triggered", asked.id)
    with pytest.raises(ApprovalStateError):  # the same approval cannot pay twice
        decide(svc, asked, approve=True, approver=desk.supervisor)
    assert count_rows(svc, "refund_trigger") == 1 and refund_audit(svc) == ["trigger"]
    row = svc.uow.read(lambda c: c.execute(select(t.approval_request)).one())
    assert row.decided_by == desk.supervisor.operator_id
    assert svc.returns.unit(unit_id=u["id"])["refund"] == "triggered"


def test_a_refused_refund_stays_unrefunded_and_a_restock_approval_does_not_pay_it(
    svc: Services, desk: Desk
) -> None:
    rma, u = received(svc, desk, "HV-5", price="900.00")
    decide(svc, refund_request(svc, rma), approve=False, approver=desk.supervisor)
    asked = triage(svc, desk, u["id"], "restock", "A-01")
    decide(svc, svc.approvals.get(approval_id=asked["approval_id"]), approve=True,
           approver=desk.supervisor)  # fmt: skip

    assert svc.returns.unit(unit_id=u["id"])["state"] == "restocked"
    refund = refund_of(svc, rma)
    assert refund["state"] == "awaiting_approval"
    assert svc.approvals.get(approval_id=refund["approval_id"]).state == "refused"
    assert refund_audit(svc) == []
    assert svc.ledger.reconcile().clean


def test_a_restocked_return_fills_a_backordered_order(svc: Services, desk: Desk) -> None:
    svc.rules.create(
        spec=RuleSpec(name="bo", strategy="first_expired", channel_code="shop", backorder=True),
        actor=SYSTEM,
    )
    _, u = received(svc, desk, "BO-1", price="10.00")
    _, big = received(svc, desk, "BO-2", price="900.00")
    first = place(svc, "BO-W1", ("SKU-A", 1))
    second = place(svc, "BO-W2", ("SKU-A", 1))
    assert [svc.orders.get(order_id=o).state for o in (first, second)] == ["backordered"] * 2

    triage(svc, desk, u["id"], "restock", "A-01")
    # The oldest waiting order takes the unit; the other still waits for stock.
    assert svc.orders.get(order_id=first).state == "released"
    assert svc.orders.get(order_id=second).state == "backordered"

    # A high-value restock offers the unit once its approval has put it on the shelf.
    asked = triage(svc, desk, big["id"], "restock", "A-01")
    assert svc.orders.get(order_id=second).state == "backordered"
    decide(svc, svc.approvals.get(approval_id=asked["approval_id"]), approve=True,
           approver=desk.supervisor)  # fmt: skip
    assert svc.orders.get(order_id=second).state == "released"
    assert svc.ledger.reconcile().clean

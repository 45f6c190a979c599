"""Four-eyes through the services on both databases: rule changes wait for a second person and
execute exactly what was approved; self-approval, tampering and refusals change nothing; bench
overrides land in the approvals log; every decision is audited; the matrix's setting decides."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from server.bootstrap import Services, build_services
from server.db import shipping_tables as st
from server.db import tables as t
from server.domain.actor import SYSTEM, Actor
from server.domain.errors import (
    ApprovalStateError,
    Forbidden,
    PayloadMismatch,
    SelfApproval,
    ValidationFailed,
)
from server.domain.rate_rules import CheapestWithinDays, Fastest, RateRule
from server.services.approvals import payload_hash
from server.services.identity import digest
from server.services.rules import RuleSpec
from server.services.shipping_quotes import rule_to_json
from server.settings import ServerSettings
from shared.contract.events import StationEvent
from tests.server.conftest import Clock
from tests.server.http import count_rows, sign_in
from tests.server.world import build_world, place

FAST = RateRule(id="r1", name="Fast NL", priority=1, objective=Fastest(),
                countries=frozenset({"NL"}))  # fmt: skip


def person(svc: Services, name: str, *roles: str) -> Actor:
    oid = svc.identity.create_operator(
        name=name, badge=f"BADGE-{name.upper()}", roles=set(roles), actor=SYSTEM
    )
    return Actor(operator_id=oid, roles=frozenset(roles), name=name)


@pytest.fixture
def ann(svc: Services) -> Actor:
    return person(svc, "Ann", "admin")


@pytest.fixture
def sue(svc: Services) -> Actor:
    return person(svc, "Sue", "supervisor")


def audit_actions(svc: Services, approval_id: int) -> list[tuple[str, int | None]]:
    a = t.audit
    rows = svc.uow.read(lambda c: c.execute(
        select(a.c.action, a.c.operator_id)
        .where(a.c.entity == "approval", a.c.entity_id == str(approval_id)).order_by(a.c.id)
    ).all())  # fmt: skip
    return [(r.action, r.operator_id) for r in rows]


def stored_rules(svc: Services) -> list[dict[str, Any]]:
    rr = st.rate_rule
    return list(svc.uow.read(lambda c: c.execute(select(rr.c.definition)).scalars().all()))


def test_an_approved_rate_rule_change_executes_exactly_the_stored_payload(
    svc: Services, ann: Actor, sue: Actor
) -> None:
    got = svc.shipping_quotes.request_rule_change(rule=FAST, reason="faster NL", actor=ann)
    assert not got.applied and got.approval is not None
    req = got.approval
    assert req.state == "pending" and req.payload == {"definition": rule_to_json(FAST),
                                                       "replaces": None}  # fmt: skip
    assert req.words == "Save rate rule 'Fast NL' (priority 1, choose fastest)"
    assert req.requested_by_name == "Ann"
    assert stored_rules(svc) == []  # nothing changes while it waits
    done = svc.approvals.decide(approval_id=req.id, approve=True, reason="looks right",
                                seen_payload_hash=req.payload_hash, approver=sue)  # fmt: skip
    assert done.state == "executed" and done.decided_by_name == "Sue"
    assert done.result == {"name": "Fast NL", "action": "create"}
    assert stored_rules(svc) == [req.payload["definition"]]
    assert svc.shipping_quotes.active_rules() == [FAST]
    assert audit_actions(svc, req.id) == [
        ("request", ann.operator_id), ("approved", sue.operator_id),
        ("executed", sue.operator_id),
    ]  # fmt: skip
    # An edit of the same rule records what it replaces; approving it replaces exactly that.
    slower = RateRule(id="r1", name="Fast NL", priority=2, objective=CheapestWithinDays(3))
    edit = svc.shipping_quotes.request_rule_change(rule=slower, reason="cheaper", actor=ann)
    assert edit.approval is not None and edit.approval.payload["replaces"] == rule_to_json(FAST)
    svc.approvals.decide(approval_id=edit.approval.id, approve=True, reason="ok",
                         seen_payload_hash=edit.approval.payload_hash, approver=sue)  # fmt: skip
    assert svc.shipping_quotes.active_rules() == [slower]


def test_self_approval_is_refused_and_changes_nothing(svc: Services, ann: Actor) -> None:
    req = svc.shipping_quotes.request_rule_change(rule=FAST, reason="x", actor=ann).approval
    assert req is not None
    for approve in (True, False):  # refusing your own request is deciding it too
        with pytest.raises(SelfApproval):
            svc.approvals.decide(approval_id=req.id, approve=approve, reason="mine",
                                 seen_payload_hash=req.payload_hash, approver=ann)  # fmt: skip
    assert svc.approvals.get(approval_id=req.id).state == "pending"
    assert stored_rules(svc) == []
    assert audit_actions(svc, req.id) == [("request", ann.operator_id)]


def test_the_database_refuses_self_approval_too(svc: Services, ann: Actor) -> None:
    req = svc.shipping_quotes.request_rule_change(rule=FAST, reason="x", actor=ann).approval
    assert req is not None
    ar = t.approval_request
    with pytest.raises(Exception, match=r"four_eyes|CHECK|check"):
        svc.uow.write(lambda c: c.execute(
            update(ar).where(ar.c.id == req.id).values(decided_by=ann.operator_id)
        ))  # fmt: skip
    assert svc.approvals.get(approval_id=req.id).decided_by is None


def test_a_tampered_payload_is_refused_and_nothing_executes(
    svc: Services, ann: Actor, sue: Actor
) -> None:
    req = svc.shipping_quotes.request_rule_change(rule=FAST, reason="x", actor=ann).approval
    assert req is not None
    # The approver was shown something else than what was asked for.
    other = {**req.payload, "definition": {**req.payload["definition"], "priority": 0}}
    with pytest.raises(PayloadMismatch, match="not the one that was requested"):
        svc.approvals.decide(approval_id=req.id, approve=True, reason="ok",
                             seen_payload_hash=payload_hash(other), approver=sue)  # fmt: skip
    # Someone edits the stored payload behind the service's back.
    ar = t.approval_request
    svc.uow.write(lambda c: c.execute(update(ar).where(ar.c.id == req.id).values(payload=other)))
    with pytest.raises(PayloadMismatch, match="altered after it was requested"):
        svc.approvals.decide(approval_id=req.id, approve=True, reason="ok",
                             seen_payload_hash=req.payload_hash, approver=sue)  # fmt: skip
    with pytest.raises(PayloadMismatch):  # even if the approver saw the altered payload
        svc.approvals.decide(approval_id=req.id, approve=True, reason="ok",
                             seen_payload_hash=payload_hash(other), approver=sue)  # fmt: skip
    assert svc.approvals.get(approval_id=req.id).state == "pending"
    assert stored_rules(svc) == []


def test_a_refused_request_executes_nothing_and_stays_refused(
    svc: Services, ann: Actor, sue: Actor
) -> None:
    got = svc.rules.request_create(
        spec=RuleSpec(name="near", strategy="proximity"), reason="closer", actor=ann
    )
    req = got.approval
    assert req is not None and req.words.startswith("New allocation rule 'near': proximity")
    refused = svc.approvals.decide(approval_id=req.id, approve=False, reason="not now",
                                   seen_payload_hash=req.payload_hash, approver=sue)  # fmt: skip
    assert refused.state == "refused" and refused.decision_reason == "not now"
    assert refused.result is None
    assert count_rows(svc, "allocation_rule") == 0
    with pytest.raises(ApprovalStateError, match="already refused"):
        svc.approvals.decide(approval_id=req.id, approve=True, reason="changed my mind",
                             seen_payload_hash=req.payload_hash, approver=sue)  # fmt: skip
    assert count_rows(svc, "allocation_rule") == 0
    assert audit_actions(svc, req.id) == [("request", ann.operator_id),
                                          ("refused", sue.operator_id)]  # fmt: skip


def test_an_approved_routing_rule_is_written_as_asked(
    svc: Services, ann: Actor, sue: Actor
) -> None:
    w = build_world(svc)
    spec = RuleSpec(name="bo", strategy="first_expired", channel_code="shop", backorder=True,
                    preferred_warehouse_id=w.warehouse_id, priority=7)  # fmt: skip
    req = svc.rules.request_create(spec=spec, reason="backorders", actor=ann).approval
    assert req is not None
    done = svc.approvals.decide(approval_id=req.id, approve=True, reason="agreed",
                                seen_payload_hash=req.payload_hash, approver=sue)  # fmt: skip
    ar = t.allocation_rule
    row = svc.uow.read(lambda c: c.execute(select(ar)).one())
    assert done.result == {"id": row.id}
    assert (row.name, row.strategy, row.priority, row.backorder, row.preferred_warehouse_id) == (
        "bo",
        "first_expired",
        7,
        True,
        w.warehouse_id,
    )
    oid = place(svc, "bo-1", ("SKU-A", 2))  # the approved rule is the one allocation uses
    assert svc.orders.get(order_id=oid).state == "backordered"


def test_a_rule_changed_meanwhile_fails_the_approval_and_keeps_the_newer_rule(
    svc: Services, ann: Actor, sue: Actor
) -> None:
    req = svc.shipping_quotes.request_rule_change(rule=FAST, reason="x", actor=ann).approval
    assert req is not None
    newer = RateRule(id="r1", name="Fast NL", priority=9, objective=Fastest())
    svc.shipping_quotes.save_rule(rule=newer, actor=SYSTEM)  # the server's own command
    with pytest.raises(ApprovalStateError, match="changed since"):
        svc.approvals.decide(approval_id=req.id, approve=True, reason="ok",
                             seen_payload_hash=req.payload_hash, approver=sue)  # fmt: skip
    failed = svc.approvals.get(approval_id=req.id)
    assert failed.state == "failed" and failed.result is not None
    assert failed.result["error"] == "ApprovalStateError"
    assert svc.shipping_quotes.active_rules() == [newer]


def test_people_cannot_bypass_approval_and_only_approver_roles_decide(
    svc: Services, ann: Actor
) -> None:
    with pytest.raises(Forbidden):
        svc.shipping_quotes.save_rule(rule=FAST, actor=ann)
    with pytest.raises(Forbidden):
        svc.rules.create(spec=RuleSpec(name="x", strategy="proximity"), actor=ann)
    packer = person(svc, "Pat", "packer")
    req = svc.shipping_quotes.request_rule_change(rule=FAST, reason="x", actor=ann).approval
    assert req is not None
    with pytest.raises(Forbidden, match="only supervisor"):
        svc.approvals.decide(approval_id=req.id, approve=True, reason="ok",
                             seen_payload_hash=req.payload_hash, approver=packer)  # fmt: skip
    assert stored_rules(svc) == [] and count_rows(svc, "allocation_rule") == 0


def test_payloads_are_checked_before_anyone_is_asked(svc: Services, ann: Actor) -> None:
    bad = [
        ("rate_rule_change", {"definition": {"id": "x"}, "replaces": None}),
        ("rate_rule_change", {"definition": rule_to_json(FAST)}),
        ("rate_rule_change", {"definition": {**rule_to_json(FAST), "priority": "high"},
                              "replaces": None}),
        ("routing_rule_change", {"name": "x", "strategy": "teleport"}),
        ("routing_rule_change", {"name": "x", "strategy": "proximity", "priority": 10**9}),
        ("inventory_adjustment", {"stock_level_id": 1, "counted": -3, "expected_on_hand": 1}),
        ("inventory_adjustment", {"stock_level_id": 2**70, "counted": 1, "expected_on_hand": 1}),
        ("customer_unmerge", {"customer": 1}),  # no customers in packline yet
        ("bench_override", {"order_id": 1}),  # granted at the bench, never asked here
        ("stock_adjustment", {}),
    ]  # fmt: skip
    for operation, payload in bad:
        with pytest.raises(ValidationFailed):
            svc.approvals.request(operation=operation, payload=payload, reason="x", actor=ann)
    assert count_rows(svc, "approval_request") == 0


def test_every_operation_in_the_matrix_asks_by_default(svc: Services) -> None:
    available = {p.operation for p in svc.approvals.matrix if svc.approvals.available(p.operation)}
    # Void after handover and high-value restock are registered by their own services.
    assert {"inventory_adjustment", "bench_override", "rate_rule_change",
            "routing_rule_change"} <= available  # fmt: skip
    assert not svc.approvals.available("customer_unmerge")
    for policy in svc.approvals.matrix:
        assert policy.needs_second_person({"units": 10**6}), policy.operation


def test_a_count_asks_above_the_threshold_only(svc: Services, ann: Actor, sue: Actor) -> None:
    w = build_world(svc)
    sid = svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=30, actor=SYSTEM)
    small = svc.counts.count(stock_level_id=sid, counted=25, actor=ann)  # 5: at the threshold
    assert small.applied is not None and small.approval is None
    big = svc.counts.count(stock_level_id=sid, counted=19, actor=ann)
    assert big.approval is not None and big.approval.operation == "inventory_adjustment"
    assert big.approval.payload["units"] == 6
    assert big.approval.words == (
        "Stock count of SKU-A in A-00: the books say 25, the shelf has 19 (6 units to adjust)"
    )
    done = svc.approvals.decide(approval_id=big.approval.id, approve=True, reason="recounted",
                                seen_payload_hash=big.approval.payload_hash,
                                approver=sue)  # fmt: skip
    assert done.result is not None and done.result["after"] == 19


@pytest.fixture
def waived(db_url: str, clock: Clock, tmp_path: Path) -> Iterator[Services]:
    setting = {
        "rate_rule_change": {"need": "never", "waive_four_eyes": True},
        "routing_rule_change": {"need": "never", "waive_four_eyes": True},
        "inventory_adjustment": {"threshold": 1000},
        "void_after_handover": {"approver_roles": ["admin"]},
    }
    services = build_services(
        ServerSettings(data_dir=tmp_path, database_url=db_url, home_country="NL",
                       four_eyes=json.dumps(setting)),
        clock=clock,
    )  # fmt: skip
    yield services
    services.close()


def test_the_setting_decides_what_executes_at_once(waived: Services) -> None:
    svc = waived
    ann = person(svc, "Ann", "admin")
    rate = svc.shipping_quotes.request_rule_change(rule=FAST, reason="x", actor=ann)
    assert rate.applied and rate.result == {"name": "Fast NL", "action": "create"}
    assert svc.shipping_quotes.active_rules() == [FAST]
    routing = svc.rules.request_create(spec=RuleSpec(name="n", strategy="proximity"),
                                       reason="x", actor=ann)  # fmt: skip
    assert routing.applied and routing.result is not None and count_rows(svc, "allocation_rule")
    w = build_world(svc)
    sid = svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=300, actor=SYSTEM)
    count = svc.counts.count(stock_level_id=sid, counted=1, actor=ann)
    assert count.applied is not None and count.applied.after == 1
    assert count_rows(svc, "approval_request") == 0
    assert svc.approvals.matrix.policy("void_after_handover").approver_roles == {"admin"}
    assert svc.ledger.reconcile().clean


def override_event(order_id: int, operator_id: int, badge: str, reason: str) -> StationEvent:
    return StationEvent(
        key=str(uuid.uuid4()),
        kind="override",
        order_id=order_id,
        at=datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
        operator_id=operator_id,
        payload={"supervisor_badge_sha256": digest(badge), "reason": reason, "line_no": 1,
                 "bypassed": "scan"},
    )  # fmt: skip


def test_a_bench_override_is_an_approval_by_the_supervisor_for_the_packer(
    svc: Services,
) -> None:
    w = build_world(svc)
    svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=5, actor=SYSTEM)
    oid = place(svc, "ov-1", ("SKU-A", 1))
    bench = sign_in(svc)  # an enrolled station
    packer = person(svc, "Pia", "packer")
    boss = person(svc, "Sam", "supervisor")
    station = Actor(station_id=bench.station_id, operator_id=packer.operator_id,
                    roles=packer.roles, name="Pia")  # fmt: skip
    assert packer.operator_id is not None and boss.operator_id is not None
    ok = svc.station_events.apply_one(
        event=override_event(oid, packer.operator_id, "BADGE-SAM", "LABEL-TORN"), actor=station
    )
    assert ok.status == "applied", ok.detail
    [row] = svc.approvals.log(state="executed", operation="bench_override")
    assert (row.requested_by, row.decided_by) == (packer.operator_id, boss.operator_id)
    assert (row.requested_by_name, row.decided_by_name) == ("Pia", "Sam")
    assert row.reason == row.decision_reason == "LABEL-TORN"
    number = svc.orders.get(order_id=oid).number
    assert row.payload["order_number"] == number and row.payload["bypassed"] == "scan"
    assert row.words == f"Bench override on order {number}: scan skipped (line 1)"
    assert row.payload_hash == payload_hash(row.payload)
    assert f"approval {row.id}" in ok.detail
    assert audit_actions(svc, row.id) == [("request", packer.operator_id),
                                          ("executed", boss.operator_id)]  # fmt: skip
    # The supervisor overriding their own work is refused, and leaves no approval behind.
    own = Actor(station_id=bench.station_id, operator_id=boss.operator_id,
                roles=boss.roles, name="Sam")  # fmt: skip
    refused = svc.station_events.apply_one(
        event=override_event(oid, boss.operator_id, "BADGE-SAM", "MINE"), actor=own
    )
    assert refused.status == "rejected" and "own scan" in refused.detail
    assert len(svc.approvals.log(state=None, operation="bench_override")) == 1

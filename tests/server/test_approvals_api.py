"""Four-eyes over HTTP on a real server: the matrix is visible, rule endpoints answer 202 with the
approval, a decision is a badge scan with a reason, self-approval and a tampered payload are
refused as problems, and the approvals log shows decisions and bench overrides."""

from __future__ import annotations

import uuid

import httpx

from server.bootstrap import Services
from server.domain.actor import SYSTEM
from server.services.identity import digest
from shared.contract import API_PREFIX
from shared.contract.approvals import payload_digest
from tests.server.http import count_rows, is_problem, sign_in
from tests.server.world import build_world, place

RULE = {"name": "near", "strategy": "proximity", "priority": 5}


def decision(c: httpx.Client, item: dict, *, badge: str, approve: bool = True,
             reason: str = "checked", seen: str | None = None) -> httpx.Response:  # fmt: skip
    return c.post(f"/approvals/{item['id']}/decision",
                  json={"approve": approve, "reason": reason, "badge": badge,
                        "payload_hash": seen or payload_digest(item["payload"])})  # fmt: skip


def test_matrix_rule_request_decisions_and_the_log(svc: Services, live_server: str) -> None:
    build_world(svc)
    headers = sign_in(svc).headers  # Test Admin, badge BADGE-ADMIN-1
    svc.identity.create_operator(name="Sue", badge="BADGE-SUE", roles={"supervisor"},
                                 actor=SYSTEM)  # fmt: skip
    svc.identity.create_operator(name="Pat", badge="BADGE-PAT", roles={"packer"}, actor=SYSTEM)
    with httpx.Client(base_url=live_server + API_PREFIX, headers=headers, timeout=30) as c:
        matrix = {p["operation"]: p for p in c.get("/approvals/matrix").json()}
        asked = c.post("/allocation-rules", json=RULE, params={"reason": "ship from near"})
        pending = c.get("/approvals").json()
        item = pending[0]
        own = decision(c, item, badge="BADGE-ADMIN-1")
        packer = decision(c, item, badge="BADGE-PAT")
        tampered = decision(c, item, badge="BADGE-SUE",
                            seen=payload_digest({**item["payload"], "priority": 1}))  # fmt: skip
        unknown = decision(c, item, badge="BADGE-NOBODY")
        rules_before = count_rows(svc, "allocation_rule")
        approved = decision(c, item, badge="BADGE-SUE")
        again = decision(c, item, badge="BADGE-SUE")
        refused_req = c.put(
            "/rate-rules",
            json={
                "definition": {
                    "id": "r1",
                    "name": "Fast",
                    "priority": 1,
                    "objective": {"kind": "fastest"},
                }
            },
        )
        refused = decision(c, refused_req.json()["approval"], badge="BADGE-SUE", approve=False,
                           reason="not this week")  # fmt: skip
        log = c.get("/approvals", params={"state": "all"}).json()
        bad_state = c.get("/approvals", params={"state": "maybe"})
        rules_now = c.get("/rate-rules").json()
    assert matrix.keys() == {
        "inventory_adjustment", "bench_override", "void_after_handover",
        "restock_high_value_return", "rate_rule_change", "routing_rule_change",
        "customer_unmerge", "refund_high_value_return",
    }  # fmt: skip
    assert matrix["inventory_adjustment"]["need"] == "above"
    assert matrix["inventory_adjustment"]["threshold"] == "5"
    assert matrix["customer_unmerge"]["available"] is False
    assert matrix["routing_rule_change"] | {"words": ""} == {
        "operation": "routing_rule_change", "need": "always", "field": None, "threshold": None,
        "approver_roles": ["supervisor"], "words": "", "waived": False, "configurable": True,
        "available": True,
    }  # fmt: skip
    assert asked.status_code == 202 and asked.json()["applied"] is False
    assert asked.json()["approval"]["reason"] == "ship from near"
    assert [x["id"] for x in pending] == [asked.json()["approval"]["id"]]
    assert item["words"] == "New allocation rule 'near': proximity for channel -, priority 5"
    assert item["requested_by_name"] == "Test Admin"
    assert own.status_code == 403 and own.json()["type"].endswith("self-approval")
    assert packer.status_code == 403 and "only supervisor" in packer.json()["detail"]
    assert tampered.status_code == 409 and tampered.json()["type"].endswith("payload-mismatch")
    assert unknown.status_code == 401
    for r in (own, packer, tampered, unknown, bad_state):
        assert is_problem(r.headers["content-type"])
    assert rules_before == 0  # none of the refused decisions wrote a rule
    assert approved.status_code == 200 and approved.json()["state"] == "executed"
    assert approved.json()["decided_by_name"] == "Sue"
    assert count_rows(svc, "allocation_rule") == 1
    assert again.status_code == 409  # decided once
    assert refused_req.status_code == 202
    assert refused.status_code == 200 and refused.json()["state"] == "refused"
    assert rules_now == []
    assert [(x["operation"], x["state"]) for x in log] == [
        ("rate_rule_change", "refused"), ("routing_rule_change", "executed"),
    ]  # fmt: skip
    assert bad_state.status_code == 422


def test_a_bench_override_over_http_shows_in_the_approvals_log(
    svc: Services, live_server: str
) -> None:
    w = build_world(svc)
    svc.ledger.receive(sku_id=w.skus["SKU-A"], location_id=w.bins[0], qty=5, actor=SYSTEM)
    oid = place(svc, "ov-http", ("SKU-A", 1))
    creds = sign_in(svc, badge="BADGE-PACKER", roles=frozenset({"packer", "picker"}))
    svc.identity.create_operator(name="Sam", badge="BADGE-SAM", roles={"supervisor"},
                                 actor=SYSTEM)  # fmt: skip
    boss = sign_in(svc, badge="BADGE-BOSS", roles=frozenset({"supervisor"}))
    event = {"key": str(uuid.uuid4()), "kind": "override", "order_id": oid,
             "at": "2026-11-25T09:30:00+00:00", "operator_id": None,
             "payload": {"supervisor_badge_sha256": digest("BADGE-SAM"), "reason": "LABEL-TORN",
                         "bypassed": "scan", "line_no": 1}}  # fmt: skip
    with httpx.Client(base_url=live_server + API_PREFIX, timeout=30) as c:
        posted = c.post("/stations/events", json={"events": [event]}, headers=creds.headers)
        replay = c.post("/stations/events", json={"events": [event]}, headers=creds.headers)
        log = c.get("/approvals", params={"state": "executed", "operation": "bench_override"},
                    headers=boss.headers).json()  # fmt: skip
        not_for_packers = c.get("/approvals", headers=creds.headers)
    assert posted.json()["results"][0]["status"] == "applied"
    assert replay.json()["results"][0]["status"] == "duplicate"
    [row] = log  # the replay did not record it twice
    assert row["requested_by_name"] == "Test Admin" and row["decided_by_name"] == "Sam"
    assert row["reason"] == "LABEL-TORN" and row["payload"]["order_id"] == oid
    assert not_for_packers.status_code == 403

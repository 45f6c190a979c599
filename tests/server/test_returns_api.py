"""The returns API over real HTTP (uvicorn on loopback), on SQLite and PostgreSQL: issue, look up,
receive (201, then 200 on a replay), refusals as problem+json, triage, and a high-value restock
approved by a second person's badge at the station."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from server.bootstrap import Services
from server.domain.actor import SYSTEM
from shared.contract import API_PREFIX, PROBLEM_BASE
from tests.server.http import Credentials, count_rows, is_problem
from tests.server.returns_world import GTIN_A, GTIN_C, Desk, returns_world, shipped_order


@pytest.fixture
def desk(svc: Services) -> Desk:
    return returns_world(svc)


def login(svc: Services, badge: str) -> Credentials:
    code = svc.identity.issue_enrolment_code(station_name="returns-1", kind="returns", actor=SYSTEM)
    token, station = svc.identity.enrol(code=code)
    return Credentials(
        station.id, token, svc.identity.login(station_id=station.id, badge=badge, pin=None).token
    )


@pytest.fixture
def http(live_server: str, svc: Services, desk: Desk) -> httpx.Client:
    creds = login(svc, "BADGE-RET-1")
    with httpx.Client(base_url=live_server + API_PREFIX, headers=creds.headers) as client:
        yield client  # type: ignore[misc]


def receipt(barcode: str = GTIN_A, **kw: Any) -> dict[str, Any]:
    return {
        "key": str(uuid.uuid4()),
        "barcode": barcode,
        "condition": "sellable",
        "bin": "Q-01",
        **kw,
    }


def problem_type(resp: httpx.Response) -> str:
    assert is_problem(resp.headers["content-type"]), resp.text
    return str(resp.json()["type"]).removeprefix(PROBLEM_BASE)


def test_issue_lookup_receive_replay_and_triage_over_http(
    http: httpx.Client, svc: Services, desk: Desk
) -> None:
    _, number = shipped_order(svc, desk, "API-1", ("SKU-A", 2))
    made = http.post(
        "/returns/rmas",
        json={"order_number": number, "reason": "too small", "lines": [{"line_no": 1, "qty": 2}]},
    )
    assert made.status_code == 201, made.text
    rma = made.json()
    assert rma["lines"][0]["barcodes"][0]["value"] == GTIN_A

    found = http.get("/returns/lookup", params={"code": number})
    assert found.status_code == 200 and found.json()["id"] == rma["id"]
    missing = http.get("/returns/lookup", params={"code": "NOPE-123"})
    assert missing.status_code == 404 and problem_type(missing) == "not-found"

    body = receipt()
    first = http.post(f"/returns/rmas/{rma['id']}/units", json=body)
    again = http.post(f"/returns/rmas/{rma['id']}/units", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert first.json()["state"] == "quarantined" and first.json()["refund"] == "triggered"
    reused = http.post(f"/returns/rmas/{rma['id']}/units", json={**body, "bin": "Q-02"})
    assert reused.status_code == 422 and problem_type(reused) == "idempotency-key-reused"

    wrong = http.post(f"/returns/rmas/{rma['id']}/units", json=receipt(GTIN_C))
    assert wrong.status_code == 201 and wrong.json()["flag"] == "not_on_order"
    flagged = http.get("/returns/units", params={"flagged": "true"}).json()
    assert [x["id"] for x in flagged] == [wrong.json()["id"]]

    unit_id = first.json()["id"]
    decision = {"key": str(uuid.uuid4()), "decision": "restock", "bin": "A-01"}
    done = http.post(f"/returns/units/{unit_id}/triage", json=decision)
    assert done.status_code == 200 and done.json()["state"] == "restocked"
    assert http.post(f"/returns/units/{unit_id}/triage", json=decision).json() == done.json()
    assert http.get(f"/returns/units/{unit_id}").json()["location"] == "A-01"
    assert [b["code"] for b in http.get("/returns/quarantine-bins").json()] == ["Q-01", "Q-02"]
    assert svc.ledger.reconcile().clean


def test_refusals_are_problems_and_change_nothing(
    http: httpx.Client, svc: Services, desk: Desk, live_server: str
) -> None:
    _, number = shipped_order(svc, desk, "API-2", ("SKU-A", 1))
    rma = http.post(
        "/returns/rmas",
        json={"order_number": number, "reason": "x", "lines": [{"line_no": 1, "qty": 1}]},
    ).json()
    before = (count_rows(svc, "return_unit"), count_rows(svc, "movement"))
    cases = [
        (receipt(bin="A-01"), 422, "validation-failed"),  # a shelf is not quarantine
        (receipt(condition="shiny"), 422, "invalid-request"),
        ({"barcode": GTIN_A}, 422, "invalid-request"),
        (receipt(barcode="x" * 500), 422, "invalid-request"),
    ]
    for body, code, kind in cases:
        resp = http.post(f"/returns/rmas/{rma['id']}/units", json=body)
        assert resp.status_code == code and problem_type(resp) == kind, resp.text
    assert http.post("/returns/rmas/424242/units", json=receipt()).status_code == 404
    big = http.post(f"/returns/rmas/{2**63}/units", json=receipt())
    assert big.status_code == 422
    garbage = http.post(
        f"/returns/rmas/{rma['id']}/units",
        content=b"\x00\xff{",
        headers={"Content-Type": "application/json"},
    )
    assert garbage.status_code == 400 and is_problem(garbage.headers["content-type"])
    over = http.post(
        "/returns/rmas",
        json={"order_number": number, "reason": "x", "lines": [{"line_no": 1, "qty": 2}]},
    )
    assert over.status_code == 422 and "left to authorise" in over.json()["detail"]
    assert (count_rows(svc, "return_unit"), count_rows(svc, "movement")) == before

    # A packer is not a returns clerk; no operator at all is not anyone.
    svc.identity.create_operator(name="P", badge="BADGE-PACK-1", roles={"packer"}, actor=SYSTEM)
    packer = login(svc, "BADGE-PACK-1")
    with httpx.Client(base_url=live_server + API_PREFIX, headers=packer.headers) as other:
        refused = other.post(f"/returns/rmas/{rma['id']}/units", json=receipt())
        assert refused.status_code == 403 and problem_type(refused) == "forbidden"
        anonymous = other.get(
            "/returns/lookup", params={"code": number}, headers={"X-Operator-Token": ""}
        )
        assert anonymous.status_code == 401


def test_high_value_restock_is_approved_by_another_badge_at_the_station(
    http: httpx.Client, svc: Services, desk: Desk
) -> None:
    _, number = shipped_order(svc, desk, "API-3", ("SKU-A", 1), price="950.00")
    rma = http.post(
        "/returns/rmas",
        json={"order_number": number, "reason": "x", "lines": [{"line_no": 1, "qty": 1}]},
    ).json()
    got = http.post(f"/returns/rmas/{rma['id']}/units", json=receipt()).json()
    assert got["refund"] == "awaiting_approval"
    asked = http.post(
        f"/returns/units/{got['id']}/triage",
        json={"key": str(uuid.uuid4()), "decision": "restock", "bin": "A-01"},
    )
    assert asked.status_code == 200 and asked.json()["state"] == "awaiting_approval"
    approval = http.get(f"/approvals/{asked.json()['approval_id']}").json()

    decision = {"approve": True, "reason": "inspected", "payload_hash": approval["payload_hash"]}
    own = http.post(
        f"/approvals/{approval['id']}/decision", json={**decision, "badge": "BADGE-RET-1"}
    )
    assert own.status_code == 403  # the clerk who asked cannot approve (nor is a supervisor)
    ok = http.post(
        f"/approvals/{approval['id']}/decision", json={**decision, "badge": desk.supervisor_badge}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["state"] == "executed"
    assert http.get(f"/returns/units/{got['id']}").json()["state"] == "restocked"
    [refund] = http.get(f"/returns/rmas/{rma['id']}/refunds").json()
    assert refund["state"] == "awaiting_approval"  # released by its own approval only
    money = http.get(f"/approvals/{refund['approval_id']}").json()
    assert money["operation"] == "refund_high_value_return"
    assert (
        money["words"] == f"Refund 950.00 EUR for a high-value return ({rma['number']}, "
        f"unit {got['id']})"
    )
    paid = http.post(
        f"/approvals/{money['id']}/decision",
        json={**decision, "payload_hash": money["payload_hash"], "badge": desk.supervisor_badge},
    )
    assert paid.status_code == 200, paid.text
    [refund] = http.get(f"/returns/rmas/{rma['id']}/refunds").json()
    assert refund["state"] == "triggered" and refund["approval_id"] == money["id"]
    assert svc.ledger.reconcile().clean


@pytest.mark.timeout(120)
def test_fuzzed_returns_requests_never_get_a_5xx(
    svc: Services, live_server: str, desk: Desk
) -> None:
    """The whole-API fuzzer's rule, on the returns operations only, over a world with an RMA."""
    import schemathesis
    from schemathesis.core.result import Ok

    from tests.server.test_openapi_fuzz import _fuzz_operation

    _, number = shipped_order(svc, desk, "FUZZ-1", ("SKU-A", 2))
    svc.returns.issue(order_number=number, lines=[(1, 2)], reason="fuzz", actor=desk.clerk)
    auth = login(svc, desk.supervisor_badge).headers
    schema = schemathesis.openapi.from_url(f"{live_server}/openapi.json", timeout=30)
    failures: list[str] = []
    calls: list[int] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if "/returns/" in operation.path:
            _fuzz_operation(operation, base=live_server, auth=auth, sink=failures, calls=calls)
    assert len(calls) >= 50
    assert any(200 <= c < 300 for c in calls), "no request got past validation and auth"
    assert not failures, "\n\n".join(failures[:10])
    assert svc.ledger.reconcile().clean

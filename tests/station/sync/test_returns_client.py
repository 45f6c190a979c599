"""The returns desk's client against a real server (SQLite and PostgreSQL): look-up, a receipt
sent twice landing once, the server's refusal in its own words, and an outage in the middle."""

from __future__ import annotations

import uuid

import pytest

from server.bootstrap import Services
from server.domain.actor import SYSTEM
from shared.contract.returns import ReturnUnitIn, TriageIn
from station.sync.client import HttpGateway, ServerRefused, ServerUnavailable
from station.sync.returns_client import HttpReturnsClient
from tests.server.http import count_rows
from tests.server.returns_world import GTIN_A, returns_world, shipped_order
from tests.station.sync.server_support import ServerRunner


def test_the_desk_client_over_http_through_an_outage(svc: Services, server: ServerRunner) -> None:
    desk = returns_world(svc)
    _, number = shipped_order(svc, desk, "C-1", ("SKU-A", 2))
    svc.returns.issue(order_number=number, lines=[(1, 2)], reason="broken", actor=desk.clerk)
    code = svc.identity.issue_enrolment_code(station_name="desk", kind="returns", actor=SYSTEM)
    token, _ = svc.identity.enrol(code=code)
    gateway = HttpGateway(base_url=server.url, station_token=token, timeout_s=5)
    try:
        gateway.login(badge="BADGE-RET-1")
        client = HttpReturnsClient(gateway=gateway)

        rma = client.lookup(code=number)
        assert rma.lines[0].sku == "SKU-A" and rma.lines[0].qty == 2
        assert [b.code for b in client.quarantine_bins()] == ["Q-01", "Q-02"]

        unit = ReturnUnitIn(
            key=str(uuid.uuid4()), barcode="0" + GTIN_A, condition="sellable", bin="Q-01"
        )
        first = client.receive(rma_id=rma.id, unit=unit)
        assert client.receive(rma_id=rma.id, unit=unit) == first
        with pytest.raises(ServerRefused, match="A-01 is not a quarantine bin") as refused:
            client.receive(
                rma_id=rma.id, unit=unit.model_copy(update={"key": "k" * 36, "bin": "A-01"})
            )
        assert refused.value.status == 422

        second = unit.model_copy(update={"key": str(uuid.uuid4())})
        server.stop()
        with pytest.raises(ServerUnavailable):
            client.receive(rma_id=rma.id, unit=second)
        server.start()
        got = client.receive(rma_id=rma.id, unit=second)  # the desk's retry, same key
        assert client.receive(rma_id=rma.id, unit=second) == got
        assert count_rows(svc, "return_unit") == 2

        done = client.triage(
            unit_id=first.id, decision=TriageIn(key=str(uuid.uuid4()), decision="scrap")
        )
        assert done.state == "scrapped" and done.location == "ADJUSTMENT-LOSS"
        assert svc.ledger.reconcile().clean
    finally:
        gateway.close()


def test_triage_answers_the_desk_relies_on(svc: Services, server: ServerRunner) -> None:
    """What the triage screen shows comes from these answers: the waiting list, a refusal in the
    server's words, a high-value restock waiting for approval, and a restock."""
    desk = returns_world(svc)
    _, number = shipped_order(svc, desk, "C-2", ("SKU-A", 3), price="900.00")
    rma = svc.returns.issue(order_number=number, lines=[(1, 3)], reason="x", actor=desk.clerk)
    code = svc.identity.issue_enrolment_code(station_name="desk", kind="returns", actor=SYSTEM)
    token, _ = svc.identity.enrol(code=code)
    gateway = HttpGateway(base_url=server.url, station_token=token, timeout_s=5)
    try:
        gateway.login(badge="BADGE-RET-1")
        client = HttpReturnsClient(gateway=gateway)
        for condition in ("damaged", "sellable"):
            unit = ReturnUnitIn(
                key=str(uuid.uuid4()), barcode=GTIN_A, condition=condition, bin="Q-01"
            )
            client.receive(rma_id=rma["id"], unit=unit)
        damaged, sellable = client.units(state="quarantined")
        assert (damaged.condition, sellable.condition) == ("damaged", "sellable")

        with pytest.raises(ServerRefused, match="damaged cannot go back to stock") as refused:
            client.triage(unit_id=damaged.id, decision=TriageIn(
                key=str(uuid.uuid4()), decision="restock", bin="A-01"))  # fmt: skip
        assert refused.value.status == 422
        asked = client.triage(unit_id=sellable.id, decision=TriageIn(
            key=str(uuid.uuid4()), decision="restock", bin="A-01"))  # fmt: skip
        assert asked.state == "awaiting_approval" and asked.approval_id is not None
        assert [u.id for u in client.units(state="quarantined")] == [damaged.id, sellable.id]
        done = client.triage(unit_id=damaged.id, decision=TriageIn(
            key=str(uuid.uuid4()), decision="damaged"))  # fmt: skip
        assert (done.state, done.location) == ("damaged", "DAMAGED")
        assert [u.id for u in client.units(state="quarantined")] == [sellable.id]
    finally:
        gateway.close()

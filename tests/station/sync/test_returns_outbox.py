"""The returns desk's durable outbox against a real server (SQLite and PostgreSQL): a receipt
written before a power cut is sent again by new objects on the same file and lands exactly once,
whether the first send landed (answer lost) or never left; a refusal is kept for a person, a
missing sign-in is not a refusal; and the triage list over HTTP."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from server.bootstrap import Services
from server.domain.actor import SYSTEM
from shared.contract.returns import ReturnUnitIn
from station.sync.client import HttpGateway
from station.sync.returns_client import HttpReturnsClient
from station.sync.returns_outbox import OutboxUnavailable, ReturnsOutbox, replay
from tests.server.http import count_rows
from tests.server.returns_world import GTIN_A, returns_world, shipped_order
from tests.station.sync.server_support import ServerRunner


@pytest.fixture
def desk_rma(svc: Services) -> tuple[int, str, str]:
    """An RMA for two units and an enrolled returns desk's token."""
    desk = returns_world(svc)
    _, number = shipped_order(svc, desk, "OB-1", ("SKU-A", 2))
    rma = svc.returns.issue(order_number=number, lines=[(1, 2)], reason="x", actor=desk.clerk)
    code = svc.identity.issue_enrolment_code(station_name="desk", kind="returns", actor=SYSTEM)
    token, _ = svc.identity.enrol(code=code)
    return rma["id"], rma["number"], token


def desk_client(server: ServerRunner, token: str, *, sign_in: bool = True):
    gateway = HttpGateway(base_url=server.url, station_token=token, timeout_s=5)
    if sign_in:
        gateway.login(badge="BADGE-RET-1")
    return gateway, HttpReturnsClient(gateway=gateway)


def receipt(**kw: str) -> ReturnUnitIn:
    return ReturnUnitIn(key=str(uuid.uuid4()), barcode="0" + GTIN_A, condition="sellable",
                        bin=kw.get("bin", "Q-01"))  # fmt: skip


def test_a_send_that_landed_before_the_power_cut_is_answered_not_counted_twice(
    svc: Services, server: ServerRunner, desk_rma: tuple[int, str, str], tmp_path: Path
) -> None:
    rma_id, number, token = desk_rma
    path = tmp_path / "returns-outbox.sqlite3"
    outbox = ReturnsOutbox(path=path)
    gateway, client = desk_client(server, token)
    try:
        unit = receipt()
        outbox.put(rma_id=rma_id, rma_number=number, unit=unit)
        first = client.receive(rma_id=rma_id, unit=unit)  # landed; the answer "never came"
    finally:
        gateway.close()
    del outbox  # power cut: nothing marked done

    after = ReturnsOutbox(path=path)  # new objects on the same file
    assert [r.key for r in after.pending()] == [unit.key]
    gateway, client = desk_client(server, token)
    try:
        report = replay(after, client)
        assert report.unreachable is None and report.refused == []
        [(sent, got)] = report.recorded
        assert sent.unit == unit and got.id == first.id
        assert replay(after, client).recorded == []  # nothing left to send
    finally:
        gateway.close()
    assert after.pending() == [] and count_rows(svc, "return_unit") == 1
    assert svc.returns.unit(unit_id=first.id)["flag"] is None  # not a second, flagged unit
    assert svc.ledger.reconcile().clean


def test_a_receipt_kept_while_the_server_was_down_lands_once_after_the_restart(
    svc: Services, server: ServerRunner, desk_rma: tuple[int, str, str], tmp_path: Path
) -> None:
    rma_id, number, token = desk_rma
    path = tmp_path / "returns-outbox.sqlite3"
    gateway, client = desk_client(server, token)
    try:
        outbox = ReturnsOutbox(path=path)
        units = [receipt(), receipt()]
        for u in units:
            outbox.put(rma_id=rma_id, rma_number=number, unit=u)
        outbox.put(rma_id=rma_id, rma_number=number, unit=units[0])  # the same key: one row
        server.stop()
        report = replay(outbox, client)
        assert report.unreachable and report.recorded == []
    finally:
        gateway.close()
    assert len(ReturnsOutbox(path=path).pending()) == 2 and count_rows(svc, "return_unit") == 0

    server.start()  # the station restarts, the server is back
    after = ReturnsOutbox(path=path)
    gateway, client = desk_client(server, token)
    try:
        report = replay(after, client)
    finally:
        gateway.close()
    assert [r.key for r, _ in report.recorded] == [u.key for u in units]  # in their order
    assert count_rows(svc, "return_unit") == 2 and after.pending() == []
    assert [x["received"] for x in svc.returns.get(rma_id=rma_id)["lines"]] == [2]


def test_a_refusal_is_kept_for_a_person_and_a_missing_sign_in_is_not_one(
    svc: Services, server: ServerRunner, desk_rma: tuple[int, str, str], tmp_path: Path
) -> None:
    rma_id, number, token = desk_rma
    outbox = ReturnsOutbox(path=tmp_path / "o.sqlite3")
    bad, good = receipt(bin="A-01"), receipt()
    outbox.put(rma_id=rma_id, rma_number=number, unit=bad)
    outbox.put(rma_id=rma_id, rma_number=number, unit=good)
    gateway, client = desk_client(server, token, sign_in=False)
    try:
        report = replay(outbox, client)  # nobody signed in: not the receipts' fault
        assert report.unreachable and "not allowed now" in report.unreachable
        assert len(outbox.pending()) == 2
        gateway.login(badge="BADGE-RET-1")
        report = replay(outbox, client)
        assert [(r.key, "not a quarantine bin" in d) for r, d in report.refused] == [
            (bad.key, True)
        ]
        assert [r.key for r, _ in report.recorded] == [good.key]
        assert outbox.pending() == [] and [r.key for r, _ in outbox.refusals()] == [bad.key]
        # Triage's list: the unit that landed waits in quarantine.
        [waiting] = client.units(state="quarantined")
        assert (waiting.location, waiting.sku, waiting.state) == ("Q-01", "SKU-A", "quarantined")
        assert client.units(state="restocked") == []
    finally:
        gateway.close()
    assert count_rows(svc, "return_unit") == 1


def test_an_outbox_that_cannot_be_written_says_so(tmp_path: Path) -> None:
    outbox = ReturnsOutbox(path=tmp_path / "o.sqlite3")
    (tmp_path / "o.sqlite3").unlink()
    (tmp_path / "o.sqlite3").mkdir()  # the file is gone and a directory took its place
    with pytest.raises(OutboxUnavailable):
        outbox.put(rma_id=1, rma_number="RMA0000001", unit=receipt())

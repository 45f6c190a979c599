"""The dispatch door's client against a real server (SQLite and PostgreSQL) with the carrier
fakes behind it: pickups, handover scans and their refusals in the server's words, the waiting
list, the label's ZPL, voids before and after handover, custody exceptions, a dead server.

The same door script also runs against FakeDispatch: the fake that powers the UI tests and the
demo must answer as the server does, or those tests prove nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from server.bootstrap import Services
from server.domain.actor import SYSTEM, Actor
from shared.contract.approvals import ApprovalItemOut
from station.sync.client import HttpGateway, ServerRefused, ServerUnavailable
from station.sync.dispatch_client import (
    DispatchClient,
    FakeDispatch,
    FakeParcel,
    HttpDispatchClient,
    PickupMemory,
)
from tests.server.carriers.providers import Providers, three_providers
from tests.server.carriers.shipping_world import (
    bought,
    label_scanned,
    packed_order,
    shipping_services,
)
from tests.server.conftest import Clock, live_server  # noqa: F401
from tests.server.http import sign_in
from tests.station.sync.server_support import free_port

DOOR_BADGE = "BADGE-DOOR-1"


@pytest.fixture
def providers() -> Iterator[Providers]:
    with three_providers() as p:
        yield p


@pytest.fixture
def svc(db_url: str, clock: Clock, tmp_path: Path, providers: Providers) -> Iterator[Services]:
    services = shipping_services(
        providers,
        db_url=db_url,
        clock=clock,
        tmp_path=tmp_path,
        only=["easypost"],
        custody_cutoff_hours=24,
        tracking_poll_minutes=30,
    )
    yield services
    services.close()


@pytest.fixture
def gateway(svc: Services, live_server: str) -> Iterator[HttpGateway]:  # noqa: F811
    creds = sign_in(svc, badge=DOOR_BADGE, roles=frozenset({"dispatch"}))
    gw = HttpGateway(base_url=live_server, station_token=creds.station_token)
    gw.login(badge=DOOR_BADGE)  # over HTTP, as the door signs in
    yield gw
    gw.close()


@pytest.fixture
def client(gateway: HttpGateway) -> HttpDispatchClient:
    return HttpDispatchClient(gateway=gateway)


@pytest.fixture
def world(svc: Services) -> dict[str, Any]:
    """Order A: two cartons, labels scanned at the bench. Order B: one carton whose label was
    bought but never scanned onto it."""
    a = packed_order(svc, "door-a", boxes=2)
    pa = bought(svc, a)
    label_scanned(svc, a, pa)
    b = packed_order(svc, "door-b")
    pb = bought(svc, b)
    return {
        "a": a,
        "b": b,
        "pa": pa,
        "pb": pb,
        "numbers": {a: svc.orders.get(order_id=a).number, b: svc.orders.get(order_id=b).number},
    }


def attempt(what: str, call: Any) -> str:
    """One call's outcome, without ids or times: what a loader would be told."""
    try:
        out = call()
    except ServerRefused as exc:
        return f"{what}: {exc.status} {exc.detail}"
    if isinstance(out, bytes):
        return f"{what}: zpl" if out.startswith(b"^XA") else f"{what}: {out[:20]!r}"
    fields = {"state", "cartons", "duplicate", "remaining", "operation", "carrier"}
    shown = {k: v for k, v in out.model_dump().items() if k in fields}
    if "package" in out.model_dump():
        shown["package_state"] = out.package.state
    return f"{what}: {sorted(shown.items())}"


def door_script(c: DispatchClient, w: dict[str, Any]) -> list[str]:
    (a1, a2), (b1,) = w["pa"], w["pb"]
    carrier = a1["carrier"]
    out = [f"waiting: {[(x.package_no, x.state) for x in c.waiting()]}"]
    pickup = c.open_pickup(carrier=carrier)
    other = c.open_pickup(carrier="Some Other Carrier")
    out += [
        attempt("blank carrier", lambda: c.open_pickup(carrier="  ")),
        attempt("a1", lambda: c.hand_over(pickup_id=pickup.id, barcode=a1["tracking_number"])),
        attempt(
            "a1 again", lambda: c.hand_over(pickup_id=pickup.id, barcode=a1["tracking_number"])
        ),
        attempt(
            "b1 never scanned",
            lambda: c.hand_over(pickup_id=pickup.id, barcode=b1["tracking_number"]),
        ),
        attempt("not ours", lambda: c.hand_over(pickup_id=pickup.id, barcode="1Z-NOT-OURS")),
        attempt(
            "other carrier", lambda: c.hand_over(pickup_id=other.id, barcode=a2["tracking_number"])
        ),
        attempt("label a2", lambda: c.label(package_id=a2["id"])),
        attempt("label missing", lambda: c.label(package_id=999_999)),
        attempt("void b1", lambda: c.void(package_id=b1["id"], reason="damaged label")),
        attempt(
            "b1 voided", lambda: c.hand_over(pickup_id=pickup.id, barcode=b1["tracking_number"])
        ),
        attempt("label b1 voided", lambda: c.label(package_id=b1["id"])),
        attempt(
            "void a1 after handover", lambda: c.void(package_id=a1["id"], reason="address changed")
        ),
        f"waiting after: {[(x.package_no, x.state) for x in c.waiting()]}",
        attempt("close", lambda: c.close_pickup(pickup_id=pickup.id)),
        attempt("close again", lambda: c.close_pickup(pickup_id=pickup.id)),
        attempt("pickup", lambda: c.pickup(pickup_id=pickup.id)),
        attempt(
            "a2 on closed", lambda: c.hand_over(pickup_id=pickup.id, barcode=a2["tracking_number"])
        ),
        attempt("no such pickup", lambda: c.pickup(pickup_id=999_999)),
    ]
    return out


def test_the_door_script_against_the_real_server(
    client: HttpDispatchClient, svc: Services, world: dict[str, Any]
) -> None:
    got = door_script(client, world)
    a1 = world["pa"][0]
    assert got[0] == "waiting: [(1, 'labelled'), (2, 'labelled'), (1, 'bought')]"
    assert got[2] == (
        "a1: [('duplicate', False), ('package_state', 'handed_over'), ('remaining', 1)]"
    )
    assert got[3].startswith("a1 again: [('duplicate', True)")
    assert "422 the label" in got[4] and "never scanned onto the carton" in got[4]
    assert got[5] == "not ours: 404 '1Z-NOT-OURS' is not one of our labels: keep the carton back"
    assert "goes with" in got[6] and "not Some Other Carrier" in got[6]
    assert got[7] == "label a2: zpl"
    assert got[8].startswith("label missing: 404")
    assert got[9] == "void b1: [('carrier', 'USPS'), ('state', 'voided')]"
    assert "VOIDED: do not ship" in got[10]
    assert got[11].startswith("label b1 voided: 422")
    assert (
        got[12] == "void a1 after handover: [('operation', 'void_after_handover'), "
        "('state', 'pending')]"
    )
    assert got[13] == "waiting after: [(2, 'labelled')]"
    assert "('cartons', 1)" in got[14] and "('state', 'closed')" in got[14]
    assert "already closed" in got[15]
    assert "is closed: open a new one" in got[17]
    assert got[18].startswith("no such pickup: 404")
    # The server really holds what the door was told.
    assert svc.spend.shipment(order_id=world["a"])["packages"][0]["state"] == "handed_over"
    assert client.label(package_id=world["pa"][1]["id"]) == svc.labels.label_zpl(
        package_id=world["pa"][1]["id"]
    )
    assert a1["tracking_number"] not in {w.tracking_number for w in client.waiting()}


def fake_of(world: dict[str, Any]) -> FakeDispatch:
    """The fake holding the same parcels as the real server's world."""
    numbers = world["numbers"]
    parcels = [
        FakeParcel(
            id=p["id"],
            order_id=oid,
            order_number=numbers[oid],
            package_no=p["package_no"],
            tracking_number=p["tracking_number"],
            carrier=p["carrier"],
            service=p["service"],
            state="labelled" if oid == world["a"] else "bought",
        )
        for oid, packages in ((world["a"], world["pa"]), (world["b"], world["pb"]))
        for p in packages
    ]
    return FakeDispatch(parcels=parcels)


def test_the_fake_answers_the_door_script_as_the_server_does(
    client: HttpDispatchClient, world: dict[str, Any]
) -> None:
    assert door_script(fake_of(world), world) == door_script(client, world)


Decide = Callable[[int, bool, str], None]


def follow_up_script(c: DispatchClient, w: dict[str, Any], decide: Decide) -> list[str]:
    """Voids after handover as the door follows them up: pending, then approved and carried
    out, approved but no longer possible (failed), refused; and an approval that is not there."""
    a1, a2 = w["pa"]
    pickup = c.open_pickup(carrier=a1["carrier"])
    for p in (a1, a2):
        c.hand_over(pickup_id=pickup.id, barcode=p["tracking_number"])
    first = c.void(package_id=a1["id"], reason="address changed")
    again = c.void(package_id=a1["id"], reason="asked twice")
    other = c.void(package_id=a2["id"], reason="wrong service")
    assert isinstance(first, ApprovalItemOut) and isinstance(again, ApprovalItemOut)
    assert isinstance(other, ApprovalItemOut)

    def seen(what: str, approval_id: int) -> str:
        x = c.approval(approval_id=approval_id)
        assert x.id == approval_id and x.operation == "void_after_handover"
        failed = x.state == "failed" and bool((x.result or {}).get("detail"))
        return (
            f"{what}: {x.state} by={x.decided_by is not None} why={x.decision_reason} "
            f"result={(x.result or {}).get('state')} failed_with_words={failed}"
        )

    out = [seen("asked", first.id)]
    decide(first.id, True, "CHECKED")
    out.append(seen("approved", first.id))
    decide(again.id, True, "CHECKED")  # a1 is voided already: nothing left to carry out
    out.append(seen("approved again", again.id))
    decide(other.id, False, "NOT-JUSTIFIED")
    out += [
        seen("refused", other.id),
        attempt("no such approval", lambda: c.approval(approval_id=999_999)),
        f"pickup cartons: {c.pickup(pickup_id=pickup.id).cartons}",
        f"awaiting carrier: {[x.package_no for x in c.awaiting_carrier()]}",
    ]
    return out


def test_a_void_after_handover_is_followed_up_as_the_server_decides(
    client: HttpDispatchClient, svc: Services, world: dict[str, Any]
) -> None:
    sam = svc.identity.create_operator(
        name="Sam", badge="BADGE-SAM", roles={"supervisor"}, actor=SYSTEM
    )
    supervisor = Actor(operator_id=sam, roles=frozenset({"supervisor"}), name="Sam")

    def decide_on_server(approval_id: int, approve: bool, reason: str) -> None:
        asked = svc.approvals.get(approval_id=approval_id)
        try:
            svc.approvals.decide(
                approval_id=approval_id,
                approve=approve,
                reason=reason,
                seen_payload_hash=asked.payload_hash,
                approver=supervisor,
            )
        except Exception:
            # An execution that fails is recorded as "failed", then re-raised: that one is
            # under test; anything else is not.
            if svc.approvals.get(approval_id=approval_id).state != "failed":
                raise

    got = follow_up_script(client, world, decide_on_server)
    assert got[:4] == [
        "asked: pending by=False why=None result=None failed_with_words=False",
        "approved: executed by=True why=CHECKED result=voided failed_with_words=False",
        "approved again: failed by=True why=CHECKED result=None failed_with_words=True",
        "refused: refused by=True why=NOT-JUSTIFIED result=None failed_with_words=False",
    ]
    assert got[4] == "no such approval: 404 approval request 999999 does not exist"
    assert got[5:] == ["pickup cartons: 1", "awaiting carrier: [2]"]

    fake = fake_of(world)

    def decide_on_fake(approval_id: int, approve: bool, reason: str) -> None:
        fake.decide(approval_id=approval_id, approve=approve, reason=reason)

    assert follow_up_script(fake, world, decide_on_fake) == got


def test_custody_exceptions_and_resuming_a_pickup(
    client: HttpDispatchClient,
    gateway: HttpGateway,
    svc: Services,
    world: dict[str, Any],
    clock: Clock,
) -> None:
    a1, a2 = world["pa"]
    pickup = client.open_pickup(carrier=a1["carrier"])
    for p in (a1, a2):
        client.hand_over(pickup_id=pickup.id, barcode=p["tracking_number"])
    assert client.custody_exceptions() == []
    clock.advance(hours=25)  # past the cut-off with no carrier scan
    assert len(svc.custody.sweep()) == 2
    gateway.login(badge=DOOR_BADGE)  # a day later: the next shift signs in again
    found = client.custody_exceptions()
    assert {x.kind for x in found} == {"custody"} and len(found) == 2
    assert {x.order_number for x in found} == {world["numbers"][world["a"]]}
    assert all("after handover" in x.reason for x in found)
    resumed = client.pickup(pickup_id=pickup.id)
    assert (resumed.state, resumed.cartons) == ("open", 2)


def test_a_door_not_signed_in_is_refused_in_words(
    svc: Services,
    live_server: str,  # noqa: F811
    world: dict[str, Any],
) -> None:
    creds = sign_in(svc, badge="BADGE-OTHER", roles=frozenset({"dispatch"}))
    gw = HttpGateway(base_url=live_server, station_token=creds.station_token)
    try:
        with pytest.raises(ServerRefused) as refused:
            HttpDispatchClient(gateway=gw).open_pickup(carrier="USPS")
    finally:
        gw.close()
    assert refused.value.status == 401 and "badge" in refused.value.detail


def test_a_dead_server_is_unavailable_not_refused() -> None:
    gw = HttpGateway(base_url=f"http://127.0.0.1:{free_port()}", station_token="t", timeout_s=2)
    client = HttpDispatchClient(gateway=gw)
    try:
        for call in (
            lambda: client.open_pickup(carrier="USPS"),
            client.waiting,
            lambda: client.hand_over(pickup_id=1, barcode="EZ1000000001"),
            lambda: client.label(package_id=1),
            lambda: client.void(package_id=1, reason="x"),
            client.custody_exceptions,
            lambda: client.approval(approval_id=1),
        ):
            with pytest.raises(ServerUnavailable):
                call()
    finally:
        gw.close()


def test_pickup_memory_survives_a_restart_and_ignores_garbage(tmp_path: Path) -> None:
    path = tmp_path / "door" / "dispatch-pickup.json"
    memory = PickupMemory(path=path)
    assert memory.load() is None
    memory.save(42)
    assert PickupMemory(path=path).load() == 42
    memory.save(None)
    assert memory.load() is None
    for garbage in ("{not json", "[1, 2]", '{"pickup_id": "7"}', '{"pickup_id": -3}'):
        path.write_text(garbage, encoding="utf-8")
        assert memory.load() is None, garbage

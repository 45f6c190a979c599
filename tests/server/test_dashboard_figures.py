"""Every dashboard figure against a seed small enough to compute by hand (SQLite and PostgreSQL).

The clock stands at 2026-11-25 09:00 UTC when the figures are read; each test says in comments
how the expected numbers come about.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from server.bootstrap import Services
from server.db import dashboard_spend as spend_q
from server.db import shipping_tables as st
from server.db.dashboard_tables import station_health
from server.domain.actor import SYSTEM, Actor
from server.domain.errors import ValidationFailed
from server.domain.locations import LocationKind
from server.services.identity import digest
from shared.contract.dashboard import HeartbeatIn
from tests.server.conftest import Clock
from tests.server.dashboard_world import bought, event, intake, operator, report, station
from tests.server.world import build_world

NINE = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def at(hh: int, mm: int = 0, ss: int = 0, *, day: int = 25) -> datetime:
    return datetime(2026, 11, day, hh, mm, ss, tzinfo=UTC)


def test_backlog_and_orders_at_risk(svc: Services, clock: Clock) -> None:
    world = build_world(svc, skus=("SKU-A", "SKU-B"))
    svc.ledger.receive(sku_id=world.skus["SKU-A"], location_id=world.bins[0], qty=10, actor=SYSTEM)
    bench, _ = station(svc, "bench-1")
    packer = operator(svc, "Pat", "BADGE-PAT", "packer", "picker")
    clock.now = at(5)
    a = intake(svc, "a", ("SKU-A", 1), ship_by=at(8))  # released, overdue
    clock.advance(minutes=10)
    b = intake(svc, "b", ("SKU-A", 1), ship_by=at(11), paid=False)  # allocated, due soon
    clock.advance(minutes=10)
    c = intake(svc, "c", ("SKU-B", 1), ship_by=at(12, 59))  # on hold (no stock), due soon
    clock.advance(minutes=10)
    d = intake(svc, "d", ("ZZZ-9", 1), ship_by=at(14))  # on hold (unmapped), beyond horizon
    clock.advance(minutes=10)
    e = intake(svc, "e", ("SKU-A", 1))  # picking, no ship-by
    clock.advance(minutes=10)
    f = intake(svc, "f", ("SKU-A", 1), ship_by=at(7))  # cancelled: out of every figure
    g = intake(svc, "g", ("SKU-A", 1), ship_by=at(6))  # picked, overdue
    floor = Actor(station_id=bench, operator_id=packer, roles=frozenset({"picker"}))
    svc.tasks.claim(order_id=e, actor=floor)
    svc.tasks.claim(order_id=g, actor=floor)
    lines = [{"line_no": 1, "sku": "SKU-A", "units": 1, "scans": []}]
    assert report(
        svc,
        bench,
        packer,
        event("pick_completed", at(5, 55), order_id=g, operator_id=packer, lines=lines),
    ) == ["applied"]
    svc.orders.cancel(order_id=f, reason="customer changed their mind", actor=SYSTEM)
    states = {o: svc.orders.get(order_id=o).state for o in (a, b, c, d, e, f, g)}
    assert states == {
        a: "released",
        b: "allocated",
        c: "on_hold",
        d: "on_hold",
        e: "picking",
        f: "cancelled",
        g: "picked",
    }

    clock.now = NINE
    backlog = svc.dashboard.backlog()
    counts = {s.stage: s.orders for s in backlog.stages}
    assert [s.stage for s in backlog.stages][:3] == ["received", "accepted", "on_hold"]
    assert counts == {
        "received": 0,
        "accepted": 0,
        "on_hold": 2,
        "backordered": 0,
        "preorder": 0,
        "allocated": 1,
        "released": 1,
        "picking": 1,
        "picked": 1,
        "packing": 0,
        "packed": 0,
        "labelled": 0,
        "handed_over": 0,
    }
    assert backlog.total == 6
    oldest = {s.stage: s.oldest_at for s in backlog.stages}
    assert oldest["on_hold"] == at(5, 20)  # c came before d
    assert oldest["picking"] == at(5, 40) and oldest["packing"] is None

    # Horizon 4 h: ship-by up to 13:00. g (06:00) and a (08:00) are overdue; b (11:00) and
    # c (12:59) due soon; d (14:00) is beyond it, e has no ship-by, f is cancelled.
    risk = svc.dashboard.at_risk()
    assert (risk.horizon_hours, risk.overdue, risk.due_soon) == (4.0, 2, 2)
    assert [(o.order_id, o.overdue) for o in risk.orders] == [
        (g, True),
        (a, True),
        (b, False),
        (c, False),
    ]
    assert risk.orders[0].state == "picked" and risk.orders[0].ship_by == at(6)
    one = svc.dashboard.at_risk(horizon_hours=1, limit=1)  # up to 10:00, one row listed
    assert (one.overdue, one.due_soon, [o.order_id for o in one.orders]) == (2, 0, [g])
    clock.now = at(13, 30)  # later in the day c is overdue too and d comes within reach
    later = svc.dashboard.at_risk()
    assert (later.overdue, later.due_soon) == (4, 1)
    with pytest.raises(ValidationFailed):
        svc.dashboard.at_risk(limit=0)


def test_unallocated_demand_per_sku_with_what_stock_could_cover(
    svc: Services, clock: Clock
) -> None:
    world = build_world(svc, skus=("SKU-A", "SKU-B", "SKU-C"))
    receive = svc.ledger.receive
    receive(sku_id=world.skus["SKU-A"], location_id=world.bins[0], qty=10, actor=SYSTEM)
    receive(sku_id=world.skus["SKU-B"], location_id=world.bins[1], qty=2, actor=SYSTEM)
    quarantine = svc.catalog.create_location(
        warehouse_id=world.warehouse_id, code="Q-01", kind=LocationKind.QUARANTINE, actor=SYSTEM
    )
    receive(sku_id=world.skus["SKU-C"], location_id=quarantine, qty=4, actor=SYSTEM)  # unsellable
    intake(svc, "u1", ("SKU-A", 4))  # released: promised, not demand
    u2 = intake(svc, "u2", ("SKU-B", 3))  # on hold: 2 free cannot cover 3
    u3 = intake(svc, "u3", ("SKU-B", 2), ("SKU-C", 5))  # on hold: SKU-C has no sellable stock
    u4 = intake(svc, "u4", ("ZZZ-9", 7))  # on hold: not mapped
    u5 = intake(svc, "u5", ("SKU-C", 1))
    u6 = intake(svc, "u6", ("SKU-C", 9))
    conflict = next(x for x in svc.exceptions.list(kind="stock_conflict") if x.order_id == u5)
    svc.exceptions.resolve(exception_id=conflict.id, action="backorder", data={}, actor=SYSTEM)
    svc.orders.cancel(order_id=u6, reason="duplicate", actor=SYSTEM)
    assert [svc.orders.get(order_id=o).state for o in (u2, u3, u4, u5)] == [
        "on_hold",
        "on_hold",
        "on_hold",
        "backordered",
    ]

    got = svc.dashboard.unallocated()
    # Units 3 (u2) + 2 + 5 (u3) + 7 (u4) + 1 (u5) = 18 on four orders.
    assert (got.units, got.orders) == (18, 4)
    rows = [(r.sku, r.sku_id, r.units, r.orders, r.available, r.short) for r in got.skus]
    assert rows == [
        ("ZZZ-9", None, 7, 1, 0, 7),
        ("SKU-C", world.skus["SKU-C"], 6, 2, 0, 6),  # the quarantined 4 are not available
        ("SKU-B", world.skus["SKU-B"], 5, 2, 2, 3),
    ]
    assert got.skus[0].name == "not mapped" and got.skus[1].name == "SKU-C"
    assert [r.sku for r in svc.dashboard.unallocated(limit=1).skus] == ["ZZZ-9"]


def test_exception_queue_by_kind_oldest_first_with_actions(svc: Services, clock: Clock) -> None:
    world = build_world(svc, skus=("SKU-A",))
    svc.ledger.receive(sku_id=world.skus["SKU-A"], location_id=world.bins[0], qty=5, actor=SYSTEM)
    clock.now = at(6)
    x1 = intake(svc, "x1", ("SKU-A", 9))  # stock_conflict
    clock.now = at(7)
    x2 = intake(svc, "x2", ("ZZZ-9", 1))  # unmapped_sku
    clock.now = at(7, 30)
    x3 = intake(svc, "x3", ("SKU-A", 1), paid=False)  # payment_not_captured
    clock.now = at(8)
    x4 = intake(svc, "x4", ("SKU-A", 99))  # stock_conflict, then cancelled: closed
    clock.now = at(8, 30)
    csv = svc.csv_intake.import_orders(
        channel_code="shop",
        actor=SYSTEM,
        content="order_id,sku,quantity,unit_price,name,address1,city,postcode,country,phone,"
        "email,paid\nbad-1,SKU-A,notanumber,1.00,A,B,C,D,NL,1,e@x,yes\n",
    )
    assert csv.failed_rows
    svc.orders.cancel(order_id=x4, reason="test", actor=SYSTEM)

    clock.now = NINE
    got = svc.dashboard.exceptions()
    csv_rows = [x for x in svc.exceptions.list() if x.kind == "csv_row"]
    assert got.open == 3 + len(csv_rows)
    kinds = {k.kind: (k.open, k.oldest_at) for k in got.kinds}
    assert kinds["stock_conflict"] == (1, at(6))
    assert kinds["unmapped_sku"] == (1, at(7))
    assert kinds["payment_not_captured"] == (1, at(7, 30))
    assert kinds["csv_row"] == (len(csv_rows), at(8, 30))
    rows = [(r.order_id, r.kind) for r in got.rows]
    assert rows[:3] == [(x1, "stock_conflict"), (x2, "unmapped_sku"), (x3, "payment_not_captured")]
    assert rows[3] == (None, "csv_row") and got.rows[3].order_number is None
    assert got.rows[0].actions == ["retry", "backorder", "allow_split", "cancel"]
    assert got.rows[0].order_number == svc.orders.get(order_id=x1).number
    assert len(svc.dashboard.exceptions(limit=2).rows) == 2


def test_carrier_spend_per_carrier_and_day(svc: Services, clock: Clock) -> None:
    build_world(svc, skus=("SKU-A",))
    orders = [intake(svc, f"s{i}", ("ZZZ-1", 1)) for i in range(8)]
    buys = [
        ("DHL", "10.50", "EUR", at(10, day=24), ("bought",)),
        ("DHL", "4.25", "EUR", datetime(2026, 11, 24, 23, 59, 59, tzinfo=UTC), ("labelled",)),
        ("UPS", "7.00", "EUR", at(8), ("bought", "voided")),  # one live package: spend
        ("UPS", "3.10", "USD", at(8, 30), ("handed_over",)),
        ("DHL", "99.00", "EUR", at(7), ("voided", "voided")),  # refunded: not spend
        ("DHL", "5.00", "EUR", at(23, day=18), ("bought",)),  # before the period
        ("", "1.00", "EUR", at(0, day=19), ("delivered",)),  # no carrier name: the provider's
        ("DHL", "2.00", "EUR", at(0, day=26), ("bought",)),  # tomorrow (clock skew): not yet
    ]
    for oid, (carrier, amount, cur, when, states) in zip(orders, buys, strict=True):
        bought(
            svc,
            order_id=oid,
            carrier=carrier,
            amount=amount,
            currency=cur,
            at=when,
            states=states,
            provider="shippo" if not carrier else "easypost",
        )

    clock.now = NINE
    got = svc.dashboard.spend(days=7)
    assert (got.first_day, got.last_day) == (date(2026, 11, 19), date(2026, 11, 25))
    assert [
        (d.day.isoformat(), d.carrier, d.currency, d.amount, d.shipments) for d in got.days
    ] == [
        ("2026-11-19", "shippo", "EUR", Decimal("1.00"), 1),
        ("2026-11-24", "DHL", "EUR", Decimal("14.75"), 2),
        ("2026-11-25", "UPS", "EUR", Decimal("7.00"), 1),
        ("2026-11-25", "UPS", "USD", Decimal("3.10"), 1),
    ]
    assert [(x.carrier, x.currency, x.amount, x.shipments) for x in got.totals] == [
        ("DHL", "EUR", Decimal("14.75"), 2),
        ("UPS", "EUR", Decimal("7.00"), 1),
        ("UPS", "USD", Decimal("3.10"), 1),
        ("shippo", "EUR", Decimal("1.00"), 1),
    ]
    today = svc.dashboard.spend(days=1)
    assert [(d.carrier, d.amount) for d in today.days] == [
        ("UPS", Decimal("7.00")),
        ("UPS", Decimal("3.10")),
    ]
    with pytest.raises(ValidationFailed):
        svc.dashboard.spend(days=0)


def test_custody_exceptions_and_cartons_awaiting_the_carrier(svc: Services, clock: Clock) -> None:
    build_world(svc, skus=("SKU-A",))
    o1, o2, o3 = (intake(svc, f"c{i}", ("ZZZ-1", 1)) for i in range(3))
    (p1,) = bought(
        svc,
        order_id=o1,
        carrier="DHL",
        amount="5",
        currency="EUR",
        at=at(7, day=24),
        states=("handed_over",),
        handed_over_at=at(8, day=24),
    )  # 25 h ago
    bought(
        svc,
        order_id=o2,
        carrier="DHL",
        amount="5",
        currency="EUR",
        at=at(6),
        states=("handed_over",),
        handed_over_at=at(7),
    )  # 2 h ago: within the cut-off
    bought(
        svc,
        order_id=o3,
        carrier="UPS",
        amount="5",
        currency="EUR",
        at=at(6),
        states=("in_transit",),
        handed_over_at=at(6, 30),
    )  # the carrier has it
    clock.now = NINE
    opened = svc.custody.sweep()
    assert len(opened) == 1

    got = svc.dashboard.custody()
    assert (got.open, got.awaiting_carrier, got.oldest_handover_at) == (1, 2, at(8, day=24))
    (row,) = got.rows
    assert (row.exception_id, row.order_id, row.tracking_number) == (opened[0], o1, f"TRK{o1:04d}1")
    assert row.order_number == svc.orders.get(order_id=o1).number and "DHL" in row.reason
    assert p1  # the package the exception is about


def test_per_bench_units_mis_scans_overrides_idle_and_health(svc: Services, clock: Clock) -> None:
    world = build_world(svc, skus=("SKU-A",))
    svc.ledger.receive(sku_id=world.skus["SKU-A"], location_id=world.bins[0], qty=5, actor=SYSTEM)
    order_id = intake(svc, "w1", ("SKU-A", 1))
    a, _ = station(svc, "bench-a")
    b, _ = station(svc, "bench-b")
    door, _ = station(svc, "door-1", kind="dispatch")
    packer = operator(svc, "Pat", "BADGE-PAT", "packer", "picker")
    operator(svc, "Sue", "BADGE-SUE", "supervisor")
    sup = digest("BADGE-SUE")
    o = {"order_id": order_id, "operator_id": packer}
    statuses = report(
        svc,
        a,
        packer,
        event("unit_picked", at(7, 50), line_no=1, barcode="X", units=5, **o),  # before window
        event("unit_picked", at(8, 10), line_no=1, barcode="X", units=2, **o),
        event("unit_picked", at(8, 12), line_no=1, barcode="X", **o),  # units default to 1
        event("scan_rejected", at(8, 13), reason_code="wrong_item", barcode="Y"),
        event("unit_packed", at(8, 30), line_no=1, barcode="X", units=3, **o),
        event("override", at(8, 31), supervisor_badge_sha256=sup, reason="label torn", **o),
        event("unit_picked", at(8, 33), order_id=999_999, line_no=1, barcode="X"),  # unknown order
        event("unit_packed", at(9, 5), line_no=1, barcode="X", **o),  # bench clock ahead: later
    )
    assert statuses == ["applied"] * 6 + ["rejected", "applied"]
    b_events = [event("scan_rejected", at(8, 59), reason_code="unknown")]
    assert report(svc, b, packer, *b_events) == ["applied"]
    clock.now = at(8, 59, 30)
    svc.dashboard.heartbeat(
        station_id=a,
        report=HeartbeatIn(
            scanner="ok",
            scanner_words="Scanner connected",
            printer="bad",
            printer_words="Printer: out of labels",
            queued=2,
            rejected=1,
        ),
    )
    clock.now = at(8, 50)
    svc.dashboard.heartbeat(station_id=door, report=HeartbeatIn())

    clock.now = NINE
    got = svc.dashboard.benches(window_minutes=60)
    assert (got.window_minutes, got.idle_after_s) == (60, 300)
    by = {x.name: x for x in got.benches}
    assert list(by) == ["bench-a", "bench-b", "door-1"]  # by name
    x = by["bench-a"]
    # In [08:00, 09:00]: picked 2 + 1, packed 3 (the rejected pick is no unit), one mis-scan,
    # one override. Idle: 08:00-08:10 (600 s), 08:13-08:30 (1020 s) and 08:33-09:00 (1620 s);
    # the 2-minute gaps are under the 5-minute threshold.
    assert (x.units_picked, x.units_packed, x.units_per_hour) == (3, 3, 3.0)
    assert (x.mis_scans, x.overrides, x.idle_s, x.last_event_at) == (1, 1, 3240, at(8, 33))
    h = x.health
    assert (h.online, h.scanner, h.printer, h.printer_words, h.queued, h.rejected) == (
        True,
        "ok",
        "bad",
        "Printer: out of labels",
        2,
        1,
    )
    y = by["bench-b"]  # one mis-scan at 08:59: idle from 08:00 to 08:59, the last 60 s is not
    assert (y.mis_scans, y.idle_s, y.health.online, y.health.scanner) == (1, 3540, False, "unknown")
    z = by["door-1"]  # no events at all: the whole hour idle; last heard 10 min ago: offline
    assert (z.idle_s, z.units_per_hour, z.health.online, z.kind) == (3600, 0.0, False, "dispatch")
    assert z.health.last_seen_at == at(8, 50)

    wide = {x.name: x for x in svc.dashboard.benches(window_minutes=120).benches}["bench-a"]
    # From 07:00: 07:00-07:50 idle (3000 s) and the 07:50 pick (5 units) now count.
    assert (wide.units_picked, wide.units_per_hour, wide.idle_s) == (
        8,
        4.0,
        3000 + 1200 + 1020 + 1620,
    )
    with pytest.raises(ValidationFailed):
        svc.dashboard.benches(window_minutes=0)


def test_heartbeat_moves_changed_at_only_when_something_changed(
    svc: Services, clock: Clock
) -> None:
    sid, _ = station(svc, "bench-1")

    def row() -> tuple[datetime, datetime, str]:
        r = svc.uow.read(
            lambda c: c.execute(
                select(station_health).where(station_health.c.station_id == sid)
            ).one()
        )
        return r.last_seen_at, r.changed_at, r.printer

    beat = HeartbeatIn(scanner="ok", printer="ok", queued=0)
    svc.dashboard.heartbeat(station_id=sid, report=beat)
    assert row() == (NINE, NINE, "ok")
    clock.advance(seconds=15)
    svc.dashboard.heartbeat(station_id=sid, report=beat)  # nothing new
    assert row() == (NINE + timedelta(seconds=15), NINE, "ok")
    clock.advance(seconds=15)
    svc.dashboard.heartbeat(station_id=sid, report=beat.model_copy(update={"printer": "bad"}))
    assert row() == (NINE + timedelta(seconds=30), NINE + timedelta(seconds=30), "bad")
    clock.advance(seconds=100)  # silent longer than the online window: coming back is news
    svc.dashboard.heartbeat(station_id=sid, report=beat.model_copy(update={"printer": "bad"}))
    assert row()[1] == NINE + timedelta(seconds=130)
    (bench,) = svc.dashboard.benches().benches
    assert bench.health.online
    clock.advance(seconds=46)
    (bench,) = svc.dashboard.benches().benches
    assert not bench.health.online and bench.health.printer == "bad"


def test_settled_spend_days_are_kept_until_a_void_and_always_equal_a_recount(
    svc: Services, clock: Clock
) -> None:
    """Past days are read once and kept: prove what is shown equals a full recount after
    new purchases, a void of a past day's label, and a purchase that commits after midnight."""
    build_world(svc, skus=("SKU-A",))
    o = [intake(svc, f"v{i}", ("ZZZ-1", 1)) for i in range(5)]
    (old,) = bought(
        svc, order_id=o[0], carrier="DHL", amount="10.00", currency="EUR", at=at(10, day=23)
    )
    bought(svc, order_id=o[1], carrier="DHL", amount="5.00", currency="EUR", at=at(12, day=24))
    bought(svc, order_id=o[2], carrier="UPS", amount="2.00", currency="EUR", at=at(8))
    kept = svc.dashboard.settled_spend

    def recount(first: date, last: date) -> object:
        return svc.uow.read(lambda c: spend_q.carrier_spend(c, first_day=first, last_day=last))

    clock.now = NINE
    week = (date(2026, 11, 19), date(2026, 11, 25))
    assert svc.dashboard.spend(days=7) == recount(*week)
    assert kept.days_read == 6  # 19th to 24th; today is read fresh every time
    bought(svc, order_id=o[3], carrier="UPS", amount="1.00", currency="EUR", at=at(8, 30))
    again = svc.dashboard.spend(days=7)
    assert again == recount(*week) and kept.days_read == 6
    assert [(x.carrier, x.amount) for x in again.totals] == [
        ("DHL", Decimal("15.00")),
        ("UPS", Decimal("3.00")),
    ]

    svc.uow.write(
        lambda c: c.execute(  # what voiding the 23rd's only label does to its row
            update(st.shipment_package)
            .where(st.shipment_package.c.id == old)
            .values(state="voided")
        )
    )
    refunded = svc.dashboard.spend(days=7)
    assert refunded == recount(*week) and kept.days_read == 12  # every past day read again
    assert refunded.totals[0].amount == Decimal("5.00") and refunded.totals[0].carrier == "DHL"

    clock.now = at(0, 5, day=26)  # five minutes after midnight: the 25th is not settled yet
    next_week = (date(2026, 11, 20), date(2026, 11, 26))
    assert svc.dashboard.spend(days=7) == recount(*next_week)
    late = datetime(2026, 11, 25, 23, 59, 59, tzinfo=UTC)  # stamped before, committed after
    bought(svc, order_id=o[4], carrier="UPS", amount="4.00", currency="EUR", at=late)
    assert svc.dashboard.spend(days=7) == recount(*next_week)
    clock.now = at(0, 20, day=26)
    settled = svc.dashboard.spend(days=7)
    assert settled == recount(*next_week)
    assert ("UPS", Decimal("7.00")) in [(x.carrier, x.amount) for x in settled.totals]

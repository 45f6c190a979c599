"""Stock use cases: receive, move, count (the physical count wins), ship, reconcile.

Each public method is one use case in one transaction. Reservation and release live in
allocation.py and use the same row functions in server/db/stock.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, and_, func, select

from server.db import audit, order_records, places, stock
from server.db import tables as t
from server.db.stock import LostRace, MovementRecord
from server.domain.actor import Actor
from server.domain.errors import InsufficientStock, NotFound, ValidationFailed
from server.domain.ledger import Drift, MovementReason, count_correction, drifts
from server.domain.locations import HOLDING_KINDS, LocationKind
from server.domain.orders import OrderState
from server.services.allocation import release_order_reservations
from server.services.context import Clock
from server.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class CountResult:
    stock_level_id: int
    before: int
    after: int
    released_reservations: tuple[int, ...]
    orders_on_hold: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    rows_checked: int
    movements: int
    drifts: tuple[Drift, ...]

    @property
    def clean(self) -> bool:
        return not self.drifts


def _lot(sku_row: object, lot: str | None, expiry: date | None) -> tuple[str, date | None]:
    m = sku_row._mapping  # type: ignore[attr-defined]
    if m["track_lot"] and not lot:
        raise ValidationFailed(f"SKU {m['code']} is lot-tracked: a lot is required")
    if m["track_expiry"] and expiry is None:
        raise ValidationFailed(f"SKU {m['code']} tracks expiry: an expiry date is required")
    return (lot or "", expiry)


class LedgerService:
    def __init__(self, *, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    def receive(
        self,
        *,
        sku_id: int,
        location_id: int,
        qty: int,
        actor: Actor,
        lot: str | None = None,
        expiry: date | None = None,
        unit_cost: Decimal | None = None,
        idempotency_key: str | None = None,
    ) -> int:
        if qty <= 0:
            raise ValidationFailed("a receipt needs a positive quantity")

        def work(conn: Connection) -> int:
            now = self.clock()
            sku_row = conn.execute(select(t.sku).where(t.sku.c.id == sku_id)).first()
            if sku_row is None:
                raise NotFound(f"SKU {sku_id} does not exist")
            lot_code, exp = _lot(sku_row, lot, expiry)
            dest = places.location(conn, location_id)
            if dest.kind not in HOLDING_KINDS:
                raise ValidationFailed(f"{dest.code} is not a place that holds stock")
            vendor = places.virtual(conn, warehouse_id=dest.warehouse_id, kind=LocationKind.VENDOR)
            sid = stock.ensure_row(
                conn,
                location_id=dest.id,
                sku_id=sku_id,
                lot=lot_code,
                expiry=exp,
                unit_cost=unit_cost,
                now=now,
            )
            stock.add_on_hand(conn, sid, qty)
            stock.append_movements(
                conn,
                [
                    MovementRecord(
                        sku_id,
                        lot_code,
                        vendor.id,
                        dest.id,
                        qty,
                        MovementReason.RECEIVE,
                        idempotency_key=idempotency_key,
                    )
                ],
                now=now,
                station_id=actor.station_id,
                operator_id=actor.operator_id,
            )
            return sid

        return self.uow.write(work)

    def move(
        self,
        *,
        stock_level_id: int,
        to_location_id: int,
        qty: int,
        actor: Actor,
        reason: MovementReason = MovementReason.MOVE,
    ) -> int:
        if qty <= 0:
            raise ValidationFailed("a move needs a positive quantity")

        def work(conn: Connection) -> int:
            now = self.clock()
            src = stock.get_row(conn, stock_level_id)
            if src is None:
                raise NotFound(f"stock row {stock_level_id} does not exist")
            dest = places.location(conn, to_location_id)
            if dest.kind not in HOLDING_KINDS:
                raise ValidationFailed(f"{dest.code} is not a place that holds stock")
            if dest.id == src.location_id:
                raise ValidationFailed("source and destination are the same place")
            dest_id = stock.ensure_row(
                conn,
                location_id=dest.id,
                sku_id=src.sku_id,
                lot=src.lot,
                expiry=src.expiry,
                unit_cost=None,
                now=now,
            )
            # Touch both rows in id order: two opposite moves cannot deadlock.
            stock.lock_rows(conn, [src.id, dest_id])
            for sid in sorted((src.id, dest_id)):
                if sid == src.id:
                    try:
                        stock.take_free(conn, src.id, qty)
                    except LostRace as exc:
                        raise InsufficientStock(str(exc)) from exc
                else:
                    stock.add_on_hand(conn, dest_id, qty)
            stock.append_movements(
                conn,
                [MovementRecord(src.sku_id, src.lot, src.location_id, dest.id, qty, reason)],
                now=now,
                station_id=actor.station_id,
                operator_id=actor.operator_id,
            )
            return dest_id

        return self.uow.write(work)

    def apply_count(
        self, *, stock_level_id: int, counted: int, expected_on_hand: int | None, actor: Actor
    ) -> CountResult:
        """A cycle count: the shelf is right and the books follow, with movements to or from
        adjustment locations. Promises the shelf cannot keep are released and their orders go
        to the conflict queue."""

        def work(conn: Connection) -> CountResult:
            now = self.clock()
            row = stock.get_row(conn, stock_level_id, for_update=True)
            if row is None:
                raise NotFound(f"stock row {stock_level_id} does not exist")
            if expected_on_hand is not None and row.on_hand != expected_on_hand:
                raise ValidationFailed(
                    f"the stock changed since the count ({expected_on_hand} then, "
                    f"{row.on_hand} now): count again",
                )
            here = places.location(conn, row.location_id)
            reservations = stock.active_reservations_newest_first(conn, row.id)
            fix = count_correction(
                on_hand=row.on_hand,
                reserved=row.reserved,
                counted=counted,
                reservations=[(rid, qty) for rid, qty, _ in reservations],
            )
            order_of = {rid: oid for rid, _, oid in reservations}
            # An order whose promise breaks gives back all its stock and waits in the conflict
            # queue: a half-reserved order would only block other orders.
            held = list(dict.fromkeys(order_of[rid] for rid, _ in fix.release))
            for order_id in held:
                release_order_reservations(conn, order_id=order_id, now=now)
            records: list[MovementRecord] = []
            if fix.gain:
                gain = places.virtual(
                    conn, warehouse_id=here.warehouse_id, kind=LocationKind.ADJUSTMENT_GAIN
                )
                stock.add_on_hand(conn, row.id, fix.gain)
                records.append(
                    MovementRecord(
                        row.sku_id, row.lot, gain.id, here.id, fix.gain, MovementReason.COUNT_GAIN
                    )
                )
            if fix.loss:
                loss = places.virtual(
                    conn, warehouse_id=here.warehouse_id, kind=LocationKind.ADJUSTMENT_LOSS
                )
                stock.take_free(conn, row.id, fix.loss)
                records.append(
                    MovementRecord(
                        row.sku_id, row.lot, here.id, loss.id, fix.loss, MovementReason.COUNT_LOSS
                    )
                )
            stock.append_movements(
                conn, records, now=now, station_id=actor.station_id, operator_id=actor.operator_id
            )
            for order_id in held:
                _hold_for_count(conn, order_id=order_id, row=row, actor=actor, now=now)
            audit.record(
                conn,
                at=now,
                station_id=actor.station_id,
                operator_id=actor.operator_id,
                entity="stock_level",
                entity_id=row.id,
                action="count",
                detail={"before": row.on_hand, "counted": counted, "released": list(order_of)},
            )
            return CountResult(
                row.id, row.on_hand, counted, tuple(r for r, _ in fix.release), tuple(held)
            )

        return self.uow.write(work)

    def reconcile(self) -> ReconcileReport:
        def work(conn: Connection) -> ReconcileReport:
            return reconcile(conn)

        return self.uow.read(work)


def _hold_for_count(
    conn: Connection, *, order_id: int, row: stock.StockRow, actor: Actor, now: datetime
) -> None:
    ex_id = order_records.open_exception(
        conn,
        order_id=order_id,
        channel_id=None,
        kind="stock_conflict",
        reason="a cycle count found fewer units on the shelf than were reserved",
        detail={"stock_level_id": row.id, "sku_id": row.sku_id},
        recommendation="retry allocation from other stock, or backorder",
        now=now,
    )
    current = order_records.state_of(conn, order_id, for_update=True)
    if current in (OrderState.ALLOCATED, OrderState.RELEASED, OrderState.ACCEPTED):
        order_records.transition(
            conn,
            order_id=order_id,
            target=OrderState.ON_HOLD,
            evidence={"exceptions": [ex_id]},
            actor=actor,
            now=now,
            current=current,
        )


def reconcile(conn: Connection) -> ReconcileReport:
    """Prove every counter equals the sum of its movements and its active reservations."""
    m, loc, sl, r = t.movement, t.location, t.stock_level, t.reservation
    inflow = {
        (a, b, c): int(q)
        for a, b, c, q in conn.execute(
            select(m.c.to_location_id, m.c.sku_id, m.c.lot, func.sum(m.c.qty)).group_by(
                m.c.to_location_id, m.c.sku_id, m.c.lot
            )
        ).all()
    }
    outflow = {
        (a, b, c): int(q)
        for a, b, c, q in conn.execute(
            select(m.c.from_location_id, m.c.sku_id, m.c.lot, func.sum(m.c.qty)).group_by(
                m.c.from_location_id, m.c.sku_id, m.c.lot
            )
        ).all()
    }
    holding = {
        int(i)
        for i in conn.execute(
            select(loc.c.id).where(loc.c.kind.in_([k.value for k in HOLDING_KINDS]))
        ).scalars()
    }
    counters: dict[int, tuple[int, int]] = {}
    keys: dict[tuple[int, int, str], int] = {}
    for sid, lid, sku_id, lot, on_hand, reserved in conn.execute(
        select(sl.c.id, sl.c.location_id, sl.c.sku_id, sl.c.lot, sl.c.on_hand, sl.c.reserved)
    ).all():
        counters[int(sid)] = (int(on_hand), int(reserved))
        keys[(int(lid), int(sku_id), str(lot))] = int(sid)
    ledger: dict[int, int] = {}
    found_extra: list[Drift] = []
    for key in set(inflow) | set(outflow):
        if key[0] not in holding:
            continue
        net = inflow.get(key, 0) - outflow.get(key, 0)
        sid = keys.get(key)
        if sid is None:
            if net:
                # Movements with no counter row at all: report against a synthetic id 0.
                found_extra.append(Drift(0, "on_hand", 0, net))
            continue
        ledger[sid] = net
    reserved = {
        int(a): int(b)
        for a, b in conn.execute(
            select(r.c.stock_level_id, func.sum(r.c.qty))
            .where(and_(r.c.state == "active"))
            .group_by(r.c.stock_level_id)
        ).all()
    }
    total_moves = int(conn.execute(select(func.count()).select_from(m)).scalar_one())
    found = drifts(counters=counters, ledger_on_hand=ledger, active_reserved=reserved)
    return ReconcileReport(len(counters), total_moves, tuple(found + found_extra))


def deduct_order(conn: Connection, *, order_id: int, actor: Actor, now: datetime) -> list[int]:
    """Turn an order's reservations into deductions: stock leaves the shelf for `shipped`.

    Runs in the transaction of the order's shipped (or handed-over) transition, never later
    by a batch job, so the books change exactly when the evidence arrives (domain.md)."""
    r, ol, sl = t.reservation, t.order_line, t.stock_level
    rows = conn.execute(
        select(r.c.id, r.c.stock_level_id, r.c.qty, sl.c.sku_id, sl.c.lot, sl.c.location_id)
        .join(ol, ol.c.id == r.c.order_line_id)
        .join(sl, sl.c.id == r.c.stock_level_id)
        .where(and_(ol.c.order_id == order_id, r.c.state == "active"))
        .order_by(r.c.stock_level_id, r.c.id)
    ).all()
    stock.lock_rows(conn, [x.stock_level_id for x in rows])
    records = []
    for x in rows:
        stock.close_reservation(conn, x.id, state="deducted", now=now)
        stock.deduct_reserved(conn, x.stock_level_id, x.qty)
        here = places.location(conn, x.location_id)
        shipped = places.virtual(conn, warehouse_id=here.warehouse_id, kind=LocationKind.SHIPPED)
        records.append(
            MovementRecord(
                x.sku_id, x.lot, here.id, shipped.id, x.qty, MovementReason.SHIP, order_id=order_id
            )
        )
    stock.append_movements(
        conn, records, now=now, station_id=actor.station_id, operator_id=actor.operator_id
    )
    return [int(x.id) for x in rows]

"""Pick/pack tasks for stations: everything a bench needs to verify scans without a round trip."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, select, update

from server.db import order_records
from server.db import tables as t
from server.domain.actor import Actor
from server.domain.barcode_windows import Window
from server.domain.orders import OrderState
from server.services.context import Clock
from server.services.orders import load_order
from server.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class TaskBarcode:
    value: str
    units: int
    valid_to: str | None


@dataclass(frozen=True, slots=True)
class TaskPick:
    location: str
    lot: str
    expiry: date | None
    qty: int


@dataclass(frozen=True, slots=True)
class TaskLine:
    line_no: int
    sku: str
    name: str
    qty: int
    weight_g: int
    track_lot: bool
    track_serial: bool
    track_expiry: bool
    barcodes: tuple[TaskBarcode, ...]
    picks: tuple[TaskPick, ...]


@dataclass(frozen=True, slots=True)
class Task:
    order_id: int
    number: str
    state: str
    ship_by: str | None
    lines: tuple[TaskLine, ...]


# States in which an order is physically with one bench.
_ON_THE_BENCH = (OrderState.PICKING.value, OrderState.PICKED.value, OrderState.PACKING.value)
# Packed but not labelled (the bench restarted, or set it aside after a refused purchase): the
# bench that packed it finds it again to buy, print and scan its labels.
_RESUMABLE = (*_ON_THE_BENCH, OrderState.PACKED.value)


class TaskService:
    def __init__(self, *, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    def open_tasks(self, *, station_id: int | None, limit: int = 20) -> list[Task]:
        """Released orders, and first the orders this bench already holds: after a restart or
        a power cut the bench finds its half-done work again instead of leaving it stranded."""

        def work(conn: Connection) -> list[Task]:
            so = t.sales_order
            own = (
                conn.execute(
                    select(so.c.id)
                    .where(so.c.station_id == station_id, so.c.state.in_(_RESUMABLE))
                    .order_by(so.c.id)
                )
                .scalars()
                .all()
                if station_id is not None
                else []
            )
            ids = (
                conn.execute(
                    select(so.c.id)
                    .where(so.c.state == OrderState.RELEASED.value)
                    .order_by(so.c.ship_by.is_(None), so.c.ship_by, so.c.id)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
            return [build_task(conn, int(i), self.clock) for i in [*own, *ids][:limit]]

        return self.uow.read(work)

    def claim(self, *, order_id: int, actor: Actor) -> Task:
        """A station takes a released order to pick: it is then on the floor and locked."""

        def work(conn: Connection) -> Task:
            now = self.clock()
            so = t.sales_order
            held = conn.execute(
                select(so.c.state, so.c.station_id)
                .where(so.c.id == order_id)
                .with_for_update(key_share=True)
            ).first()
            if (
                held is not None
                and held.state in _RESUMABLE
                and held.station_id is not None
                and held.station_id == actor.station_id
            ):
                return build_task(conn, order_id, self.clock)  # this bench resumes its own work
            conn.execute(update(so).where(so.c.id == order_id).values(station_id=actor.station_id))
            order_records.transition(
                conn,
                order_id=order_id,
                target=OrderState.PICKING,
                evidence={
                    "claim": {"station_id": actor.station_id, "operator_id": actor.operator_id}
                },
                actor=actor,
                now=now,
            )
            return build_task(conn, order_id, self.clock)

        return self.uow.write(work)


def build_task(conn: Connection, order_id: int, clock: Clock) -> Task:
    now = clock()
    view = load_order(conn, order_id)
    so, ol, s, b = t.sales_order, t.order_line, t.sku, t.barcode
    r, sl, loc = t.reservation, t.stock_level, t.location
    ship_by = conn.execute(select(so.c.ship_by).where(so.c.id == order_id)).scalar()
    rows = conn.execute(
        select(
            ol.c.id,
            ol.c.line_no,
            ol.c.qty,
            s.c.id.label("sku_id"),
            s.c.code,
            s.c.name,
            s.c.weight_g,
            s.c.track_lot,
            s.c.track_serial,
            s.c.track_expiry,
        )
        .join(s, s.c.id == ol.c.sku_id)
        .where(ol.c.order_id == order_id, ol.c.line_no > 0)
        .order_by(ol.c.line_no)
    ).all()
    sku_ids = [x.sku_id for x in rows]
    codes: dict[int, list[TaskBarcode]] = defaultdict(list)
    for x in conn.execute(select(b).where(b.c.sku_id.in_(sku_ids))).all():
        # Every alias valid now is expected: during a relabel window both old and new scan.
        if Window(x.sku_id, x.valid_from, x.valid_to).contains(now):
            codes[x.sku_id].append(
                TaskBarcode(x.value, x.units, x.valid_to.isoformat() if x.valid_to else None)
            )
    picks: dict[int, list[TaskPick]] = defaultdict(list)
    for x in conn.execute(
        select(r.c.order_line_id, r.c.qty, sl.c.lot, sl.c.expiry, loc.c.code)
        .join(sl, sl.c.id == r.c.stock_level_id)
        .join(loc, loc.c.id == sl.c.location_id)
        .where(r.c.order_line_id.in_([x.id for x in rows]), r.c.state == "active")
        .order_by(loc.c.code)
    ).all():
        picks[x.order_line_id].append(TaskPick(x.code, x.lot, x.expiry, x.qty))
    lines = tuple(
        TaskLine(
            x.line_no,
            x.code,
            x.name,
            x.qty,
            x.weight_g,
            x.track_lot,
            x.track_serial,
            x.track_expiry,
            tuple(codes[x.sku_id]),
            tuple(picks[x.id]),
        )
        for x in rows
    )
    return Task(order_id, view.number, view.state, ship_by.isoformat() if ship_by else None, lines)

"""The supervisors' figures as SQL: one function per figure group, each a handful of statements
that stay fast with a million orders (bench/dashboard.py; the partial indexes are in
dashboard_tables). Each takes the caller's connection: the service owns the transaction.

Both databases give the same answers. Where they differ in SQL (time arithmetic, days) the
dialect is asked; SQLite keeps money as text, so its sums are done in Python with Decimal
rather than through SQLite's floats.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    select,
    text,
)

from server.db import shipping_tables as st
from server.db import tables as t
from server.db.dashboard_tables import BEFORE_HANDOVER, OPEN_STAGES, UNALLOCATED, station_health
from server.db.station_event_tables import station_event as se
from shared.contract.dashboard import (
    AtRiskOrder,
    AtRiskOut,
    BacklogOut,
    CustodyOut,
    CustodyRow,
    DemandRow,
    ExceptionKindCount,
    ExceptionQueueOut,
    QueueRow,
    StageCount,
    UnallocatedOut,
)

so, ol, ex = t.sales_order, t.order_line, t.order_exception


def is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def tune(conn: Connection) -> None:
    """Call first in a dashboard read. PostgreSQL's JIT compiles any plan whose estimate passes
    jit_above_cost; the per-row index probes below are estimated high, so it spent 160 ms
    compiling a 55 ms query. SET LOCAL ends with this transaction."""
    if not is_sqlite(conn):
        conn.execute(text("SET LOCAL jit = off"))


def epoch_seconds(conn: Connection, column: Any) -> ColumnElement[Any]:
    if is_sqlite(conn):
        return (func.julianday(column) - 2440587.5) * 86400.0
    return extract("epoch", column)


def utc_day(conn: Connection, column: Any) -> ColumnElement[Any]:
    if is_sqlite(conn):
        return func.substr(column, 1, 10)  # stored as 'YYYY-MM-DD HH:MM:SS' in UTC
    return cast(func.timezone("UTC", column), Date)


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# --- orders ------------------------------------------------------------------------------------


def backlog(conn: Connection, *, now: datetime) -> BacklogOut:
    rows = conn.execute(
        select(so.c.state, func.count(), func.min(so.c.created_at))
        .where(so.c.state.in_(OPEN_STAGES))
        .group_by(so.c.state)
    ).all()
    found = {r[0]: (int(r[1]), r[2]) for r in rows}
    stages = [
        StageCount(stage=s, orders=found.get(s, (0, None))[0], oldest_at=found.get(s, (0, None))[1])
        for s in OPEN_STAGES
    ]
    return BacklogOut(at=now, total=sum(x.orders for x in stages), stages=stages)


def at_risk(conn: Connection, *, now: datetime, horizon: timedelta, limit: int) -> AtRiskOut:
    due = and_(so.c.state.in_(BEFORE_HANDOVER), so.c.ship_by <= now + horizon)
    overdue, total = conn.execute(
        select(
            func.coalesce(func.sum(case((so.c.ship_by < now, 1), else_=0)), 0), func.count()
        ).where(due)
    ).one()
    rows = conn.execute(
        select(so.c.id, so.c.number, so.c.state, so.c.ship_by)
        .where(due)
        .order_by(so.c.ship_by, so.c.id)
        .limit(limit)
    ).all()
    return AtRiskOut(
        at=now,
        horizon_hours=horizon.total_seconds() / 3600,
        overdue=int(overdue),
        due_soon=int(total) - int(overdue),
        orders=[
            AtRiskOrder(
                order_id=r.id,
                number=r.number,
                state=r.state,
                ship_by=r.ship_by,
                overdue=r.ship_by < now,
            )
            for r in rows
        ],
    )


def unallocated(conn: Connection, *, now: datetime, limit: int) -> UnallocatedOut:
    waiting_ids = select(so.c.id).where(so.c.state.in_(UNALLOCATED))
    if is_sqlite(conn):
        waiting: ColumnElement[bool] = ol.c.order_id.in_(waiting_ids)
    else:
        # The few thousand waiting ids as one array, probed in order_line's (order_id, line_no)
        # index: left to itself the planner hash-joins against all of order_line (400 ms at
        # two million lines instead of 30).
        waiting = ol.c.order_id == func.any(func.array(waiting_ids.scalar_subquery()))
    # Lines whose listing is not mapped to a SKU yet are demand too, named by the channel's SKU.
    key = case((ol.c.sku_id.is_(None), ol.c.listing_sku), else_=literal(""))
    rows = conn.execute(
        select(
            ol.c.sku_id,
            key.label("listing"),
            func.sum(ol.c.qty).label("units"),
            func.count(func.distinct(ol.c.order_id)).label("orders"),
            func.sum(func.sum(ol.c.qty)).over().label("all_units"),  # before LIMIT cuts
        )
        .where(waiting)
        .group_by(ol.c.sku_id, key)
        .order_by(func.sum(ol.c.qty).desc(), ol.c.sku_id, key)
        .limit(limit)
    ).all()
    orders = conn.execute(
        select(func.count()).where(so.c.state.in_(UNALLOCATED)).select_from(so)
    ).scalar_one()
    units = int(rows[0].all_units) if rows else 0
    ids = [int(r.sku_id) for r in rows if r.sku_id is not None]
    names: dict[int, tuple[str, str]] = {}
    free: dict[int, int] = {}
    if ids:
        sku, sl, loc = t.sku, t.stock_level, t.location
        names = {
            int(r.id): (r.code, r.name)
            for r in conn.execute(select(sku.c.id, sku.c.code, sku.c.name).where(sku.c.id.in_(ids)))
        }
        free = {
            int(r[0]): int(r[1])
            for r in conn.execute(
                select(sl.c.sku_id, func.sum(sl.c.on_hand - sl.c.reserved))
                .join(loc, loc.c.id == sl.c.location_id)
                .where(sl.c.sku_id.in_(ids), loc.c.sellable.is_(True))
                .group_by(sl.c.sku_id)
            )
        }
    skus = []
    for r in rows:
        sku_id = None if r.sku_id is None else int(r.sku_id)
        code, name = (r.listing, "not mapped") if sku_id is None else names[sku_id]
        available = 0 if sku_id is None else free.get(sku_id, 0)
        skus.append(
            DemandRow(
                sku_id=sku_id,
                sku=code,
                name=name,
                units=int(r.units),
                orders=int(r.orders),
                available=available,
                short=max(0, int(r.units) - max(available, 0)),
            )
        )
    return UnallocatedOut(at=now, units=int(units), orders=int(orders), skus=skus)


# --- the exception queue and custody ------------------------------------------------------------


def exception_queue(
    conn: Connection, *, now: datetime, limit: int, actions: dict[str, tuple[str, ...]]
) -> ExceptionQueueOut:
    kinds = [
        ExceptionKindCount(kind=r[0], open=int(r[1]), oldest_at=r[2])
        for r in conn.execute(
            select(ex.c.kind, func.count(), func.min(ex.c.created_at))
            .where(ex.c.state == "open")
            .group_by(ex.c.kind)
            .order_by(func.count().desc(), ex.c.kind)
        )
    ]
    rows = conn.execute(
        select(
            ex.c.id,
            ex.c.order_id,
            so.c.number,
            ex.c.kind,
            ex.c.reason,
            ex.c.recommendation,
            ex.c.created_at,
        )
        .outerjoin(so, so.c.id == ex.c.order_id)
        .where(ex.c.state == "open")
        .order_by(ex.c.created_at, ex.c.id)
        .limit(limit)
    ).all()
    return ExceptionQueueOut(
        at=now,
        open=sum(k.open for k in kinds),
        kinds=kinds,
        rows=[
            QueueRow(
                id=r.id,
                order_id=r.order_id,
                order_number=r.number,
                kind=r.kind,
                reason=r.reason,
                recommendation=r.recommendation,
                actions=list(actions.get(r.kind, ())),
                created_at=r.created_at,
            )
            for r in rows
        ],
    )


def custody(conn: Connection, *, now: datetime, limit: int) -> CustodyOut:
    pk = st.shipment_package
    is_custody = and_(ex.c.state == "open", ex.c.kind == "custody")
    count = conn.execute(select(func.count()).where(is_custody)).scalar_one()
    rows = conn.execute(
        select(ex.c.id, ex.c.order_id, so.c.number, ex.c.reason, ex.c.detail, ex.c.created_at)
        .outerjoin(so, so.c.id == ex.c.order_id)
        .where(is_custody)
        .order_by(ex.c.created_at, ex.c.id)
        .limit(limit)
    ).all()
    waiting, oldest = conn.execute(
        select(func.count(), func.min(pk.c.handed_over_at)).where(pk.c.state == "handed_over")
    ).one()
    return CustodyOut(
        at=now,
        open=int(count),
        rows=[
            CustodyRow(
                exception_id=r.id,
                order_id=r.order_id,
                order_number=r.number,
                tracking_number=str((r.detail or {}).get("tracking_number", "")),
                reason=r.reason,
                created_at=r.created_at,
            )
            for r in rows
        ],
        awaiting_carrier=int(waiting),
        oldest_handover_at=oldest,
    )


# --- what changed -------------------------------------------------------------------------------


def change_marks(conn: Connection) -> dict[str, Any]:
    """Cheap marks that move whenever a figure group's source rows change (every one is an
    index lookup): the dashboard stream compares them between polls."""
    sh = st.shipment
    row = conn.execute(
        select(
            select(func.max(t.order_transition.c.id)).scalar_subquery(),
            select(func.max(ex.c.id)).scalar_subquery(),
            select(func.count()).where(ex.c.state == "open").scalar_subquery(),
            select(func.max(sh.c.purchased_at)).scalar_subquery(),
            select(func.max(se.c.id)).scalar_subquery(),
            select(func.max(station_health.c.changed_at)).scalar_subquery(),
            select(func.max(t.movement.c.id)).scalar_subquery(),
        )
    ).one()
    return {
        "orders": row[0],
        "exceptions": (row[1], row[2]),
        "spend": row[3],
        "events": row[4],
        "health": row[5],
        "stock": row[6],  # receipts and counts change what stock could cover
    }

"""Stock rows and the movement ledger: the only code that writes stock_level or movement.

Every counter change is a relative, conditional UPDATE checked by rowcount, written in the same
transaction as its movement row. Rows are touched in ascending id order so two transactions that
touch the same rows can never deadlock (architecture.md, Server data).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, and_, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from server.db import tables as t

sl = t.stock_level


class LostRace(Exception):
    """A conditional update matched no row: another transaction took the stock first."""


@dataclass(frozen=True, slots=True)
class StockRow:
    id: int
    location_id: int
    sku_id: int
    lot: str
    expiry: date | None
    on_hand: int
    reserved: int


def _row(r: object) -> StockRow:
    m = r._mapping  # type: ignore[attr-defined]
    return StockRow(
        m["id"], m["location_id"], m["sku_id"], m["lot"], m["expiry"], m["on_hand"], m["reserved"]
    )


def lock_rows(conn: Connection, ids: Iterable[int]) -> None:
    """Lock several counter rows in primary-key order before a multi-row decision.

    FOR NO KEY UPDATE, not FOR UPDATE: inserting a reservation takes a FOR KEY SHARE lock on
    the stock row it references (the foreign key), in pick order. FOR UPDATE conflicts with
    that, so two multi-line orders deadlocked; NO KEY UPDATE (what an UPDATE of non-key
    columns takes anyway) does not, and still orders every counter writer.

    SQLAlchemy renders FOR UPDATE as nothing on SQLite; there the BEGIN IMMEDIATE write lock
    already serialises writers, so the no-op is correct rather than an accident.
    """
    ordered = sorted(set(ids))
    if len(ordered) > 1 and conn.dialect.name == "postgresql":
        conn.execute(
            select(sl.c.id)
            .where(sl.c.id.in_(ordered))
            .order_by(sl.c.id)
            .with_for_update(key_share=True)
        )


def get_row(conn: Connection, stock_level_id: int, *, for_update: bool = False) -> StockRow | None:
    stmt = select(sl).where(sl.c.id == stock_level_id)
    if for_update:
        stmt = stmt.with_for_update(key_share=True)
    r = conn.execute(stmt).first()
    return _row(r) if r else None


def ensure_row(
    conn: Connection,
    *,
    location_id: int,
    sku_id: int,
    lot: str,
    expiry: date | None,
    unit_cost: Decimal | None,
    now: datetime,
) -> int:
    values = {
        "location_id": location_id,
        "sku_id": sku_id,
        "lot": lot,
        "expiry": expiry,
        "unit_cost": unit_cost,
        "received_at": now,
        "on_hand": 0,
        "reserved": 0,
    }
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(dialect_insert(sl).values(**values).on_conflict_do_nothing())
    found = conn.execute(
        select(sl.c.id).where(
            sl.c.location_id == location_id, sl.c.sku_id == sku_id, sl.c.lot == lot
        )
    ).scalar_one()
    return int(found)


def add_on_hand(conn: Connection, stock_level_id: int, qty: int) -> None:
    conn.execute(update(sl).where(sl.c.id == stock_level_id).values(on_hand=sl.c.on_hand + qty))


def take_free(conn: Connection, stock_level_id: int, qty: int) -> None:
    """Remove unreserved units (a move out, a count loss); refuses to dip into reservations."""
    res = conn.execute(
        update(sl)
        .where(sl.c.id == stock_level_id, sl.c.on_hand - sl.c.reserved >= qty)
        .values(on_hand=sl.c.on_hand - qty)
    )
    if res.rowcount != 1:
        raise LostRace(f"stock row {stock_level_id} has fewer than {qty} free units")


def reserve(conn: Connection, stock_level_id: int, qty: int) -> None:
    # The one conditional statement of ledger.md 7.2: under READ COMMITTED a blocked updater
    # re-checks the WHERE against the newest committed row, so two racers cannot both win.
    res = conn.execute(
        update(sl)
        .where(sl.c.id == stock_level_id, sl.c.on_hand - sl.c.reserved >= qty)
        .values(reserved=sl.c.reserved + qty)
    )
    if res.rowcount != 1:
        raise LostRace(f"stock row {stock_level_id} has fewer than {qty} free units")


def unreserve(conn: Connection, stock_level_id: int, qty: int) -> None:
    res = conn.execute(
        update(sl)
        .where(sl.c.id == stock_level_id, sl.c.reserved >= qty)
        .values(reserved=sl.c.reserved - qty)
    )
    if res.rowcount != 1:
        raise LostRace(f"stock row {stock_level_id} has fewer than {qty} reserved units")


def deduct_reserved(conn: Connection, stock_level_id: int, qty: int) -> None:
    res = conn.execute(
        update(sl)
        .where(sl.c.id == stock_level_id, sl.c.reserved >= qty, sl.c.on_hand >= qty)
        .values(on_hand=sl.c.on_hand - qty, reserved=sl.c.reserved - qty)
    )
    if res.rowcount != 1:
        raise LostRace(f"stock row {stock_level_id} does not hold {qty} reserved units")


@dataclass(frozen=True, slots=True)
class MovementRecord:
    sku_id: int
    lot: str
    from_location_id: int
    to_location_id: int
    qty: int
    reason: str
    order_id: int | None = None
    idempotency_key: str | None = None
    note: str | None = None


def append_movements(
    conn: Connection,
    records: Sequence[MovementRecord],
    *,
    now: datetime,
    station_id: int | None,
    operator_id: int | None,
) -> None:
    if not records:
        return
    conn.execute(
        insert(t.movement),
        [
            {
                "sku_id": m.sku_id,
                "lot": m.lot,
                "from_location_id": m.from_location_id,
                "to_location_id": m.to_location_id,
                "qty": m.qty,
                "reason": m.reason,
                "order_id": m.order_id,
                "idempotency_key": m.idempotency_key,
                "note": m.note,
                "station_id": station_id,
                "operator_id": operator_id,
                "created_at": now,
            }
            for m in records
        ],
    )


def active_reservations_newest_first(
    conn: Connection, stock_level_id: int
) -> list[tuple[int, int, int]]:
    """(reservation id, qty, order id) for the row, newest promise first."""
    r, ol = t.reservation, t.order_line
    rows = conn.execute(
        select(r.c.id, r.c.qty, ol.c.order_id)
        .join(ol, ol.c.id == r.c.order_line_id)
        .where(and_(r.c.stock_level_id == stock_level_id, r.c.state == "active"))
        .order_by(r.c.id.desc())
    ).all()
    return [(int(a), int(b), int(c)) for a, b, c in rows]


def close_reservation(conn: Connection, reservation_id: int, *, state: str, now: datetime) -> None:
    r = t.reservation
    res = conn.execute(
        update(r)
        .where(r.c.id == reservation_id, r.c.state == "active")
        .values(state=state, closed_at=now)
    )
    if res.rowcount != 1:
        raise LostRace(f"reservation {reservation_id} is no longer active")


def insert_reservations(
    conn: Connection, picks: Sequence[tuple[int, int, int]], *, now: datetime
) -> list[int]:
    """(order line id, stock row id, qty) -> reservation ids."""
    r = t.reservation
    rows = [
        {"order_line_id": line, "stock_level_id": sid, "qty": qty, "state": "active",
         "created_at": now}
        for line, sid, qty in picks
    ]  # fmt: skip
    if len(rows) == 1:
        return [int(conn.execute(insert(r).values(rows[0]).returning(r.c.id)).scalar_one())]
    res = conn.execute(insert(r).returning(r.c.id, sort_by_parameter_order=True), rows)
    return [int(i) for i in res.scalars()]

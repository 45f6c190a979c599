"""Look-ups of warehouses and locations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from server.db import tables as t
from server.domain.errors import NotFound
from server.domain.locations import LocationKind, virtual_code


@dataclass(frozen=True, slots=True)
class Place:
    id: int
    warehouse_id: int
    code: str
    kind: LocationKind
    sellable: bool


def _place(r: object) -> Place:
    m = r._mapping  # type: ignore[attr-defined]
    return Place(m["id"], m["warehouse_id"], m["code"], LocationKind(m["kind"]), m["sellable"])


def location(conn: Connection, location_id: int) -> Place:
    r = conn.execute(select(t.location).where(t.location.c.id == location_id)).first()
    if r is None:
        raise NotFound(f"location {location_id} does not exist")
    return _place(r)


def location_by_code(conn: Connection, *, warehouse_code: str, code: str) -> Place:
    loc, wh = t.location, t.warehouse
    r = conn.execute(
        select(loc)
        .join(wh, wh.c.id == loc.c.warehouse_id)
        .where(wh.c.code == warehouse_code, loc.c.code == code)
    ).first()
    if r is None:
        raise NotFound(f"location {code} does not exist in warehouse {warehouse_code}")
    return _place(r)


def virtual(conn: Connection, *, warehouse_id: int, kind: LocationKind) -> Place:
    loc = t.location
    r = conn.execute(
        select(loc).where(loc.c.warehouse_id == warehouse_id, loc.c.code == virtual_code(kind))
    ).first()
    if r is None:
        raise NotFound(f"warehouse {warehouse_id} has no {kind.value} location")
    return _place(r)


def warehouse_id_by_code(conn: Connection, code: str) -> int:
    wid = conn.execute(select(t.warehouse.c.id).where(t.warehouse.c.code == code)).scalar()
    if wid is None:
        raise NotFound(f"warehouse {code} does not exist")
    return int(wid)


def warehouse_holding(conn: Connection, order_id: int) -> Any:
    """The warehouse row holding the order's reserved (or shipped) stock: where it ships from."""
    wh, loc, sl, r, ol = t.warehouse, t.location, t.stock_level, t.reservation, t.order_line
    return conn.execute(
        select(wh)
        .join(loc, loc.c.warehouse_id == wh.c.id)
        .join(sl, sl.c.location_id == loc.c.id)
        .join(r, r.c.stock_level_id == sl.c.id)
        .join(ol, ol.c.id == r.c.order_line_id)
        .where(ol.c.order_id == order_id, r.c.state.in_(["active", "deducted"]))
        .order_by(wh.c.id)
        .limit(1)
    ).first()

"""Look-ups of warehouses and locations."""

from __future__ import annotations

from dataclasses import dataclass

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

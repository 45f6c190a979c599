"""Reads and small writes about returns that several use cases share: the RMA and unit views,
which bin a code names, which SKU a returned barcode is, and the RMA's derived state."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, select, update

from server.db import places
from server.db import returns_tables as rt
from server.db import shipping_tables as st
from server.db import tables as t
from server.db.places import Place
from server.domain.errors import NotFound, ValidationFailed
from server.domain.locations import LocationKind, virtual_code
from server.domain.returns import UnitState, rma_state


def lock_rma(conn: Connection, rma_id: int) -> Any:
    """The RMA row, locked: receipts against one RMA are decided one at a time, so two desks
    cannot both count the last authorised unit."""
    r = conn.execute(select(rt.rma).where(rt.rma.c.id == rma_id).with_for_update()).first()
    if r is None:
        raise NotFound(f"RMA {rma_id} does not exist")
    return r


def rma_id_by_number(conn: Connection, number: str) -> int:
    found = conn.execute(select(rt.rma.c.id).where(rt.rma.c.number == number)).scalar()
    if found is None:
        raise NotFound(f"there is no RMA {number}")
    return int(found)


def open_rma_of_order(conn: Connection, order_id: int, *, what: str) -> int:
    ids = [
        int(i)
        for i in conn.execute(
            select(rt.rma.c.id)
            .where(rt.rma.c.order_id == order_id, rt.rma.c.state != "closed")
            .order_by(rt.rma.c.id)
        ).scalars()
    ]
    if not ids:
        raise NotFound(f"{what} has no open RMA: issue one first")
    if len(ids) > 1:
        raise ValidationFailed(f"{what} has {len(ids)} open RMAs: scan the RMA number instead")
    return ids[0]


def order_of_tracking(conn: Connection, tracking: str) -> int | None:
    found = conn.execute(
        select(st.shipment.c.order_id)
        .join(st.shipment_package, st.shipment_package.c.shipment_id == st.shipment.c.id)
        .where(st.shipment_package.c.tracking_number == tracking)
        .limit(1)
    ).scalar()
    return None if found is None else int(found)


def returned_sku(conn: Connection, code: str, *, at: datetime) -> tuple[int, int] | None:
    """(sku id, units) of a returned unit's barcode, or None when the catalog never had it.

    Unlike picking, an alias whose window has ended still identifies the item: a customer sends
    back the unit with the label it was shipped with. The mapping valid now wins, else the
    newest one that has started. A GTIN-14 from the scanner also finds the catalog's shorter
    form of the same GTIN (EAN-13, UPC-A, EAN-8 are stored as entered)."""
    b = t.barcode
    rows = conn.execute(
        select(b.c.sku_id, b.c.units, b.c.valid_from, b.c.valid_to).where(
            b.c.value.in_(_gtin_forms(code.strip())), b.c.valid_from <= at
        )
    ).all()
    if not rows:
        return None
    current = [r for r in rows if r.valid_to is None or r.valid_to > at]
    best = max(current or rows, key=lambda r: r.valid_from)
    return int(best.sku_id), int(best.units)


def _gtin_forms(code: str) -> list[str]:
    forms = [code]
    if len(code) == 14 and code.isdigit():
        for n in (13, 12, 8):
            if not code[: 14 - n].strip("0"):
                forms.append(code[14 - n :])
    return forms


def bin_by_code(conn: Connection, code: str, *, kinds: frozenset[LocationKind]) -> Place:
    """The place a scanned bin code names, which must be of one of `kinds`."""
    loc = t.location
    rows = conn.execute(select(loc.c.id, loc.c.kind).where(loc.c.code == code)).all()
    if not rows:
        raise NotFound(f"there is no bin {code}")
    fitting = [r for r in rows if LocationKind(r.kind) in kinds]
    if not fitting:
        wanted = " or ".join(sorted(k.value for k in kinds))
        raise ValidationFailed(f"{code} is not a {wanted} bin")
    if len(fitting) > 1:
        raise ValidationFailed(f"bin {code} exists in several warehouses: use a unique code")
    return places.location(conn, int(fitting[0].id))


def quarantine_bins(conn: Connection) -> list[tuple[str, str]]:
    """(bin code, warehouse code) of every real quarantine bin (the virtual place excluded)."""
    loc, wh = t.location, t.warehouse
    return [
        (str(a), str(b))
        for a, b in conn.execute(
            select(loc.c.code, wh.c.code)
            .join(wh, wh.c.id == loc.c.warehouse_id)
            .where(
                loc.c.kind == LocationKind.QUARANTINE.value,
                loc.c.code != virtual_code(LocationKind.QUARANTINE),
            )
            .order_by(wh.c.code, loc.c.code)
        ).all()
    ]


def refresh_rma_state(conn: Connection, rma_id: int, *, now: datetime) -> str:
    u = rt.return_unit
    authorised = conn.execute(
        select(func.coalesce(func.sum(rt.rma_line.c.qty), 0)).where(rt.rma_line.c.rma_id == rma_id)
    ).scalar_one()
    received, units, triaged = conn.execute(
        select(
            func.count(u.c.rma_line_id),
            func.count(u.c.id),
            func.coalesce(
                func.sum(case((u.c.state != UnitState.QUARANTINED.value, 1), else_=0)), 0
            ),
        ).where(u.c.rma_id == rma_id)
    ).one()
    state = rma_state(
        authorised=int(authorised), received=int(received), units=int(units), triaged=int(triaged)
    )
    conn.execute(
        update(rt.rma).where(rt.rma.c.id == rma_id).values(state=state.value, updated_at=now)
    )
    return state.value


def _units_query() -> Any:
    u, ol, s, loc, rf = rt.return_unit, t.order_line, t.sku, t.location, rt.refund_trigger
    return (
        select(
            u,
            ol.c.line_no,
            s.c.code.label("sku_code"),
            loc.c.code.label("location_code"),
            rf.c.state.label("refund_state"),
        )
        .outerjoin(rt.rma_line, rt.rma_line.c.id == u.c.rma_line_id)
        .outerjoin(ol, ol.c.id == rt.rma_line.c.order_line_id)
        .outerjoin(s, s.c.id == u.c.sku_id)
        .join(loc, loc.c.id == u.c.location_id)
        .outerjoin(rf, rf.c.unit_id == u.c.id)
    )


def _unit(r: Any) -> dict[str, Any]:
    return {
        "id": int(r.id),
        "rma_id": int(r.rma_id),
        "line_no": None if r.line_no is None else int(r.line_no),
        "sku": r.sku_code,
        "barcode": r.barcode,
        "lot": r.lot,
        "serial": r.serial,
        "condition": r.condition,
        "flag": r.flag,
        "location": r.location_code,
        "state": r.state,
        "refund": r.refund_state,
    }


def unit_view(conn: Connection, unit_id: int) -> dict[str, Any]:
    r = conn.execute(_units_query().where(rt.return_unit.c.id == unit_id)).first()
    if r is None:
        raise NotFound(f"returned unit {unit_id} does not exist")
    return _unit(r)


def unit_views(
    conn: Connection,
    *,
    rma_id: int | None = None,
    state: str | None = None,
    flagged: bool | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    u = rt.return_unit
    stmt = _units_query().order_by(u.c.id).limit(limit)
    if rma_id is not None:
        stmt = stmt.where(u.c.rma_id == rma_id)
    if state is not None:
        stmt = stmt.where(u.c.state == state)
    if flagged is not None:
        stmt = stmt.where(u.c.flag.is_not(None) if flagged else u.c.flag.is_(None))
    return [_unit(r) for r in conn.execute(stmt).all()]


def received_per_line(conn: Connection, rma_id: int) -> dict[int, int]:
    """Units received so far against each RMA line (flagged units not on a line excluded)."""
    u = rt.return_unit
    return {
        int(line): int(n)
        for line, n in conn.execute(
            select(u.c.rma_line_id, func.count())
            .where(u.c.rma_id == rma_id, u.c.rma_line_id.is_not(None))
            .group_by(u.c.rma_line_id)
        ).all()
    }


def rma_view(conn: Connection, rma_id: int, *, at: datetime) -> dict[str, Any]:
    r, so = rt.rma, t.sales_order
    head = conn.execute(
        select(r, so.c.number.label("order_number"))
        .join(so, so.c.id == r.c.order_id)
        .where(r.c.id == rma_id)
    ).first()
    if head is None:
        raise NotFound(f"RMA {rma_id} does not exist")
    rl, ol, s, b = rt.rma_line, t.order_line, t.sku, t.barcode
    received = received_per_line(conn, rma_id)
    lines = conn.execute(
        select(rl, ol.c.line_no, s.c.code, s.c.name, s.c.track_lot)
        .join(ol, ol.c.id == rl.c.order_line_id)
        .join(s, s.c.id == rl.c.sku_id)
        .where(rl.c.rma_id == rma_id)
        .order_by(ol.c.line_no)
    ).all()
    codes: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for x in conn.execute(
        select(b.c.sku_id, b.c.value, b.c.units)
        .where(b.c.sku_id.in_([x.sku_id for x in lines]), b.c.valid_from <= at)
        .order_by(b.c.id)
    ).all():
        # Old aliases too: a returned unit carries the label it was shipped with.
        codes[int(x.sku_id)].append({"value": x.value, "units": int(x.units)})
    return {
        "id": int(head.id),
        "number": head.number,
        "order_id": int(head.order_id),
        "order_number": head.order_number,
        "state": head.state,
        "reason": head.reason,
        "lines": [
            {
                "line_no": int(x.line_no),
                "sku": x.code,
                "name": x.name,
                "qty": int(x.qty),
                "received": int(received.get(x.id, 0)),
                "unit_price": x.unit_price,
                "track_lot": bool(x.track_lot),
                "barcodes": codes[int(x.sku_id)],
            }
            for x in lines
        ],
        "units": unit_views(conn, rma_id=rma_id),
    }


def stock_row_of_unit(conn: Connection, unit: Any) -> int:
    sl = t.stock_level
    found = conn.execute(
        select(sl.c.id).where(
            sl.c.location_id == unit.location_id, sl.c.sku_id == unit.sku_id, sl.c.lot == unit.lot
        )
    ).scalar()
    if found is None:
        raise NotFound(f"returned unit {unit.id} has no stock row where it should be")
    return int(found)

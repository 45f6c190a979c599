"""Order rows, their transitions with evidence, and the exception queue (in-transaction helpers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from server.db import tables as t
from server.db.station_event_tables import station_event
from server.domain.actor import Actor
from server.domain.address import Address
from server.domain.errors import NotFound
from server.domain.orders import OrderState, check_transition


def ship_to_values(address: Address) -> dict[str, str]:
    """The sales_order columns that hold a ship-to address (the one mapping, both ways)."""
    return {
        "ship_name": address.name, "ship_line1": address.line1, "ship_line2": address.line2,
        "ship_city": address.city, "ship_region": address.region,
        "ship_postcode": address.postcode, "ship_country": address.country.upper(),
        "ship_phone": address.phone,
    }  # fmt: skip


def ship_to_of(row: Any) -> Address:
    return Address(
        row.ship_name, row.ship_line1, row.ship_line2, row.ship_city, row.ship_region,
        row.ship_postcode, row.ship_country, row.ship_phone,
    )  # fmt: skip


def set_ship_to(conn: Connection, *, order_id: int, address: Address, now: datetime) -> None:
    so = t.sales_order
    conn.execute(
        update(so).where(so.c.id == order_id).values(**ship_to_values(address), updated_at=now)
    )


def state_of(conn: Connection, order_id: int, *, for_update: bool = False) -> OrderState:
    stmt = select(t.sales_order.c.state).where(t.sales_order.c.id == order_id)
    if for_update:
        stmt = stmt.with_for_update(key_share=True)
    state = conn.execute(stmt).scalar()
    if state is None:
        raise NotFound(f"order {order_id} does not exist")
    return OrderState(state)


def transition(
    conn: Connection,
    *,
    order_id: int,
    target: OrderState,
    evidence: dict[str, Any],
    actor: Actor,
    now: datetime,
    current: OrderState | None = None,
) -> None:
    """Move an order along one edge of the state machine, storing the evidence and an audit row."""
    if current is None:
        current = state_of(conn, order_id, for_update=True)
    transition_chain(
        conn, order_id=order_id, current=current, steps=[(target, evidence)], actor=actor, now=now
    )


def transition_chain(
    conn: Connection,
    *,
    order_id: int,
    current: OrderState,
    steps: list[tuple[OrderState, dict[str, Any]]],
    actor: Actor,
    now: datetime,
) -> OrderState:
    """Several consecutive transitions in one go (e.g. allocated then released): each edge is
    checked with its evidence, then one guarded UPDATE and one insert of the history rows.

    The order_transition row is the audit record of a state change (actor, station, time,
    evidence); writing a second copy into `audit` would only be repetition."""
    state = current
    for target, evidence in steps:
        check_transition(current=state, target=target, evidence=evidence)
        state = target
    res = conn.execute(
        update(t.sales_order)
        .where(t.sales_order.c.id == order_id, t.sales_order.c.state == current.value)
        .values(state=state.value, updated_at=now)
    )
    if res.rowcount != 1:
        raise NotFound(f"order {order_id} is no longer {current.value}")
    history = []
    before = current
    for target, evidence in steps:
        history.append(
            {
                "order_id": order_id,
                "from_state": before.value,
                "to_state": target.value,
                "evidence": evidence,
                "station_id": actor.station_id,
                "operator_id": actor.operator_id,
                "created_at": now,
            }
        )
        before = target
    conn.execute(insert(t.order_transition), history)
    return state


def open_exception(
    conn: Connection,
    *,
    order_id: int | None,
    channel_id: int | None,
    kind: str,
    reason: str,
    detail: dict[str, Any],
    recommendation: str | None,
    now: datetime,
    dedup_key: str | None = None,
) -> int:
    res = conn.execute(
        insert(t.order_exception)
        .values(
            order_id=order_id,
            channel_id=channel_id,
            kind=kind,
            reason=reason,
            detail=detail,
            recommendation=recommendation,
            state="open",
            dedup_key=dedup_key,
            created_at=now,
        )
        .returning(t.order_exception.c.id)
    )
    return int(res.scalar_one())


def open_exception_ids(conn: Connection, order_id: int) -> list[int]:
    ex = t.order_exception
    return [
        int(i)
        for i in conn.execute(
            select(ex.c.id).where(ex.c.order_id == order_id, ex.c.state == "open")
        ).scalars()
    ]


def packed_boxes(conn: Connection, order_id: int) -> list[dict[str, Any]]:
    """The boxes of the bench's last applied pack event (weights where a scale was present);
    empty when the order has not been packed at a bench."""
    se = station_event
    payload = conn.execute(
        select(se.c.payload)
        .where(se.c.order_id == order_id, se.c.kind == "pack_completed", se.c.status == "applied")
        .order_by(se.c.id.desc())
        .limit(1)
    ).scalar()
    boxes = payload.get("boxes") if isinstance(payload, dict) else None
    return [b for b in boxes if isinstance(b, dict)] if isinstance(boxes, list) else []

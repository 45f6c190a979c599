"""The exception / hold queue: every parked order with its reason, and the ways to resolve it.

Nothing here moves an order past `accepted`: resolving a reason sends the order back through
validation and allocation, and release still needs its own evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from server.db import audit, order_records
from server.db import tables as t
from server.domain.actor import Actor
from server.domain.address import Address
from server.domain.errors import ExceptionStateError, NotFound, ValidationFailed
from server.domain.orders import OrderState
from server.services.allocation import AllocationOutcome, AllocationService
from server.services.catalog import map_listing
from server.services.context import Clock
from server.services.intake import validate_order
from server.services.orders import OrderService, _channel_of
from server.services.unit_of_work import UnitOfWork

# What a supervisor may do about each kind of exception.
ACTIONS: dict[str, tuple[str, ...]] = {
    "unmapped_sku": ("map_sku", "cancel"),
    "missing_address": ("set_address", "cancel"),
    "invalid_address": ("set_address", "cancel"),
    "missing_phone": ("set_phone", "cancel"),
    "stock_conflict": ("retry", "backorder", "allow_split", "cancel"),
    "payment_not_captured": ("capture", "cancel"),
    "csv_row": ("dismiss",),
    "late_cancellation": ("dismiss",),
    # The units are released already; a person checks the shelf (and counts it if needed).
    "short_pick": ("dismiss",),
    # Custody (no carrier scan past the cut-off, or a parcel with the carrier whose label was
    # never scanned) and a carrier's own exception: a carrier scan closes custody ones by itself;
    # a person dismisses with what they found (traced by the carrier, found on the dock).
    "custody": ("dismiss",),
    "carrier": ("dismiss",),
}


@dataclass(frozen=True, slots=True)
class ExceptionView:
    id: int
    order_id: int | None
    order_number: str | None
    kind: str
    reason: str
    detail: dict[str, Any]
    recommendation: str | None
    state: str
    actions: tuple[str, ...]
    created_at: datetime


class ExceptionService:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        clock: Clock,
        orders: OrderService,
        allocation: AllocationService,
        origin_country: str | None,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.orders = orders
        self.allocation = allocation
        self.origin_country = origin_country

    def list(
        self, *, state: str = "open", kind: str | None = None, limit: int = 200
    ) -> list[ExceptionView]:
        ex, so = t.order_exception, t.sales_order

        def work(conn: Connection) -> list[ExceptionView]:
            stmt = (
                select(ex, so.c.number)
                .outerjoin(so, so.c.id == ex.c.order_id)
                .where(ex.c.state == state)
                .order_by(ex.c.id)
                .limit(limit)
            )
            if kind:
                stmt = stmt.where(ex.c.kind == kind)
            return [
                ExceptionView(
                    r.id,
                    r.order_id,
                    r.number,
                    r.kind,
                    r.reason,
                    r.detail,
                    r.recommendation,
                    r.state,
                    ACTIONS.get(r.kind, ()),
                    r.created_at,
                )
                for r in conn.execute(stmt).all()
            ]

        return self.uow.read(work)

    def resolve(
        self, *, exception_id: int, action: str, data: dict[str, Any], actor: Actor
    ) -> dict[str, Any]:
        ex = self.uow.read(lambda conn: _exception(conn, exception_id))
        if ex.state != "open":
            raise ExceptionStateError(f"exception {exception_id} is already {ex.state}")
        if action not in ACTIONS.get(ex.kind, ()):
            raise ExceptionStateError(
                f"a {ex.kind} exception is resolved by one of: {', '.join(ACTIONS[ex.kind])}",
                allowed=list(ACTIONS.get(ex.kind, ())),
            )
        if action == "cancel":
            assert ex.order_id is not None
            reason = str(data.get("reason") or f"cancelled from the exception queue ({ex.kind})")
            view = self.orders.cancel(order_id=ex.order_id, reason=reason, actor=actor)
            return {"order_state": view.state}
        if action == "capture":
            assert ex.order_id is not None
            from decimal import Decimal

            view = self.orders.record_capture(
                order_id=ex.order_id,
                reference=str(data.get("reference") or ""),
                amount=Decimal(str(data.get("amount") or "0")),
                currency=str(data.get("currency") or "EUR"),
                source="manual",
                actor=actor,
            )
            return {"order_state": view.state}

        def work(conn: Connection) -> str | None:
            now = self.clock()
            _close(conn, exception_id, action, data, actor, now)
            if ex.order_id is None:
                return None
            if action == "map_sku":
                listing = str(ex.detail.get("listing_sku"))
                sku_id = int(data.get("sku_id") or 0)
                order_row = conn.execute(
                    select(t.sales_order.c.channel_id).where(t.sales_order.c.id == ex.order_id)
                ).scalar_one()
                map_listing(
                    conn,
                    channel_id=order_row,
                    listing_sku=listing,
                    sku_id=sku_id,
                    actor=actor,
                    now=now,
                )
                conn.execute(
                    update(t.order_line)
                    .where(
                        t.order_line.c.order_id == ex.order_id,
                        t.order_line.c.listing_sku == listing,
                    )
                    .values(sku_id=sku_id)
                )
            elif action in ("set_address", "set_phone"):
                _apply_address(conn, ex.order_id, action, data, now)
            return _revalidate(conn, ex.order_id, actor, now, self.origin_country)

        state = self.uow.write(work)
        outcome: AllocationOutcome | None = None
        if ex.order_id is not None and action in ("retry", "allow_split", "backorder"):
            outcome = self._reallocate(ex.order_id, action, actor)
            state = outcome.state.value
        elif state == OrderState.ACCEPTED.value and ex.order_id is not None:
            outcome = self.allocation.allocate(order_id=ex.order_id, actor=actor)
            state = outcome.state.value
        return {"order_state": state}

    def _reallocate(self, order_id: int, action: str, actor: Actor) -> AllocationOutcome:
        def back_to_accepted(conn: Connection) -> None:
            now = self.clock()
            current = order_records.state_of(conn, order_id, for_update=True)
            if current is OrderState.ON_HOLD and not order_records.open_exception_ids(
                conn, order_id
            ):
                order_records.transition(
                    conn,
                    order_id=order_id,
                    target=OrderState.ACCEPTED,
                    evidence={"validation": {"resolved": action}},
                    actor=actor,
                    now=now,
                    current=current,
                )

        self.uow.write(back_to_accepted)
        if action == "backorder":

            def to_backorder(conn: Connection) -> AllocationOutcome:
                now = self.clock()
                current = order_records.state_of(conn, order_id, for_update=True)
                order_records.transition(
                    conn,
                    order_id=order_id,
                    target=OrderState.BACKORDERED,
                    evidence={"shortage": {"decided_by": actor.operator_id}},
                    actor=actor,
                    now=now,
                    current=current,
                )
                return AllocationOutcome(order_id, OrderState.BACKORDERED)

            return self.uow.write(to_backorder)
        return self.allocation.allocate(order_id=order_id, actor=actor)


def _exception(conn: Connection, exception_id: int) -> Any:
    ex = t.order_exception
    r = conn.execute(select(ex).where(ex.c.id == exception_id)).first()
    if r is None:
        raise NotFound(f"exception {exception_id} does not exist")
    return r


def _close(
    conn: Connection,
    exception_id: int,
    action: str,
    data: dict[str, Any],
    actor: Actor,
    now: datetime,
) -> None:
    ex = t.order_exception
    res = conn.execute(
        update(ex)
        .where(ex.c.id == exception_id, ex.c.state == "open")
        .values(state="resolved", resolution=action, resolved_by=actor.operator_id, resolved_at=now)
    )
    if res.rowcount != 1:
        raise ExceptionStateError(f"exception {exception_id} was resolved by someone else")
    audit.record(
        conn,
        at=now,
        station_id=actor.station_id,
        operator_id=actor.operator_id,
        entity="exception",
        entity_id=exception_id,
        action=f"resolve:{action}",
        detail={k: str(v) for k, v in data.items()},
    )


def _apply_address(
    conn: Connection, order_id: int, action: str, data: dict[str, Any], now: datetime
) -> None:
    so = t.sales_order
    if action == "set_phone":
        phone = str(data.get("phone") or "").strip()
        if not phone:
            raise ValidationFailed("give the phone number")
        conn.execute(update(so).where(so.c.id == order_id).values(ship_phone=phone, updated_at=now))
        return
    try:
        a = Address(**{k: str(data.get(k) or "") for k in Address.__slots__})
    except TypeError as exc:
        raise ValidationFailed(f"address fields: {exc}") from exc
    order_records.set_ship_to(conn, order_id=order_id, address=a, now=now)


def _revalidate(
    conn: Connection, order_id: int, actor: Actor, now: datetime, origin: str | None
) -> str:
    current = order_records.state_of(conn, order_id, for_update=True)
    if current is not OrderState.ON_HOLD:
        return current.value
    ex = t.order_exception
    # Close the order's other data exceptions: validation below re-opens what is still wrong.
    conn.execute(
        update(ex)
        .where(
            ex.c.order_id == order_id,
            ex.c.state == "open",
            ex.c.kind.in_(["unmapped_sku", "missing_address", "invalid_address", "missing_phone"]),
        )
        .values(
            state="resolved",
            resolution="revalidated",
            resolved_at=now,
            resolved_by=actor.operator_id,
        )
    )
    if order_records.open_exception_ids(conn, order_id):
        return current.value
    channel = _channel_of(
        conn,
        conn.execute(
            select(t.sales_order.c.channel_id).where(t.sales_order.c.id == order_id)
        ).scalar_one(),
    )
    return validate_order(
        conn,
        order_id=order_id,
        channel=channel,
        actor=actor,
        now=now,
        origin_country=origin,
        current=OrderState.ON_HOLD,
    ).value

"""Allocation: reserve stock for an accepted order, and release it to the floor once it is paid.

The race for the last unit has exactly one winner: reservations are conditional updates, a lost
race rolls the attempt back and re-plans on fresh data, and an order that still cannot be filled
is parked in the conflict queue with a recommended resolution (or waits as a backorder/preorder
when its rule says so).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from server.db import order_records, stock
from server.db import tables as t
from server.db.stock import LostRace
from server.domain.actor import Actor
from server.domain.allocation import (
    Candidate,
    Demand,
    StrategyName,
    distance_km,
    make_strategy,
    plan_allocation,
    recommend,
)
from server.domain.errors import InvalidTransition, NotFound
from server.domain.orders import OrderState
from server.services.context import Clock
from server.services.unit_of_work import UnitOfWork

_ALLOCATABLE = (OrderState.ACCEPTED, OrderState.BACKORDERED, OrderState.PREORDER)


@dataclass(frozen=True, slots=True)
class Rule:
    strategy: StrategyName
    allow_split: bool
    backorder: bool
    preferred_warehouse_id: int | None
    name: str


DEFAULT_RULE = Rule(StrategyName.FIRST_EXPIRED, False, False, None, "default")


@dataclass(frozen=True, slots=True)
class AllocationOutcome:
    order_id: int
    state: OrderState
    reservation_ids: tuple[int, ...] = ()
    exception_id: int | None = None
    recommendation: str | None = None


def rule_for(conn: Connection, channel_id: int) -> Rule:
    r = t.allocation_rule
    row = conn.execute(
        select(r)
        .where(r.c.active.is_(True), (r.c.channel_id == channel_id) | r.c.channel_id.is_(None))
        # A channel's own rule beats the catch-all; then the lowest priority number wins.
        .order_by(r.c.channel_id.is_(None), r.c.priority, r.c.id)
        .limit(1)
    ).first()
    if row is None:
        return DEFAULT_RULE
    return Rule(
        StrategyName(row.strategy),
        row.allow_split,
        row.backorder,
        row.preferred_warehouse_id,
        row.name,
    )


def _destination(conn: Connection, country: str, postcode: str) -> tuple[float, float] | None:
    pc = t.postcode_centroid
    clean = postcode.replace(" ", "").upper()
    prefixes = [clean[:n] for n in range(len(clean), 0, -1)]
    if not prefixes:
        return None
    # Longest known prefix of the postcode wins (full code, then district, then area).
    r = conn.execute(
        select(pc.c.latitude, pc.c.longitude)
        .where(pc.c.country == country, pc.c.prefix.in_(prefixes))
        .order_by(func.length(pc.c.prefix).desc())
        .limit(1)
    ).first()
    return (float(r.latitude), float(r.longitude)) if r is not None else None


def candidates(
    conn: Connection, *, sku_ids: list[int], destination: tuple[float, float] | None
) -> list[Candidate]:
    sl, loc, wh = t.stock_level, t.location, t.warehouse
    rows = conn.execute(
        select(
            sl.c.id,
            sl.c.sku_id,
            sl.c.on_hand,
            sl.c.reserved,
            sl.c.lot,
            sl.c.expiry,
            sl.c.received_at,
            sl.c.unit_cost,
            loc.c.warehouse_id,
            wh.c.latitude,
            wh.c.longitude,
        )
        .join(loc, loc.c.id == sl.c.location_id)
        .join(wh, wh.c.id == loc.c.warehouse_id)
        .where(
            sl.c.sku_id.in_(sku_ids),
            loc.c.sellable.is_(True),
            sl.c.on_hand - sl.c.reserved > 0,
        )
    ).all()
    out = []
    for r in rows:
        dist = None
        if destination is not None and r.latitude is not None and r.longitude is not None:
            dist = distance_km(a=destination, b=(r.latitude, r.longitude))
        out.append(
            Candidate(
                stock_level_id=int(r.id),
                sku_id=int(r.sku_id),
                warehouse_id=int(r.warehouse_id),
                available=int(r.on_hand - r.reserved),
                lot=str(r.lot),
                expiry=r.expiry,
                received_at=r.received_at,
                unit_cost=r.unit_cost,
                distance_km=dist,
            )
        )
    return out


def release_order_reservations(conn: Connection, *, order_id: int, now: datetime) -> list[int]:
    """Give back every active reservation of an order (cancel, edit, hold)."""
    r, ol = t.reservation, t.order_line
    rows = conn.execute(
        select(r.c.id, r.c.stock_level_id, r.c.qty)
        .join(ol, ol.c.id == r.c.order_line_id)
        .where(and_(ol.c.order_id == order_id, r.c.state == "active"))
        .order_by(r.c.stock_level_id, r.c.id)
    ).all()
    stock.lock_rows(conn, [row.stock_level_id for row in rows])
    for row in rows:
        stock.close_reservation(conn, row.id, state="released", now=now)
        stock.unreserve(conn, row.stock_level_id, row.qty)
    return [int(row.id) for row in rows]


def reserve_rows(conn: Connection, picks: list[tuple[int, int, int]]) -> None:
    """The one shared reserving function: (line id, stock row id, qty) picks, rows in id order."""
    per_row: dict[int, int] = defaultdict(int)
    for _, sid, qty in picks:
        per_row[sid] += qty  # two lines of one SKU are checked against the row together
    stock.lock_rows(conn, per_row)
    for sid in sorted(per_row):
        stock.reserve(conn, sid, per_row[sid])


def _capture_columns() -> list[Any]:
    pc, so = t.payment_capture, t.sales_order

    def first(column: Any) -> Any:
        return (
            select(column).where(pc.c.order_id == so.c.id).order_by(pc.c.id).limit(1)
            .scalar_subquery()
        )  # fmt: skip

    return [first(pc.c.reference).label("capture_reference"),
            first(pc.c.source).label("capture_source")]  # fmt: skip


def _payment_evidence(order: Any) -> dict[str, object] | None:
    """Paid is not ready to pick: release needs a stored capture, or a channel that invoices."""
    if order.capture_reference is not None:
        return {"reference": order.capture_reference, "source": order.capture_source}
    if not order.requires_capture:
        return {"waived": "channel does not require capture (invoice / account)"}
    return None


def _await_capture(conn: Connection, *, order_id: int, channel_id: int, now: datetime) -> None:
    ex = t.order_exception
    already = conn.execute(
        select(ex.c.id).where(
            ex.c.order_id == order_id, ex.c.kind == "payment_not_captured", ex.c.state == "open"
        )
    ).first()
    if already is None:
        order_records.open_exception(
            conn, order_id=order_id, channel_id=channel_id, kind="payment_not_captured",
            reason="payment is not captured: the order is allocated but not released to pick",
            detail={}, recommendation="record the payment capture", now=now,
        )  # fmt: skip


class AllocationService:
    def __init__(self, *, uow: UnitOfWork, clock: Clock, attempts: int = 4) -> None:
        self.uow = uow
        self.clock = clock
        self.attempts = attempts

    def waiting_for(self, *, sku_id: int) -> list[int]:
        """Backordered orders that a receipt of this SKU may now fill, oldest first."""
        return self.uow.read(lambda conn: _waiting_for(conn, sku_id))

    def allocate(self, *, order_id: int, actor: Actor) -> AllocationOutcome:
        for _ in range(self.attempts):
            try:
                return self.uow.write(lambda conn: self._allocate(conn, order_id, actor))
            except LostRace:
                continue  # another order took the stock between our read and our write
        return self.uow.write(lambda conn: self._allocate(conn, order_id, actor))

    def _allocate(self, conn: Connection, order_id: int, actor: Actor) -> AllocationOutcome:
        now = self.clock()
        so, ol, s = t.sales_order, t.order_line, t.sku
        # One read of the order, its channel's capture rule and its payment evidence, locking
        # the order row (not the channel's) against a concurrent edit or cancel.
        order = conn.execute(
            select(
                so.c.state,
                so.c.channel_id,
                so.c.ship_country,
                so.c.ship_postcode,
                t.channel.c.requires_capture,
                *_capture_columns(),
            )
            .join(t.channel, t.channel.c.id == so.c.channel_id)
            .where(so.c.id == order_id)
            .with_for_update(of=so, key_share=True)
        ).first()
        if order is None:
            raise NotFound(f"order {order_id} does not exist")
        current = OrderState(order.state)
        if current not in _ALLOCATABLE:
            raise InvalidTransition(
                f"an order that is {current.value} cannot be allocated", state=current.value
            )
        lines = conn.execute(
            select(ol.c.id, ol.c.sku_id, ol.c.qty, s.c.release_date)
            .join(s, s.c.id == ol.c.sku_id)
            .where(ol.c.order_id == order_id, ol.c.line_no > 0)
            .order_by(ol.c.line_no)
        ).all()
        demands = [Demand(int(x.id), int(x.sku_id), int(x.qty)) for x in lines]
        today = now.date()
        release_dates = {int(x.sku_id): x.release_date for x in lines if x.release_date}
        if any(d > today for d in release_dates.values()):
            if current is OrderState.PREORDER:
                return AllocationOutcome(order_id, current)
            order_records.transition(
                conn,
                order_id=order_id,
                target=OrderState.PREORDER,
                evidence={"release_date": max(release_dates.values()).isoformat()},
                actor=actor,
                now=now,
                current=current,
            )
            return AllocationOutcome(order_id, OrderState.PREORDER)
        rule = rule_for(conn, order.channel_id)
        dest = None
        if rule.strategy is StrategyName.PROXIMITY:
            dest = _destination(conn, order.ship_country, order.ship_postcode)
        cands = candidates(conn, sku_ids=sorted({d.sku_id for d in demands}), destination=dest)
        strategy = make_strategy(rule.strategy, preferred_warehouse_id=rule.preferred_warehouse_id)
        plan = plan_allocation(
            demands=demands,
            candidates=cands,
            strategy=strategy,
            allow_split=rule.allow_split,
            today=today,
        )
        if plan.complete:
            picks = [(p.line_id, p.stock_level_id, p.qty) for p in plan.picks]
            ids = stock.insert_reservations(conn, picks, now=now)
            steps: list[tuple[OrderState, dict[str, Any]]] = [
                (OrderState.ALLOCATED, {
                    "reservations": ids, "rule": rule.name, "strategy": rule.strategy.value,
                    "warehouses": list(plan.warehouse_ids),
                }),
            ]  # fmt: skip
            payment = _payment_evidence(order)
            if payment is not None:
                steps.append(
                    (OrderState.RELEASED, {"reservations": ids, "payment_capture": payment})
                )
            else:
                _await_capture(conn, order_id=order_id, channel_id=order.channel_id, now=now)
            state = order_records.transition_chain(
                conn, order_id=order_id, current=current, steps=steps, actor=actor, now=now
            )
            # The contended stock rows are written last, so their locks are held only for
            # this statement and the commit. A lost race raises LostRace: re-plan.
            reserve_rows(conn, picks)
            return AllocationOutcome(order_id, state, tuple(ids))
        shortage = [
            {"line_id": x.line_id, "sku_id": x.sku_id, "missing": x.missing} for x in plan.shortages
        ]
        advice = recommend(
            demands=demands,
            candidates=cands,
            allow_split=rule.allow_split,
            today=today,
            release_dates=release_dates,
        )
        if rule.backorder:
            if current is not OrderState.BACKORDERED:
                order_records.transition(
                    conn,
                    order_id=order_id,
                    target=OrderState.BACKORDERED,
                    evidence={"shortage": shortage},
                    actor=actor,
                    now=now,
                    current=current,
                )
            return AllocationOutcome(order_id, OrderState.BACKORDERED, recommendation=advice)
        ex_id = order_records.open_exception(
            conn,
            order_id=order_id,
            channel_id=order.channel_id,
            kind="stock_conflict",
            reason="not enough free stock to allocate the order",
            detail={"shortage": shortage, "rule": rule.name},
            recommendation=advice,
            now=now,
        )
        order_records.transition(
            conn,
            order_id=order_id,
            target=OrderState.ON_HOLD,
            evidence={"exceptions": [ex_id]},
            actor=actor,
            now=now,
            current=current,
        )
        return AllocationOutcome(order_id, OrderState.ON_HOLD, (), ex_id, advice)


def try_release(conn: Connection, *, order_id: int, actor: Actor, now: datetime) -> OrderState:
    """Release an allocated order to the floor if its payment is captured; otherwise it stays
    allocated (keeping its stock) and the exception queue says what it waits for."""
    so = t.sales_order
    order = conn.execute(
        select(so.c.state, so.c.channel_id, t.channel.c.requires_capture, *_capture_columns())
        .join(t.channel, t.channel.c.id == so.c.channel_id)
        .where(so.c.id == order_id)
    ).one()
    state = OrderState(order.state)
    if state is not OrderState.ALLOCATED:
        return state
    payment = _payment_evidence(order)
    if payment is None:
        _await_capture(conn, order_id=order_id, channel_id=order.channel_id, now=now)
        return state
    return order_records.transition_chain(
        conn, order_id=order_id, current=state, actor=actor, now=now,
        steps=[(OrderState.RELEASED, {"reservations": active_reservation_ids(conn, order_id),
                                      "payment_capture": payment})],
    )  # fmt: skip


def active_reservation_ids(conn: Connection, order_id: int) -> list[int]:
    r, ol = t.reservation, t.order_line
    return [
        int(i)
        for i in conn.execute(
            select(r.c.id)
            .join(ol, ol.c.id == r.c.order_line_id)
            .where(ol.c.order_id == order_id, r.c.state == "active")
        ).scalars()
    ]


def _waiting_for(conn: Connection, sku_id: int) -> list[int]:
    so, ol = t.sales_order, t.order_line
    return [
        int(i)
        for i in conn.execute(
            select(so.c.id)
            .join(ol, ol.c.order_id == so.c.id)
            .where(so.c.state == OrderState.BACKORDERED.value, ol.c.sku_id == sku_id)
            .group_by(so.c.id, so.c.created_at)
            .order_by(so.c.created_at, so.c.id)
        ).scalars()
    ]

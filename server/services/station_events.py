"""Apply the events a station journaled, each exactly once, in the order the bench recorded them.

Each event is its own transaction: the (station, key) row is inserted first, then the effect runs
in the same transaction. A replay finds the row and answers "duplicate" with the first outcome; a
concurrent duplicate blocks on the unique index (PostgreSQL) or the write lock (SQLite) and then
finds it. An event the rules refuse (order cancelled meanwhile, wrong state, bad payload) is rolled
back and stored as "rejected" in a second transaction, so it is answered the same way next time
and never blocks the events queued behind it. Anything else (database down) fails the request:
the events before it are committed, and the station's retry of the batch lands the rest once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.db import audit, order_records, stock
from server.db import tables as t
from server.db.station_event_tables import station_event as se
from server.domain.actor import Actor
from server.domain.errors import DomainError, InvalidTransition, NotFound, ValidationFailed
from server.domain.orders import OrderState
from server.services.approvals import record_bench_override
from server.services.context import Clock
from server.services.label_scans import apply_label_scan
from server.services.unit_of_work import UnitOfWork
from shared.contract.events import (
    NEEDS_ORDER,
    FirstOutcome,
    Override,
    PackageLabelled,
    PackCompleted,
    PickCompleted,
    ResultStatus,
    ShortPick,
    StationEvent,
    parse_payload,
)

SUPERVISOR_ROLES = frozenset({"supervisor", "admin"})


@dataclass(frozen=True, slots=True)
class EventOutcome:
    key: str
    status: ResultStatus
    detail: str = ""
    original: FirstOutcome | None = None  # for a duplicate: what happened the first time


@dataclass(frozen=True, slots=True)
class EventFigure:
    station_id: int
    kind: str
    status: str
    count: int


class _Duplicate(Exception):
    def __init__(self, outcome: EventOutcome) -> None:
        super().__init__(outcome.detail)
        self.outcome = outcome


def event_hash(event: StationEvent) -> str:
    body = json.dumps(event.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


class StationEventService:
    def __init__(self, *, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    def apply_batch(self, *, events: Sequence[StationEvent], actor: Actor) -> list[EventOutcome]:
        if actor.station_id is None:
            raise ValidationFailed("station events come from an enrolled station")
        return [self.apply_one(event=e, actor=actor) for e in events]

    def apply_one(self, *, event: StationEvent, actor: Actor) -> EventOutcome:
        digest = event_hash(event)
        for _ in range(3):
            try:
                return self.uow.write(lambda conn: self._apply(conn, event, actor, digest))
            except _Duplicate as dup:
                return dup.outcome
            except DomainError as exc:
                rejected = self._store_rejected(event, actor, digest, exc.detail)
                if rejected is not None:
                    return rejected
            except IntegrityError:
                pass  # a concurrent duplicate won the key: the next attempt finds its row
        raise AssertionError(f"event {event.key} could neither be applied nor found")

    def figures(self, *, since: datetime | None = None) -> list[EventFigure]:
        """Counts per station, kind and outcome: mis-scans, overrides, units for the dashboard."""

        def work(conn: Connection) -> list[EventFigure]:
            stmt = select(se.c.station_id, se.c.kind, se.c.status, func.count()).group_by(
                se.c.station_id, se.c.kind, se.c.status
            )
            if since is not None:
                stmt = stmt.where(se.c.occurred_at >= since)
            rows = conn.execute(stmt.order_by(se.c.station_id, se.c.kind, se.c.status)).all()
            return [EventFigure(int(a), str(b), str(c), int(d)) for a, b, c, d in rows]

        return self.uow.read(work)

    # --- one event, one transaction -----------------------------------------------------------

    def _apply(
        self, conn: Connection, event: StationEvent, actor: Actor, digest: str
    ) -> EventOutcome:
        _raise_if_seen(conn, actor.station_id, event, digest)
        now = self.clock()
        row_id = _insert_row(conn, event, actor, digest, status="applied", detail="", now=now)
        payload = _payload(event)
        who = _event_actor(conn, event, actor)
        detail = self._effect(conn, event, payload, who, now)
        conn.execute(update(se).where(se.c.id == row_id).values(detail=detail))
        return EventOutcome(event.key, "applied", detail)

    def _store_rejected(
        self, event: StationEvent, actor: Actor, digest: str, detail: str
    ) -> EventOutcome | None:
        def work(conn: Connection) -> EventOutcome:
            _raise_if_seen(conn, actor.station_id, event, digest)
            _insert_row(
                conn, event, actor, digest, status="rejected", detail=detail, now=self.clock()
            )
            return EventOutcome(event.key, "rejected", detail)

        try:
            return self.uow.write(work)
        except _Duplicate as dup:
            return dup.outcome
        except IntegrityError:
            return None

    def _effect(
        self, conn: Connection, event: StationEvent, payload: Any, who: Actor, now: datetime
    ) -> str:
        if event.kind not in NEEDS_ORDER or event.order_id is None:
            return "recorded"
        oid = event.order_id
        kind = event.kind
        if kind in ("unit_picked", "unit_packed"):
            order_records.state_of(conn, oid)  # an unknown order is refused, a cancelled one not
            return "recorded"
        state = order_records.state_of(conn, oid, for_update=True)
        if state is OrderState.CANCELLED:
            raise InvalidTransition(
                f"order {oid} was cancelled meanwhile; this {kind} was not applied "
                "(put the goods back and tell the supervisor)",
                state=state.value,
            )
        evidence_base = {
            "event": event.key,
            "at": event.at.isoformat(),
            "station_id": who.station_id,
            "operator_id": who.operator_id,
        }
        if isinstance(payload, PickCompleted):
            _check_lines(conn, oid, [x.line_no for x in payload.lines])
            pick = {**evidence_base, **payload.model_dump(mode="json")}
            order_records.transition(
                conn,
                order_id=oid,
                target=OrderState.PICKED,
                evidence={"pick": pick},
                actor=who,
                now=now,
                current=state,
            )
            return "order picked"
        if isinstance(payload, PackCompleted):
            pack = {**evidence_base, **payload.model_dump(mode="json")}
            steps: list[tuple[OrderState, dict[str, Any]]] = [(OrderState.PACKED, {"pack": pack})]
            if state is OrderState.PICKED:  # the bench went straight from picking to packing
                steps.insert(0, (OrderState.PACKING, {"pack_start": evidence_base}))
            order_records.transition_chain(
                conn, order_id=oid, current=state, steps=steps, actor=who, now=now
            )
            return "order packed"
        if isinstance(payload, ShortPick):
            return _short_pick(conn, oid, state, payload, event, who, now)
        if isinstance(payload, Override):
            return _override(conn, oid, payload, event, who, now)
        if isinstance(payload, PackageLabelled):
            return apply_label_scan(conn, order_id=oid, state=state, payload=payload,
                                    event=event, who=who, now=now)  # fmt: skip
        raise AssertionError(f"no effect for {kind}")


def _raise_if_seen(
    conn: Connection, station_id: int | None, event: StationEvent, digest: str
) -> None:
    r = conn.execute(
        select(se.c.status, se.c.detail, se.c.request_hash).where(
            se.c.station_id == station_id, se.c.key == event.key
        )
    ).first()
    if r is None:
        return
    if r.request_hash != digest:
        # Same key, different event: a bench bug. Answer it, but never let it overwrite the first.
        raise _Duplicate(
            EventOutcome(
                event.key,
                "rejected",
                "this idempotency key was already used for another event",
                original=_first(r.status),
            )
        )
    raise _Duplicate(EventOutcome(event.key, "duplicate", str(r.detail), original=_first(r.status)))


def _first(status: object) -> FirstOutcome:
    return "rejected" if status == "rejected" else "applied"


def _insert_row(
    conn: Connection,
    event: StationEvent,
    actor: Actor,
    digest: str,
    *,
    status: str,
    detail: str,
    now: datetime,
) -> int:
    res = conn.execute(
        insert(se)
        .values(
            station_id=actor.station_id,
            key=event.key,
            kind=event.kind,
            order_id=event.order_id,
            operator_id=_known_operator(conn, event.operator_id),
            submitted_by=actor.operator_id,
            status=status,
            detail=detail[:2000],
            payload=event.payload,
            request_hash=digest,
            occurred_at=event.at,
            created_at=now,
        )
        .returning(se.c.id)
    )
    return int(res.scalar_one())


def _known_operator(conn: Connection, operator_id: int | None) -> int | None:
    # A rejected event may name an operator the server does not know: keep the row, drop the link.
    if operator_id is None:
        return None
    op = t.operator
    found = conn.execute(select(op.c.id).where(op.c.id == operator_id)).scalar()
    return None if found is None else int(found)


def _payload(event: StationEvent) -> Any:
    if event.kind in NEEDS_ORDER and event.order_id is None:
        raise ValidationFailed(f"a {event.kind} event needs the order id")
    try:
        return parse_payload(event)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc


def _event_actor(conn: Connection, event: StationEvent, actor: Actor) -> Actor:
    """Who did the work: the operator the bench recorded, at the station that sent it."""
    if event.operator_id is None or event.operator_id == actor.operator_id:
        return Actor(actor.station_id, actor.operator_id, actor.roles, actor.name)
    op = t.operator
    r = conn.execute(select(op.c.name, op.c.roles).where(op.c.id == event.operator_id)).first()
    if r is None:
        raise NotFound(f"operator {event.operator_id} is not known to the server")
    return Actor(actor.station_id, event.operator_id, frozenset(r.roles.split(",")), r.name)


def _check_lines(conn: Connection, order_id: int, line_nos: list[int]) -> None:
    ol = t.order_line
    known = set(
        conn.execute(
            select(ol.c.line_no).where(ol.c.order_id == order_id, ol.c.line_no > 0)
        ).scalars()
    )
    unknown = sorted(set(line_nos) - known)
    if unknown:
        raise ValidationFailed(f"order {order_id} has no line {unknown[0]}")


def _short_pick(
    conn: Connection,
    order_id: int,
    state: OrderState,
    p: ShortPick,
    event: StationEvent,
    who: Actor,
    now: datetime,
) -> str:
    if state is not OrderState.PICKING:
        raise InvalidTransition(
            f"a short pick is reported while picking; order {order_id} is {state.value}",
            state=state.value,
        )
    ol, r, s = t.order_line, t.reservation, t.sku
    line = conn.execute(
        select(ol.c.id, ol.c.qty, s.c.code)
        .join(s, s.c.id == ol.c.sku_id)
        .where(ol.c.order_id == order_id, ol.c.line_no == p.line_no)
    ).first()
    if line is None:
        raise ValidationFailed(f"order {order_id} has no line {p.line_no}")
    held = conn.execute(
        select(r.c.id, r.c.stock_level_id, r.c.qty)
        .where(r.c.order_line_id == line.id, r.c.state == "active")
        .order_by(r.c.id.desc())  # the newest promise is given back first
    ).all()
    if sum(int(x.qty) for x in held) < p.missing_qty:
        raise ValidationFailed(
            f"line {p.line_no} holds {sum(int(x.qty) for x in held)} reserved units, "
            f"fewer than the {p.missing_qty} reported missing"
        )
    plan: list[tuple[int, int, int, int]] = []  # reservation, stock row, qty, released
    left = p.missing_qty
    for x in held:
        if left == 0:
            break
        take = min(left, int(x.qty))
        plan.append((int(x.id), int(x.stock_level_id), int(x.qty), take))
        left -= take
    stock.lock_rows(conn, [sid for _, sid, _, _ in plan])
    released = []
    for rid, sid, qty, take in sorted(plan, key=lambda x: (x[1], x[0])):
        stock.close_reservation(conn, rid, state="released", now=now)
        stock.unreserve(conn, sid, take)
        if take < qty:  # keep the rest promised on a fresh row; the closed one is history
            stock.insert_reservations(conn, [(int(line.id), sid, qty - take)], now=now)
        released.append({"reservation_id": rid, "stock_level_id": sid, "qty": take})
    exception_id = order_records.open_exception(
        conn,
        order_id=order_id,
        channel_id=None,
        kind="short_pick",
        reason=f"line {p.line_no} ({line.code}): {p.missing_qty} unit(s) short, {p.reason_code}",
        detail={
            "line_no": p.line_no,
            "sku": line.code,
            "missing_qty": p.missing_qty,
            "reason_code": p.reason_code,
            "note": p.note,
            "station_id": who.station_id,
            "operator_id": who.operator_id,
            "event": event.key,
            "released": released,
        },
        recommendation="count the bin, then re-allocate the missing units or ship short",
        now=now,
        dedup_key=f"short-pick:{who.station_id}:{event.key}",
    )
    return f"{p.missing_qty} unit(s) released; exception {exception_id} opened"


def _override(
    conn: Connection,
    order_id: int,
    p: Override,
    event: StationEvent,
    who: Actor,
    now: datetime,
) -> str:
    op = t.operator
    sup = conn.execute(
        select(op.c.id, op.c.roles, op.c.active).where(op.c.badge_hash == p.supervisor_badge_sha256)
    ).first()
    if sup is None or not sup.active or not SUPERVISOR_ROLES & set(sup.roles.split(",")):
        raise ValidationFailed("the badge given for the override is not an active supervisor's")
    if sup.id == who.operator_id:
        raise ValidationFailed("a supervisor cannot override their own scan")
    number = conn.execute(
        select(t.sales_order.c.number).where(t.sales_order.c.id == order_id)
    ).scalar()
    # In the approvals log too: requested by the packer, approved by the badge's supervisor.
    approval_id = record_bench_override(
        conn,
        payload={
            "order_id": order_id,
            "order_number": number,
            "line_no": p.line_no,
            "bypassed": p.bypassed or "scan",
            "reason": p.reason,
            "event": event.key,
            "at": event.at.isoformat(),
        },
        reason=p.reason,
        requester=who,
        supervisor_id=int(sup.id),
        now=now,
    )
    audit.record(
        conn,
        at=now,
        station_id=who.station_id,
        operator_id=who.operator_id,
        entity="order",
        entity_id=order_id,
        action="override",
        detail={
            **p.model_dump(mode="json"),
            "supervisor_id": sup.id,
            "event": event.key,
            "at": event.at.isoformat(),
            "approval_id": approval_id,
        },
    )
    return f"override recorded (approval {approval_id})"

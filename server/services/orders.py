"""Order use cases after intake: view, edit, cancel, capture, evidence-backed transitions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.db import audit, order_records
from server.db import tables as t
from server.domain.actor import Actor
from server.domain.address import Address
from server.domain.errors import DuplicateEntry, Forbidden, NotFound, ValidationFailed
from server.domain.intake import IncomingLine
from server.domain.orders import EDITABLE, OrderState, ensure_editable
from server.services.allocation import release_order_reservations, try_release
from server.services.context import Clock
from server.services.intake import channel_by_code, listing_map, validate_order
from server.services.ledger import deduct_order
from server.services.live_events import LiveEvents
from server.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class LineView:
    line_no: int
    listing_sku: str
    sku_id: int | None
    qty: int
    unit_price: Decimal
    reserved: int


@dataclass(frozen=True, slots=True)
class OrderView:
    id: int
    number: str
    channel: str
    external_id: str
    state: str
    payment_captured: bool
    address: Address
    email: str
    lines: tuple[LineView, ...]
    open_exceptions: tuple[int, ...]
    transitions: tuple[dict[str, Any], ...]


def load_order(conn: Connection, order_id: int) -> OrderView:
    so, ol, ch, r = t.sales_order, t.order_line, t.channel, t.reservation
    o = conn.execute(
        select(so, ch.c.code.label("channel_code"))
        .join(ch, ch.c.id == so.c.channel_id)
        .where(so.c.id == order_id)
    ).first()
    if o is None:
        raise NotFound(f"order {order_id} does not exist")
    reserved: dict[int, int] = {}
    for line_id, qty in conn.execute(
        select(r.c.order_line_id, r.c.qty)
        .join(ol, ol.c.id == r.c.order_line_id)
        .where(ol.c.order_id == order_id, r.c.state == "active")
    ).all():
        reserved[int(line_id)] = reserved.get(int(line_id), 0) + int(qty)
    lines = tuple(
        LineView(x.line_no, x.listing_sku, x.sku_id, x.qty, x.unit_price, reserved.get(x.id, 0))
        for x in conn.execute(
            select(ol).where(ol.c.order_id == order_id, ol.c.line_no > 0).order_by(ol.c.line_no)
        ).all()
    )
    ot = t.order_transition
    transitions = tuple(
        {
            "from": x.from_state,
            "to": x.to_state,
            "evidence": x.evidence,
            "station_id": x.station_id,
            "operator_id": x.operator_id,
            "at": x.created_at.isoformat(),
        }
        for x in conn.execute(select(ot).where(ot.c.order_id == order_id).order_by(ot.c.id)).all()
    )
    return OrderView(
        id=o.id,
        number=o.number,
        channel=o.channel_code,
        external_id=o.external_id,
        state=o.state,
        payment_captured=o.payment_captured,
        address=order_records.ship_to_of(o),
        email=o.email,
        lines=lines,
        open_exceptions=tuple(order_records.open_exception_ids(conn, order_id)),
        transitions=transitions,
    )


def order_id_by_number(conn: Connection, number: str) -> int:
    oid = conn.execute(select(t.sales_order.c.id).where(t.sales_order.c.number == number)).scalar()
    if oid is None:
        raise NotFound(f"order {number} does not exist")
    return int(oid)


class OrderService:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        clock: Clock,
        origin_country: str | None,
        deduct_at: OrderState = OrderState.SHIPPED,
        live: LiveEvents | None = None,
    ) -> None:
        # Stations at the bench hear about cancels and edits through this, after commit.
        self.live = live
        # The reservation becomes a deduction at carrier custody, or at handover if configured.
        self.deduct_at = deduct_at
        self.uow = uow
        self.clock = clock
        self.origin_country = origin_country

    def get(self, *, order_id: int) -> OrderView:
        return self.uow.read(lambda conn: load_order(conn, order_id))

    def get_by_number(self, *, number: str) -> OrderView:
        return self.uow.read(lambda conn: load_order(conn, order_id_by_number(conn, number)))

    def cancel(self, *, order_id: int, reason: str, actor: Actor) -> OrderView:
        if not reason.strip():
            raise ValidationFailed("a cancellation needs a reason")

        def work(conn: Connection) -> OrderView:
            now = self.clock()
            current = order_records.state_of(conn, order_id, for_update=True)
            ensure_editable(state=current, action="cancel")
            released = release_order_reservations(conn, order_id=order_id, now=now)
            _close_open_exceptions(conn, order_id, actor, now, "order cancelled")
            order_records.transition(
                conn,
                order_id=order_id,
                target=OrderState.CANCELLED,
                evidence={"cancellation": {"reason": reason, "released": released}},
                actor=actor,
                now=now,
                current=current,
            )
            return load_order(conn, order_id)

        return self._announce(self.uow.write(work), "cancelled")

    def _announce(self, view: OrderView, change: str) -> OrderView:
        if self.live is not None:
            self.live.publish_order_changed(order_id=view.id, state=view.state, change=change)
        return view

    def edit(
        self,
        *,
        order_id: int,
        actor: Actor,
        address: Address | None = None,
        lines: tuple[IncomingLine, ...] | None = None,
    ) -> OrderView:
        """Edit before picking: reservations are given back and the order is validated again."""

        def work(conn: Connection) -> OrderView:
            now = self.clock()
            current = order_records.state_of(conn, order_id, for_update=True)
            ensure_editable(state=current, action="edit")
            so = t.sales_order
            o = conn.execute(select(so).where(so.c.id == order_id)).one()
            release_order_reservations(conn, order_id=order_id, now=now)
            changes: dict[str, Any] = {}
            if address is not None:
                order_records.set_ship_to(conn, order_id=order_id, address=address, now=now)
                changes["address"] = True
            if lines is not None:
                if not lines or any(x.qty <= 0 for x in lines):
                    raise ValidationFailed("an order needs lines with positive quantities")
                _replace_lines(conn, order_id, o.channel_id, lines)
                changes["lines"] = len(lines)
            _close_open_exceptions(conn, order_id, actor, now, "order edited")
            audit.record(
                conn,
                at=now,
                station_id=actor.station_id,
                operator_id=actor.operator_id,
                entity="order",
                entity_id=order_id,
                action="edit",
                detail=changes,
            )
            if current is not OrderState.RECEIVED:
                # Back to the start of the pipeline: validation decides where it goes next.
                channel = _channel_of(conn, o.channel_id)
                interim = OrderState.ACCEPTED if current is not OrderState.ON_HOLD else current
                if current not in (OrderState.ACCEPTED, OrderState.ON_HOLD):
                    order_records.transition(
                        conn,
                        order_id=order_id,
                        target=OrderState.ACCEPTED,
                        evidence={"validation": {"edited": list(changes)}},
                        actor=actor,
                        now=now,
                        current=current,
                    )
                if interim is OrderState.ACCEPTED:
                    _park_if_invalid(conn, order_id, channel, actor, now, self.origin_country)
                else:
                    validate_order(
                        conn,
                        order_id=order_id,
                        channel=channel,
                        actor=actor,
                        now=now,
                        origin_country=self.origin_country,
                        current=OrderState.ON_HOLD,
                    )
            return load_order(conn, order_id)

        return self._announce(self.uow.write(work), "edited")

    def record_capture(
        self,
        *,
        order_id: int,
        reference: str,
        amount: Decimal,
        currency: str,
        source: str,
        actor: Actor,
    ) -> OrderView:
        if not reference.strip():
            raise ValidationFailed("a payment capture needs the processor's reference")

        def work(conn: Connection) -> OrderView:
            now = self.clock()
            pc = t.payment_capture
            exists = conn.execute(
                select(pc.c.id).where(pc.c.order_id == order_id, pc.c.reference == reference)
            ).first()
            if exists is None:
                order_records.state_of(conn, order_id, for_update=True)
                conn.execute(
                    insert(pc).values(
                        order_id=order_id,
                        reference=reference,
                        amount=amount,
                        currency=currency.upper(),
                        source=source,
                        created_at=now,
                    )
                )
                conn.execute(
                    update(t.sales_order)
                    .where(t.sales_order.c.id == order_id)
                    .values(payment_captured=True, updated_at=now)
                )
                ex = t.order_exception
                conn.execute(
                    update(ex)
                    .where(
                        ex.c.order_id == order_id,
                        ex.c.kind == "payment_not_captured",
                        ex.c.state == "open",
                    )
                    .values(
                        state="resolved",
                        resolution=f"payment captured: {reference}",
                        resolved_by=actor.operator_id,
                        resolved_at=now,
                    )
                )
                audit.record(
                    conn,
                    at=now,
                    station_id=actor.station_id,
                    operator_id=actor.operator_id,
                    entity="order",
                    entity_id=order_id,
                    action="payment_capture",
                    detail={"reference": reference, "amount": str(amount)},
                )
            try_release(conn, order_id=order_id, actor=actor, now=now)
            return load_order(conn, order_id)

        return self.uow.write(work)

    def transition(
        self, *, order_id: int, target: OrderState, evidence: dict[str, Any], actor: Actor
    ) -> OrderView:
        """A floor transition reported with its evidence (picked, packed, labelled, ...)."""
        if target in (OrderState.ALLOCATED, OrderState.RELEASED, OrderState.CANCELLED):
            raise Forbidden(f"{target.value} is reached through its own operation, not directly")

        def work(conn: Connection) -> OrderView:
            now = self.clock()
            order_records.transition(
                conn, order_id=order_id, target=target, evidence=evidence, actor=actor, now=now
            )
            if target is self.deduct_at:
                deduct_order(conn, order_id=order_id, actor=actor, now=now)
            return load_order(conn, order_id)

        return self.uow.write(work)

    def create_channel(
        self,
        *,
        code: str,
        kind: str,
        name: str,
        actor: Actor,
        webhook_secret: str | None = None,
        requires_phone: bool = False,
        requires_capture: bool = True,
    ) -> int:
        def work(conn: Connection) -> int:
            now = self.clock()
            if conn.execute(select(t.channel.c.id).where(t.channel.c.code == code)).first():
                raise DuplicateEntry(f"channel {code} already exists")
            cid = conn.execute(
                insert(t.channel)
                .values(
                    code=code,
                    kind=kind,
                    name=name,
                    webhook_secret=webhook_secret,
                    requires_phone=requires_phone,
                    requires_capture=requires_capture,
                    created_at=now,
                )
                .returning(t.channel.c.id)
            ).scalar_one()
            audit.record(
                conn,
                at=now,
                station_id=actor.station_id,
                operator_id=actor.operator_id,
                entity="channel",
                entity_id=cid,
                action="create",
                detail={"code": code},
            )
            return int(cid)

        return self.uow.write(work)

    def cancel_external(
        self, *, channel_code: str, external_id: str, reason: str, actor: Actor
    ) -> OrderView:
        """A channel cancelled the order. Before picking that is free; after it, the order is
        already on the floor, so a supervisor must intercept it: it goes to the exception queue."""
        oid = self.uow.read(lambda conn: _order_id_external(conn, channel_code, external_id))
        view = self.get(order_id=oid)
        if view.state == OrderState.CANCELLED.value:
            return view
        if OrderState(view.state) in EDITABLE:
            return self.cancel(order_id=oid, reason=reason, actor=actor)

        def park(conn: Connection) -> OrderView:
            order_records.open_exception(
                conn,
                order_id=oid,
                channel_id=None,
                kind="late_cancellation",
                reason=f"the channel cancelled the order while it is {view.state}",
                detail={"channel": channel_code},
                now=self.clock(),
                recommendation="intercept the parcel or take it back as a return",
                dedup_key=f"late-cancel:{oid}",
            )
            return load_order(conn, oid)

        try:
            return self.uow.write(park)
        except IntegrityError:
            return self.get(order_id=oid)  # a retried delivery: already parked once

    def channel_secret(self, code: str) -> str | None:
        return self.uow.read(lambda conn: channel_by_code(conn, code).webhook_secret)

    def channel_id(self, code: str) -> int:
        return self.uow.read(lambda conn: channel_by_code(conn, code).id)


def _channel_of(conn: Connection, channel_id: int) -> Any:
    code = conn.execute(select(t.channel.c.code).where(t.channel.c.id == channel_id)).scalar_one()
    return channel_by_code(conn, code)


def _park_if_invalid(
    conn: Connection,
    order_id: int,
    channel: Any,
    actor: Actor,
    now: datetime,
    origin_country: str | None,
) -> None:
    # validate_order moves RECEIVED -> ACCEPTED/ON_HOLD; an accepted order that turns out invalid
    # after an edit goes on hold through the same checks.
    so = t.sales_order
    conn.execute(update(so).where(so.c.id == order_id).values(state=OrderState.RECEIVED.value))
    validate_order(
        conn,
        order_id=order_id,
        channel=channel,
        actor=actor,
        now=now,
        origin_country=origin_country,
        current=OrderState.RECEIVED,
    )


def _replace_lines(
    conn: Connection, order_id: int, channel_id: int, lines: tuple[IncomingLine, ...]
) -> None:
    ol = t.order_line
    # Lines of an editable order hold no active reservation any more (released above), but closed
    # reservation rows still point at the old lines: those are retired to negative line numbers
    # (history stays intact) and every reader looks at line_no > 0 only.
    max_no = conn.execute(select(ol.c.line_no).where(ol.c.order_id == order_id)).scalars().all()
    offset = max(max_no, default=0)
    conn.execute(
        update(ol).where(ol.c.order_id == order_id).values(line_no=-(ol.c.line_no + offset))
    )
    mapping = listing_map(conn, channel_id, [x.listing_sku for x in lines])
    conn.execute(
        insert(ol),
        [
            {
                "order_id": order_id,
                "line_no": no,
                "listing_sku": x.listing_sku,
                "sku_id": mapping.get(x.listing_sku),
                "qty": x.qty,
                "unit_price": x.unit_price,
                "title": x.title,
            }
            for no, x in enumerate(lines, start=1)
        ],
    )


def _close_open_exceptions(
    conn: Connection, order_id: int, actor: Actor, now: datetime, why: str
) -> None:
    ex = t.order_exception
    conn.execute(
        update(ex)
        .where(ex.c.order_id == order_id, ex.c.state == "open")
        .values(state="resolved", resolution=why, resolved_by=actor.operator_id, resolved_at=now)
    )


def _order_id_external(conn: Connection, channel_code: str, external_id: str) -> int:
    so, ch = t.sales_order, t.channel
    oid = conn.execute(
        select(so.c.id)
        .join(ch, ch.c.id == so.c.channel_id)
        .where(ch.c.code == channel_code, so.c.external_id == external_id)
    ).scalar()
    if oid is None:
        raise NotFound(f"no order {external_id} from channel {channel_code}")
    return int(oid)

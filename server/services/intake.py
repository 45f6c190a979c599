"""Order intake through every door, landing each order exactly once.

Two layers of deduplication (ledger.md 4.1): an idempotency key whose stored response is replayed
(a different body under the same key is refused), and the permanent unique key
(channel, external order id) that still catches a replay days later or a CSV re-import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.db import audit, order_records
from server.db import tables as t
from server.domain.actor import Actor
from server.domain.address import Address, address_problems
from server.domain.errors import IdempotencyMismatch, NotFound, ValidationFailed
from server.domain.intake import IncomingOrder
from server.domain.orders import OrderState
from server.services.context import Clock
from server.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    scope: str
    key: str
    request_hash: str


@dataclass(frozen=True, slots=True)
class IntakeResult:
    order_id: int
    number: str
    state: str
    created: bool
    replayed: bool = False

    def body(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "number": self.number,
            "state": self.state,
            "created": self.created,
        }


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    id: int
    code: str
    requires_phone: bool
    requires_capture: bool
    webhook_secret: str | None


def channel_by_code(conn: Connection, code: str) -> ChannelInfo:
    c = t.channel
    r = conn.execute(select(c).where(c.c.code == code)).first()
    if r is None:
        raise NotFound(f"channel {code} does not exist")
    return ChannelInfo(r.id, r.code, r.requires_phone, r.requires_capture, r.webhook_secret)


def stored_response(conn: Connection, claim: IdempotencyClaim) -> tuple[int, dict[str, Any]] | None:
    k = t.idempotency_key
    r = conn.execute(
        select(k.c.request_hash, k.c.response_code, k.c.response_body).where(
            k.c.scope == claim.scope, k.c.key == claim.key
        )
    ).first()
    if r is None:
        return None
    if r.request_hash != claim.request_hash:
        raise IdempotencyMismatch(
            f"idempotency key {claim.key} was already used with a different request body",
            key=claim.key,
        )
    return int(r.response_code), dict(r.response_body)


def store_response(
    conn: Connection, claim: IdempotencyClaim, *, code: int, body: dict[str, Any], now: datetime
) -> None:
    # Inserted in the same transaction as the work: a concurrent duplicate blocks on the unique
    # index (PostgreSQL) or the write lock (SQLite) and then finds this row.
    conn.execute(
        insert(t.idempotency_key).values(
            scope=claim.scope,
            key=claim.key,
            request_hash=claim.request_hash,
            response_code=code,
            response_body=body,
            created_at=now,
        )
    )


class IntakeService:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        clock: Clock,
        origin_country: str | None,
        phone_international: bool,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.origin_country = origin_country
        self.phone_international = phone_international

    def ingest(
        self,
        *,
        channel_code: str,
        order: IncomingOrder,
        actor: Actor,
        claim: IdempotencyClaim | None = None,
    ) -> IntakeResult:
        if not order.external_id.strip():
            raise ValidationFailed("an order needs its channel's order id")
        if not order.lines:
            raise ValidationFailed("an order needs at least one line")
        if any(line.qty <= 0 for line in order.lines):
            raise ValidationFailed("every order line needs a positive quantity")

        def work(conn: Connection) -> IntakeResult:
            return self.ingest_in(
                conn, channel_code=channel_code, order=order, actor=actor, claim=claim
            )

        # A concurrent duplicate that lost the unique-key race is re-run: it then finds the
        # winner's order (or stored response) and answers with it.
        for attempt in range(3):
            try:
                return self.uow.write(work)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def ingest_in(
        self,
        conn: Connection,
        *,
        channel_code: str,
        order: IncomingOrder,
        actor: Actor,
        claim: IdempotencyClaim | None,
    ) -> IntakeResult:
        now = self.clock()
        if claim is not None:
            stored = stored_response(conn, claim)
            if stored is not None:
                body = stored[1]
                return IntakeResult(
                    body["order_id"], body["number"], body["state"], False, replayed=True
                )
        channel = channel_by_code(conn, channel_code)
        so = t.sales_order
        existing = conn.execute(
            select(so.c.id, so.c.number, so.c.state).where(
                so.c.channel_id == channel.id, so.c.external_id == order.external_id
            )
        ).first()
        if existing is not None:
            result = IntakeResult(existing.id, existing.number, existing.state, created=False)
        else:
            result = self._create(conn, channel, order, actor, now)
        if claim is not None:
            store_response(
                conn, claim, code=201 if result.created else 200, body=result.body(), now=now
            )
        return result

    def _create(
        self,
        conn: Connection,
        channel: ChannelInfo,
        order: IncomingOrder,
        actor: Actor,
        now: datetime,
    ) -> IntakeResult:
        so, ol = t.sales_order, t.order_line
        a = order.address
        order_id = int(
            conn.execute(
                insert(so)
                .values(
                    number=f"tmp-{channel.id}-{order.external_id}"[:40],
                    channel_id=channel.id,
                    external_id=order.external_id,
                    kind=order.kind,
                    state=OrderState.RECEIVED.value,
                    payment_captured=order.payment_captured,
                    ship_name=a.name,
                    ship_line1=a.line1,
                    ship_line2=a.line2,
                    ship_city=a.city,
                    ship_region=a.region,
                    ship_postcode=a.postcode,
                    ship_country=a.country.upper(),
                    ship_phone=a.phone,
                    email=order.email,
                    ship_by=order.ship_by,
                    station_id=actor.station_id,
                    created_at=now,
                    updated_at=now,
                )
                .returning(so.c.id)
            ).scalar_one()
        )
        number = f"PL{order_id:07d}"
        conn.execute(update(so).where(so.c.id == order_id).values(number=number))
        mapping = listing_map(conn, channel.id, [line.listing_sku for line in order.lines])
        conn.execute(
            insert(ol),
            [
                {
                    "order_id": order_id,
                    "line_no": no,
                    "listing_sku": line.listing_sku,
                    "sku_id": mapping.get(line.listing_sku),
                    "qty": line.qty,
                    "unit_price": line.unit_price,
                    "title": line.title[:300],
                }
                for no, line in enumerate(order.lines, start=1)
            ],
        )
        conn.execute(
            insert(t.order_transition).values(
                order_id=order_id,
                from_state=None,
                to_state=OrderState.RECEIVED.value,
                evidence={"intake": channel.code, "external_id": order.external_id},
                station_id=actor.station_id,
                operator_id=actor.operator_id,
                created_at=now,
            )
        )
        audit.record(
            conn,
            at=now,
            station_id=actor.station_id,
            operator_id=actor.operator_id,
            entity="order",
            entity_id=order_id,
            action="create",
            detail={"channel": channel.code, "external_id": order.external_id},
        )
        if order.payment_captured:
            conn.execute(
                insert(t.payment_capture).values(
                    order_id=order_id,
                    reference=order.payment_reference or f"{channel.code}:{order.external_id}",
                    amount=order.total,
                    currency=order.currency,
                    source=channel.code,
                    created_at=now,
                )
            )
        state = validate_order(
            conn,
            order_id=order_id,
            channel=channel,
            actor=actor,
            now=now,
            origin_country=self.origin_country if self.phone_international else None,
            current=OrderState.RECEIVED,
        )
        return IntakeResult(order_id, number, state.value, created=True)


def listing_map(conn: Connection, channel_id: int, listing_skus: list[str]) -> dict[str, int]:
    """Channel listing -> catalog SKU: an explicit mapping first, else the same SKU code."""
    cl, s = t.channel_listing, t.sku
    found = {
        str(a): int(b)
        for a, b in conn.execute(
            select(cl.c.listing_sku, cl.c.sku_id).where(
                cl.c.channel_id == channel_id, cl.c.listing_sku.in_(listing_skus)
            )
        ).all()
    }
    rest = [x for x in listing_skus if x not in found]
    if rest:
        for code, sid in conn.execute(select(s.c.code, s.c.id).where(s.c.code.in_(rest))).all():
            found[str(code)] = int(sid)
    return found


def validate_order(
    conn: Connection,
    *,
    order_id: int,
    channel: ChannelInfo,
    actor: Actor,
    now: datetime,
    origin_country: str | None,
    current: OrderState,
) -> OrderState:
    """Check what the floor needs before an order may be allocated; park it with reasons if not."""
    so, ol = t.sales_order, t.order_line
    o = conn.execute(select(so).where(so.c.id == order_id)).one()
    address = Address(
        o.ship_name,
        o.ship_line1,
        o.ship_line2,
        o.ship_city,
        o.ship_region,
        o.ship_postcode,
        o.ship_country,
        o.ship_phone,
    )
    exception_ids: list[int] = []
    for line_no, listing in conn.execute(
        select(ol.c.line_no, ol.c.listing_sku).where(
            ol.c.order_id == order_id, ol.c.sku_id.is_(None), ol.c.line_no > 0
        )
    ).all():
        exception_ids.append(
            order_records.open_exception(
                conn,
                order_id=order_id,
                channel_id=channel.id,
                kind="unmapped_sku",
                reason=f"line {line_no}: listing SKU {listing!r} is not mapped to the catalog",
                detail={"line_no": line_no, "listing_sku": listing},
                recommendation="map the listing to a catalog SKU",
                now=now,
            )
        )
    for problem in address_problems(
        address=address, origin_country=origin_country, phone_required=channel.requires_phone
    ):
        exception_ids.append(
            order_records.open_exception(
                conn,
                order_id=order_id,
                channel_id=channel.id,
                kind=problem.kind,
                reason=problem.reason,
                detail={},
                recommendation="correct the address with the customer",
                now=now,
            )
        )
    if exception_ids:
        order_records.transition(
            conn,
            order_id=order_id,
            target=OrderState.ON_HOLD,
            evidence={"exceptions": exception_ids},
            actor=actor,
            now=now,
            current=current,
        )
        return OrderState.ON_HOLD
    order_records.transition(
        conn,
        order_id=order_id,
        target=OrderState.ACCEPTED,
        evidence={"validation": {"lines_mapped": True, "address": "ok"}},
        actor=actor,
        now=now,
        current=current,
    )
    return OrderState.ACCEPTED

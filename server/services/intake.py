"""Order intake through every door, landing each order exactly once.

Two layers of deduplication (ledger.md 4.1): an idempotency key whose stored response is replayed
(a different body under the same key is refused), and the permanent unique key
(channel, external order id) that still catches a replay days later or a CSV re-import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.db import order_records
from server.db import tables as t
from server.domain.actor import Actor
from server.domain.errors import IdempotencyMismatch, NotFound, ValidationFailed
from server.domain.intake import IncomingOrder
from server.domain.orders import OrderState, check_transition
from server.domain.validation import OrderProblem, order_problems
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
        if claim is not None:
            stored = stored_response(conn, claim)
            if stored is not None:
                body = stored[1]
                return IntakeResult(
                    body["order_id"], body["number"], body["state"], False, replayed=True
                )
        [result] = self.ingest_many(conn, channel_code=channel_code, orders=[order], actor=actor)
        if claim is not None:
            store_response(conn, claim, code=201 if result.created else 200, body=result.body(),
                           now=self.clock())  # fmt: skip
        return result

    def ingest_many(
        self,
        conn: Connection,
        *,
        channel_code: str,
        orders: list[IncomingOrder],
        actor: Actor,
    ) -> list[IntakeResult]:
        """Land a batch of orders in the caller's transaction with a fixed number of statements
        (not a number per order): what exists already is answered from the permanent key,
        the rest is validated in memory and inserted in bulk."""
        now = self.clock()
        channel = channel_by_code(conn, channel_code)
        so = t.sales_order
        wanted = list(dict.fromkeys(o.external_id for o in orders))
        existing: dict[str, IntakeResult] = {}
        for chunk_start in range(0, len(wanted), 500):
            chunk = wanted[chunk_start : chunk_start + 500]
            for r in conn.execute(
                select(so.c.id, so.c.number, so.c.state, so.c.external_id).where(
                    so.c.channel_id == channel.id, so.c.external_id.in_(chunk)
                )
            ).all():
                existing[r.external_id] = IntakeResult(r.id, r.number, r.state, created=False)
        fresh = list({o.external_id: o for o in reversed(orders)
                      if o.external_id not in existing}.values())[::-1]  # fmt: skip
        created = self._create_many(conn, channel, fresh, actor, now) if fresh else {}
        results = []
        seen: set[str] = set()
        for o in orders:
            if o.external_id in created and o.external_id not in seen:
                results.append(created[o.external_id])
            else:
                first = created.get(o.external_id) or existing[o.external_id]
                results.append(IntakeResult(first.order_id, first.number, first.state, False))
            seen.add(o.external_id)
        return results

    def _create_many(
        self,
        conn: Connection,
        channel: ChannelInfo,
        orders: list[IncomingOrder],
        actor: Actor,
        now: datetime,
    ) -> dict[str, IntakeResult]:
        so, ol = t.sales_order, t.order_line
        mapping = listing_map(conn, channel.id,
                              sorted({x.listing_sku for o in orders for x in o.lines}))  # fmt: skip
        origin = self.origin_country if self.phone_international else None
        problems = [
            order_problems(
                unmapped=[(n, x.listing_sku) for n, x in enumerate(o.lines, start=1)
                          if x.listing_sku not in mapping],
                address=o.address, origin_country=origin, phone_required=channel.requires_phone,
            )
            for o in orders
        ]  # fmt: skip
        targets = [OrderState.ON_HOLD if p else OrderState.ACCEPTED for p in problems]
        order_rows = [
            {
                "number": f"tmp-{channel.id}-{o.external_id}"[:40], "channel_id": channel.id,
                "external_id": o.external_id, "kind": o.kind, "state": target.value,
                "payment_captured": o.payment_captured,
                **order_records.ship_to_values(o.address),
                "email": o.email, "ship_by": o.ship_by, "station_id": None,
                "created_at": now, "updated_at": now,
            }
            for o, target in zip(orders, targets, strict=True)
        ]  # fmt: skip
        ids = [
            int(i)
            for i in conn.execute(
                insert(so).returning(so.c.id, sort_by_parameter_order=True), order_rows
            ).scalars()
        ]
        numbers = [f"PL{i:07d}" for i in ids]
        conn.execute(
            update(so).where(so.c.id == bindparam("b_id")).values(number=bindparam("b_number")),
            [{"b_id": i, "b_number": n} for i, n in zip(ids, numbers, strict=True)],
        )
        conn.execute(
            insert(ol),
            [
                {"order_id": oid, "line_no": n, "listing_sku": x.listing_sku,
                 "sku_id": mapping.get(x.listing_sku), "qty": x.qty, "unit_price": x.unit_price,
                 "title": x.title[:300]}
                for oid, o in zip(ids, orders, strict=True)
                for n, x in enumerate(o.lines, start=1)
            ],
        )  # fmt: skip
        captures = [
            {"order_id": oid, "reference": o.payment_reference or f"{channel.code}:{o.external_id}",
             "amount": o.total, "currency": o.currency, "source": channel.code, "created_at": now}
            for oid, o in zip(ids, orders, strict=True)
            if o.payment_captured
        ]  # fmt: skip
        if captures:
            conn.execute(insert(t.payment_capture), captures)
        flat = [(oid, channel.id, p) for oid, ps in zip(ids, problems, strict=True) for p in ps]
        exception_ids = iter(_open_problems(conn, flat, now=now) if flat else [])
        history = []
        for oid, o, ps, target in zip(ids, orders, problems, targets, strict=True):
            evidence = {"exceptions": [next(exception_ids) for _ in ps]} if ps else dict(_VALID)
            check_transition(current=OrderState.RECEIVED, target=target, evidence=evidence)
            for before, after, ev in (
                (None, OrderState.RECEIVED, {"intake": channel.code, "external_id": o.external_id}),
                (OrderState.RECEIVED, target, evidence),
            ):
                history.append(
                    {
                        "order_id": oid,
                        "from_state": before.value if before else None,
                        "to_state": after.value,
                        "evidence": ev,
                        "station_id": actor.station_id,
                        "operator_id": actor.operator_id,
                        "created_at": now,
                    }
                )
        conn.execute(insert(t.order_transition), history)
        return {
            o.external_id: IntakeResult(oid, number, target.value, created=True)
            for oid, number, o, target in zip(ids, numbers, orders, targets, strict=True)
        }


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
    """Check again what the floor needs before an order may be allocated (after an edit or a
    resolved exception); park it with reasons if something is still wrong."""
    so, ol = t.sales_order, t.order_line
    o = conn.execute(select(so).where(so.c.id == order_id)).one()
    address = order_records.ship_to_of(o)
    unmapped = [
        (int(n), str(listing))
        for n, listing in conn.execute(
            select(ol.c.line_no, ol.c.listing_sku).where(
                ol.c.order_id == order_id, ol.c.sku_id.is_(None), ol.c.line_no > 0
            )
        ).all()
    ]
    problems = order_problems(unmapped=unmapped, address=address, origin_country=origin_country,
                              phone_required=channel.requires_phone)  # fmt: skip
    if problems:
        ids = _open_problems(conn, [(order_id, channel.id, p) for p in problems], now=now)
        target, evidence = OrderState.ON_HOLD, {"exceptions": ids}
    else:
        target, evidence = OrderState.ACCEPTED, dict(_VALID)
    order_records.transition(conn, order_id=order_id, target=target, evidence=evidence,
                             actor=actor, now=now, current=current)  # fmt: skip
    return target


_VALID: dict[str, Any] = {"validation": {"lines_mapped": True, "address": "ok"}}


def _open_problems(
    conn: Connection, problems: list[tuple[int, int, OrderProblem]], *, now: datetime
) -> list[int]:
    ex = t.order_exception
    rows = [
        {"order_id": oid, "channel_id": cid, "kind": p.kind, "reason": p.reason,
         "detail": p.detail, "recommendation": p.recommendation, "state": "open",
         "dedup_key": None, "created_at": now}
        for oid, cid, p in problems
    ]  # fmt: skip
    res = conn.execute(insert(ex).returning(ex.c.id, sort_by_parameter_order=True), rows)
    return [int(i) for i in res.scalars()]

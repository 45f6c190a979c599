"""Ship a packed order from the bench in one call: rate it if it has no usable rate yet, then buy
the chosen rate (one label per packed box). Idempotent, because a bench that timed out asks again:

* bought already -> the live packages are returned, nothing is bought;
* being bought by an earlier call that is still talking to the carrier -> refused as
  `order-locked` (try again in a moment), never a second purchase running beside the first.

The "being bought" mark is a lease on the shipment row (state `buying`, taken with a guarded
UPDATE): a server that died mid-purchase leaves it behind, so an old lease may be taken over.
Carriers are called with no transaction open (rating and buying are their own use cases).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from server.db import shipping_tables as st
from server.db import tables as t
from server.db.station_event_tables import station_event as se
from server.domain.actor import Actor
from server.domain.errors import (
    DomainError,
    InvalidTransition,
    NotFound,
    OrderLocked,
    ValidationFailed,
)
from server.domain.orders import OrderState
from server.domain.packages import PackageState
from server.services.context import Clock
from server.services.labels import LabelService
from server.services.rate_shop import RateShopper
from server.services.shipping_quotes import ShippingQuotes
from server.services.unit_of_work import UnitOfWork

# Shipment states: `voided` = every label was voided, so the shipment may be bought again.
PURCHASED, BUYING, RATED, VOIDED = "purchased", "buying", "rated", "voided"
# A bench may ask again for an order it finished labelling (a retry that crossed the answer).
_SHIPPABLE = frozenset(
    {OrderState.PACKED, OrderState.LABELLED, OrderState.HANDED_OVER, OrderState.SHIPPED,
     OrderState.DELIVERED}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Look:
    number: str
    state: OrderState
    shipment_id: int | None
    shipment_state: str | None
    shipment_updated: datetime | None
    chosen_quote_id: int | None
    quoted_at: datetime | None  # when the chosen quote was made
    packed_at: datetime | None  # when the server applied the bench's last pack


class ShipOrder:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        clock: Clock,
        labels: LabelService,
        lease_s: float = 180.0,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.labels = labels
        # Longer than a rate shop plus a purchase can take (deadline + the carrier's timeout).
        self.lease = timedelta(seconds=lease_s)

    def ship(
        self,
        *,
        order_id: int,
        quotes: ShippingQuotes,
        shopper: RateShopper,
        currency: str,
        actor: Actor,
    ) -> list[dict[str, Any]]:
        look = self.uow.read(lambda conn: _look(conn, order_id))
        if look.shipment_state == PURCHASED and look.state in _SHIPPABLE:
            return self._live(order_id)
        if look.state is not OrderState.PACKED:
            raise InvalidTransition(
                f"order {look.number} is {look.state.value.replace('_', ' ')}, not packed: "
                "its label is bought once every unit is packed",
                state=look.state.value,
            )
        if self._leased(look):
            raise _busy(look.number)
        if (
            look.chosen_quote_id is None
            or look.shipment_state == VOIDED
            or (_rated_before_pack(look))
        ):
            # No rate yet; a relabel (the old rate may be gone at the provider); or a rate
            # quoted for other parcels than the boxes the bench packed.
            try:
                record = quotes.rate_order(
                    order_id=order_id, shopper=shopper, currency=currency, actor=actor
                )
            except IntegrityError as exc:
                # A concurrent first rating created the shipment row under us (PostgreSQL
                # cannot lock a row that does not exist yet): that call is rating or buying.
                raise _busy(look.number) from exc
            if record.chosen_quote_id is None:
                raise ValidationFailed(
                    f"no carrier rate could be chosen for order {look.number}: "
                    f"{record.decision.explanation}"
                )
        if not self.uow.write(lambda conn: self._claim(conn, order_id)):
            return self._theirs(order_id, look.number)  # another call took the lease first
        try:
            rows = self.labels.buy(
                order_id=order_id, carriers=shopper.carriers, currency=currency, actor=actor
            )
        except DomainError:
            self.uow.write(lambda conn: _release(conn, order_id))
            after = self.uow.read(lambda conn: _look(conn, order_id))
            if after.shipment_state == PURCHASED:
                # "bought by someone else meanwhile": our lease had expired and was taken over;
                # the labels service voided our duplicate, theirs are the ones to print.
                return self._live(order_id)
            raise  # the carrier's refusal, in its words
        except BaseException:
            self.uow.write(lambda conn: _release(conn, order_id))
            raise
        return [r for r in rows if r["state"] != PackageState.VOIDED.value]

    def _leased(self, look: _Look) -> bool:
        return (
            look.shipment_state == BUYING
            and look.shipment_updated is not None
            and look.shipment_updated > self.clock() - self.lease
        )

    def _claim(self, conn: Connection, order_id: int) -> bool:
        now = self.clock()
        sh = st.shipment
        done = conn.execute(
            update(sh)
            .where(
                sh.c.order_id == order_id,
                or_(sh.c.state.in_([RATED, VOIDED]),
                    (sh.c.state == BUYING) & (sh.c.updated_at <= now - self.lease)),
            )
            .values(state=BUYING, updated_at=now)
        )  # fmt: skip
        return bool(done.rowcount == 1)

    def _theirs(self, order_id: int, number: str) -> list[dict[str, Any]]:
        """Another call holds or has finished the purchase: its packages, or try again shortly."""
        look = self.uow.read(lambda conn: _look(conn, order_id))
        if look.shipment_state == PURCHASED:
            return self._live(order_id)
        raise _busy(number)

    def _live(self, order_id: int) -> list[dict[str, Any]]:
        return [
            r
            for r in self.labels.packages(order_id=order_id)
            if r["state"] != PackageState.VOIDED.value
        ]


def _busy(number: str) -> OrderLocked:
    return OrderLocked(
        f"the label for order {number} is being bought right now: try again in a moment",
        retry=True,
    )


def _rated_before_pack(look: _Look) -> bool:
    return (
        look.quoted_at is not None
        and look.packed_at is not None
        and (look.quoted_at < look.packed_at)
    )


def _release(conn: Connection, order_id: int) -> None:
    sh = st.shipment
    conn.execute(
        update(sh).where(sh.c.order_id == order_id, sh.c.state == BUYING).values(state=RATED)
    )


def _look(conn: Connection, order_id: int) -> _Look:
    so, sh, rq = t.sales_order, st.shipment, st.rate_quote
    order = conn.execute(select(so.c.number, so.c.state).where(so.c.id == order_id)).first()
    if order is None:
        raise NotFound(f"order {order_id} does not exist")
    ship = conn.execute(
        select(sh.c.id, sh.c.state, sh.c.updated_at, sh.c.chosen_quote_id, rq.c.created_at)
        .outerjoin(rq, rq.c.id == sh.c.chosen_quote_id)
        .where(sh.c.order_id == order_id)
    ).first()  # fmt: skip
    packed_at = conn.execute(
        select(func.max(se.c.created_at)).where(
            se.c.order_id == order_id, se.c.kind == "pack_completed", se.c.status == "applied"
        )
    ).scalar()
    return _Look(
        number=str(order.number),
        state=OrderState(order.state),
        shipment_id=int(ship.id) if ship else None,
        shipment_state=str(ship.state) if ship else None,
        shipment_updated=ship.updated_at if ship else None,
        chosen_quote_id=int(ship.chosen_quote_id) if ship and ship.chosen_quote_id else None,
        quoted_at=ship.created_at if ship else None,
        packed_at=packed_at,
    )

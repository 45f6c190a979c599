"""What shipping cost: per shipment (the purchase, its quote and packages) and carrier spend over
a period. The amounts are what the provider charged at purchase, not what it quoted."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, case, func, select

from server.db import shipping_tables as st
from server.db import tables as t
from server.domain.errors import NotFound, ValidationFailed
from server.domain.packages import PackageState
from server.services.unit_of_work import UnitOfWork

pk, sh, rq = st.shipment_package, st.shipment, st.rate_quote


class SpendService:
    def __init__(self, *, uow: UnitOfWork) -> None:
        self.uow = uow

    def shipment(self, *, order_id: int) -> dict[str, Any]:
        """One order's shipment: the chosen quote, what the purchase cost, its packages."""

        def work(conn: Connection) -> dict[str, Any]:
            if conn.execute(select(t.sales_order.c.id).where(t.sales_order.c.id == order_id)
                            ).first() is None:  # fmt: skip
                raise NotFound(f"order {order_id} does not exist")
            row = conn.execute(
                select(sh.c.id, sh.c.state, sh.c.cost_amount, sh.c.cost_currency,
                       sh.c.purchased_at, sh.c.explanation, rq.c.amount.label("quoted_amount"),
                       rq.c.currency.label("quoted_currency"), rq.c.carrier, rq.c.service,
                       rq.c.provider)
                .outerjoin(rq, rq.c.id == sh.c.chosen_quote_id)
                .where(sh.c.order_id == order_id)
            ).first()  # fmt: skip
            if row is None:
                raise NotFound(f"order {order_id} has not been rated yet: no shipment")
            packages = conn.execute(
                select(pk.c.id, pk.c.package_no, pk.c.tracking_number, pk.c.carrier,
                       pk.c.service, pk.c.state, pk.c.handed_over_at, pk.c.custody_at,
                       pk.c.delivered_at)
                .where(pk.c.shipment_id == row.id).order_by(pk.c.package_no, pk.c.id)
            ).all()  # fmt: skip
            return {**dict(row._mapping), "packages": [dict(p._mapping) for p in packages]}

        return self.uow.read(work)

    def carrier_spend(self, *, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Spend per provider, carrier, service and currency for labels bought in [since, until).

        A shipment whose every label was voided is refunded by the provider and is not spend;
        it is counted in `voided_shipments` so the figure can be checked."""
        if until <= since:
            raise ValidationFailed("the period must end after it starts")

        def work(conn: Connection) -> list[dict[str, Any]]:
            live = (
                select(pk.c.shipment_id, func.count().label("n"))
                .where(pk.c.state != PackageState.VOIDED.value)
                .group_by(pk.c.shipment_id)
                .subquery()
            )
            chosen = rq.alias("chosen")
            is_live = live.c.n.is_not(None)
            rows = conn.execute(
                select(
                    chosen.c.provider, chosen.c.carrier, chosen.c.service, sh.c.cost_currency,
                    func.sum(case((is_live, 1), else_=0)).label("shipments"),
                    func.sum(func.coalesce(live.c.n, 0)).label("packages"),
                    func.sum(case((is_live, sh.c.cost_amount), else_=0)).label("amount"),
                    func.sum(case((is_live, 0), else_=1)).label("voided_shipments"),
                )
                .join(chosen, chosen.c.id == sh.c.chosen_quote_id)
                .outerjoin(live, live.c.shipment_id == sh.c.id)
                .where(and_(sh.c.purchased_at >= since, sh.c.purchased_at < until,
                            sh.c.cost_amount.is_not(None)))
                .group_by(chosen.c.provider, chosen.c.carrier, chosen.c.service,
                          sh.c.cost_currency)
                .order_by(chosen.c.provider, chosen.c.carrier, chosen.c.service)
            ).all()  # fmt: skip
            return [
                {**dict(r._mapping), "amount": Decimal(r.amount or 0).quantize(Decimal("0.01")),
                 "shipments": int(r.shipments), "packages": int(r.packages),
                 "voided_shipments": int(r.voided_shipments)}
                for r in rows
            ]  # fmt: skip

        return self.uow.read(work)

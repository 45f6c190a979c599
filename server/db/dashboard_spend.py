"""Carrier spend per carrier and UTC day: what bought labels cost (the provider's purchase
answer, not the quote). SQLite keeps money as text, so its sums are done in Python with Decimal
rather than through SQLite's floats.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from server.db import shipping_tables as st
from server.db.dashboard_queries import as_date, is_sqlite, utc_day
from shared.contract.dashboard import CarrierSpendOut, SpendDay, SpendTotal


def carrier_spend(conn: Connection, *, first_day: date, last_day: date) -> CarrierSpendOut:
    return spend_out(first_day, last_day, spend_days(conn, first_day=first_day, last_day=last_day))


def void_mark(conn: Connection) -> int:
    """Moves whenever a label is voided (voided is final): a void may refund a past day."""
    pk = st.shipment_package
    return int(conn.execute(select(func.count()).where(pk.c.state == "voided")).scalar_one())


def spend_days(conn: Connection, *, first_day: date, last_day: date) -> list[SpendDay]:
    """What bought labels cost per carrier and UTC day. Like SpendService.carrier_spend, a
    shipment whose every label was voided was refunded and is not spend."""
    sh, rq, pk = st.shipment, st.rate_quote, st.shipment_package
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    # Per shipment in the period, two primary-key/index probes (its chosen quote, one live
    # package) rather than joins: the planner would hash all of rate_quote and shipment_package.
    carrier = (
        select(func.coalesce(func.nullif(rq.c.carrier, ""), rq.c.provider))
        .where(rq.c.id == sh.c.chosen_quote_id)
        .scalar_subquery()
    )
    live = (
        select(pk.c.id)
        .where(pk.c.shipment_id == sh.c.id, pk.c.state != "voided")
        .limit(1)
        .scalar_subquery()
    )
    bought = (
        select(
            utc_day(conn, sh.c.purchased_at).label("day"),
            carrier.label("carrier"),
            sh.c.cost_currency.label("currency"),
            sh.c.cost_amount.label("amount"),
            live.label("live"),
        )
        .where(
            sh.c.purchased_at >= start,
            sh.c.purchased_at < end,
            sh.c.cost_amount.is_not(None),
            sh.c.chosen_quote_id.is_not(None),
        )
        .subquery()
    )
    spent = bought.c.live.is_not(None)
    sums: dict[tuple[date, str, str], list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    if is_sqlite(conn):
        for r in conn.execute(
            select(bought.c.day, bought.c.carrier, bought.c.currency, bought.c.amount).where(spent)
        ):
            slot = sums[(as_date(r[0]), str(r[1]), str(r[2] or ""))]
            slot[0] += Decimal(r[3])
            slot[1] += 1
    else:
        amount = func.sum(bought.c.amount)
        for g in conn.execute(
            select(bought.c.day, bought.c.carrier, bought.c.currency, amount, func.count())
            .where(spent)
            .group_by(bought.c.day, bought.c.carrier, bought.c.currency)
        ):
            sums[(as_date(g[0]), str(g[1]), str(g[2] or ""))] = [Decimal(g[3]), int(g[4])]
    return [
        SpendDay(day=d, carrier=c, currency=cur, amount=v[0], shipments=v[1])
        for (d, c, cur), v in sorted(sums.items())
    ]


def spend_out(first_day: date, last_day: date, days: list[SpendDay]) -> CarrierSpendOut:
    totals: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    for x in days:
        totals[(x.carrier, x.currency)][0] += x.amount
        totals[(x.carrier, x.currency)][1] += x.shipments
    return CarrierSpendOut(
        first_day=first_day,
        last_day=last_day,
        days=days,
        totals=[
            SpendTotal(carrier=c, currency=cur, amount=v[0], shipments=v[1])
            for (c, cur), v in sorted(totals.items(), key=lambda kv: (-kv[1][0], kv[0]))
        ],
    )

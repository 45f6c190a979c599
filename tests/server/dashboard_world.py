"""Builders for the dashboard tests: stations, operators, station events, orders with a ship-by,
and bought shipments.

Orders, exceptions, station events and heartbeats go through the real services. Shipments are
written as rows: the purchase path needs a carrier and is tested with the carrier fakes; here the
figures need purchases on chosen days, at chosen prices, in chosen package states.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, update

from server.bootstrap import Services
from server.db import shipping_tables as st
from server.domain.actor import SYSTEM, Actor
from server.domain.intake import IncomingLine, IncomingOrder
from shared.contract.events import StationEvent
from tests.server.world import NL


def station(svc: Services, name: str, *, kind: str = "bench") -> tuple[int, str]:
    """An enrolled station: its id and token."""
    code = svc.identity.issue_enrolment_code(station_name=name, kind=kind, actor=SYSTEM)
    token, ident = svc.identity.enrol(code=code)
    return ident.id, token


def operator(svc: Services, name: str, badge: str, *roles: str) -> int:
    return svc.identity.create_operator(name=name, badge=badge, roles=set(roles), actor=SYSTEM)


def event(
    kind: str,
    at: datetime,
    *,
    order_id: int | None = None,
    operator_id: int | None = None,
    **payload: Any,
) -> StationEvent:
    return StationEvent(
        key=str(uuid.uuid4()),
        kind=kind,
        order_id=order_id,
        at=at,  # type: ignore[arg-type]
        operator_id=operator_id,
        payload=payload,
    )


def report(svc: Services, station_id: int, operator_id: int, *events: StationEvent) -> list[str]:
    """Events as the station's pusher delivers them; returns each one's status."""
    actor = Actor(station_id=station_id, operator_id=operator_id, roles=frozenset({"packer"}))
    return [o.status for o in svc.station_events.apply_batch(events=events, actor=actor)]


def intake(
    svc: Services,
    ext: str,
    *lines: tuple[str, int],
    ship_by: datetime | None = None,
    paid: bool = True,
) -> int:
    """Intake + allocation like every door, with a ship-by time."""
    got = svc.intake.ingest(
        channel_code="shop",
        order=IncomingOrder(
            external_id=ext,
            lines=tuple(IncomingLine(s, q, Decimal("1.00")) for s, q in lines),
            address=NL,
            payment_captured=paid,
            payment_reference=f"pay-{ext}" if paid else "",
            ship_by=ship_by,
        ),
        actor=SYSTEM,
    )
    if got.state == "accepted":
        svc.allocation.allocate(order_id=got.order_id, actor=SYSTEM)
    return got.order_id


def bought(
    svc: Services,
    *,
    order_id: int,
    carrier: str,
    amount: str,
    currency: str,
    at: datetime,
    states: tuple[str, ...] = ("bought",),
    provider: str = "easypost",
    handed_over_at: datetime | None = None,
) -> list[int]:
    """A purchased shipment with one package per state; returns the package ids."""
    sh, rq, pk = st.shipment, st.rate_quote, st.shipment_package

    def work(conn: Connection) -> list[int]:
        sid = conn.execute(
            insert(sh)
            .values(
                order_id=order_id,
                state="purchased",
                cost_amount=Decimal(amount),
                cost_currency=currency,
                purchased_at=at,
                created_at=at,
                updated_at=at,
            )
            .returning(sh.c.id)
        ).scalar_one()
        qid = conn.execute(
            insert(rq)
            .values(
                shipment_id=sid,
                shop_no=1,
                provider=provider,
                account="acct",
                carrier=carrier,
                service="Parcel",
                amount=Decimal(amount),
                currency=currency,
                created_at=at,
            )
            .returning(rq.c.id)
        ).scalar_one()
        conn.execute(update(sh).where(sh.c.id == sid).values(chosen_quote_id=qid))
        ids = []
        for n, state in enumerate(states, start=1):
            ids.append(
                conn.execute(
                    insert(pk)
                    .values(
                        shipment_id=sid,
                        package_no=n,
                        provider=provider,
                        account="acct",
                        carrier=carrier or provider,
                        service="Parcel",
                        tracking_number=f"TRK{order_id:04d}{n}",
                        label_id=f"L{sid}-{n}",
                        state=state,
                        handed_over_at=handed_over_at,
                        created_at=at,
                        updated_at=at,
                    )
                    .returning(pk.c.id)
                ).scalar_one()
            )
        return ids

    return svc.uow.write(work)

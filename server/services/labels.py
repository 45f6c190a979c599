"""Labels: buy the chosen rate (one label and tracking number per package), serve each
package's ZPL for printing, void a package. Providers are called with no transaction open."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, update

from server.carriers.base import Carrier, CarrierError, Quote
from server.db import audit
from server.db import shipping_tables as st
from server.domain.actor import Actor
from server.domain.errors import NotFound, ValidationFailed
from server.services.context import Clock
from server.services.shipment_request import build_request
from server.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def packages(conn: Connection, shipment_id: int) -> list[dict[str, Any]]:
    pk = st.shipment_package
    return [
        dict(r._mapping)
        for r in conn.execute(
            select(pk).where(pk.c.shipment_id == shipment_id).order_by(pk.c.package_no)
        )
    ]


def _account(carriers: Sequence[Carrier], provider: str, account: str) -> Carrier:
    found = next((c for c in carriers if (c.provider, c.account.name) == (provider, account)),
                 None)  # fmt: skip
    if found is None:
        raise ValidationFailed(f"provider account {provider}:{account} is not configured any more")
    return found


class LabelService:
    def __init__(self, *, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    def buy(
        self,
        *,
        order_id: int,
        carriers: Sequence[Carrier],
        currency: str,
        actor: Actor,
        timeout_s: float = 30.0,
    ) -> list[dict[str, Any]]:
        """Buy the chosen rate: one label (ZPL) and tracking number per package. The provider is
        called with no transaction open; if recording then fails, the labels are voided so
        nothing is paid for twice."""
        sh, rq = st.shipment, st.rate_quote

        def chosen(conn: Connection) -> Any:
            return conn.execute(
                select(rq, sh.c.id.label("sid"), sh.c.state.label("shipment_state"))
                .join(sh, sh.c.chosen_quote_id == rq.c.id)
                .where(sh.c.order_id == order_id)
            ).first()  # fmt: skip

        row = self.uow.read(chosen)
        if row is None:
            raise ValidationFailed("rate the order first: no rate has been chosen")
        if row.shipment_state == "purchased":
            raise ValidationFailed("the labels are already bought; void them to buy again")
        carrier = _account(carriers, row.provider, row.account)
        quote = Quote(provider=row.provider, account=row.account, carrier=row.carrier,
                      service=row.service, amount=row.amount, currency=row.currency,
                      delivery_days=row.delivery_days, rate_id=row.rate_id,
                      shipment_ref=row.shipment_ref)  # fmt: skip
        request, _ = self.uow.read(
            lambda conn: build_request(conn, order_id=order_id, currency=currency)
        )
        try:
            purchase = carrier.buy(quote, request, timeout_s=timeout_s)
        except CarrierError as exc:
            raise ValidationFailed(f"{row.provider} refused the purchase: {exc}") from exc

        def record(conn: Connection) -> list[dict[str, Any]]:
            now = self.clock()
            pk = st.shipment_package
            done = conn.execute(
                update(sh).where(sh.c.id == row.sid, sh.c.state != "purchased")
                .values(state="purchased", updated_at=now)
            )  # fmt: skip
            if done.rowcount != 1:
                raise ValidationFailed("the labels were bought by someone else meanwhile")
            conn.execute(insert(pk), [
                {"shipment_id": row.sid, "package_no": n, "provider": purchase.provider,
                 "account": purchase.account, "carrier": purchase.carrier,
                 "service": purchase.service, "tracking_number": p.tracking_number,
                 "label_id": p.label_id, "zpl": p.zpl, "state": "bought",
                 "created_at": now, "updated_at": now}
                for n, p in enumerate(purchase.packages, start=1)
            ])  # fmt: skip
            audit.record(
                conn,
                at=now,
                station_id=actor.station_id,
                operator_id=actor.operator_id,
                entity="shipment",
                entity_id=row.sid,
                action="purchased",
                detail={
                    "amount": str(purchase.amount),
                    "currency": purchase.currency,
                    "tracking": [p.tracking_number for p in purchase.packages],
                },
            )
            return packages(conn, row.sid)  # fmt: skip

        try:
            return self.uow.write(record)
        except Exception:
            for package in purchase.packages:  # compensate: never pay for unrecorded labels
                try:
                    carrier.void(package.label_id, timeout_s=timeout_s)
                except CarrierError:
                    log.exception("could not void unrecorded label %s", package.label_id)
            raise

    def void_package(
        self,
        *,
        package_id: int,
        carriers: Sequence[Carrier],
        actor: Actor,
        timeout_s: float = 30.0,
    ) -> dict[str, Any]:
        pk = st.shipment_package
        row = self.uow.read(lambda conn: conn.execute(select(pk).where(pk.c.id == package_id))
                            .first())  # fmt: skip
        if row is None:
            raise NotFound(f"package {package_id} does not exist")
        if row.state != "bought":
            raise ValidationFailed(f"package {package_id} is {row.state}")
        carrier = _account(carriers, row.provider, row.account)
        try:
            result = carrier.void(row.label_id, timeout_s=timeout_s)
        except CarrierError as exc:
            raise ValidationFailed(f"{row.provider} refused the void: {exc}") from exc
        if not result.approved:
            raise ValidationFailed(f"{row.provider} refused the void: {result.message}")

        def work(conn: Connection) -> dict[str, Any]:
            now = self.clock()
            conn.execute(update(pk).where(pk.c.id == package_id)
                         .values(state="voided", updated_at=now))  # fmt: skip
            audit.record(conn, at=now, station_id=actor.station_id,
                         operator_id=actor.operator_id, entity="package", entity_id=package_id,
                         action="void", detail={"message": result.message})  # fmt: skip
            return dict(conn.execute(select(pk).where(pk.c.id == package_id)).one()._mapping)

        return self.uow.write(work)

    def label_zpl(self, *, package_id: int) -> bytes:
        pk = st.shipment_package
        row = self.uow.read(lambda conn: conn.execute(
            select(pk.c.zpl, pk.c.state).where(pk.c.id == package_id)).first())  # fmt: skip
        if row is None:
            raise NotFound(f"package {package_id} does not exist")
        if row.state != "bought" or not row.zpl:
            raise ValidationFailed(f"package {package_id} has no label to print ({row.state})")
        return bytes(row.zpl)

    def packages(self, *, order_id: int) -> list[dict[str, Any]]:
        sh = st.shipment

        def work(conn: Connection) -> list[dict[str, Any]]:
            sid = conn.execute(select(sh.c.id).where(sh.c.order_id == order_id)).scalar()
            return packages(conn, int(sid)) if sid is not None else []

        return self.uow.read(work)

"""Labels: buy the chosen rate (one label and tracking number per package), serve each
package's ZPL for printing, void a package. Providers are called with no transaction open."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from server.carriers.base import Carrier, CarrierError, Quote
from server.carriers.zpl_image import LabelImageError, image_to_zpl
from server.db import audit, order_records
from server.db import shipping_tables as st
from server.domain.actor import Actor
from server.domain.errors import NotFound, ProviderUnavailable, ValidationFailed
from server.domain.orders import OrderState
from server.domain.packages import FREELY_VOIDABLE, PRINTABLE, PackageState
from server.services.approvals import ApprovalService, ApprovalView
from server.services.context import Clock
from server.services.shipment_request import build_request
from server.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
VOID_AFTER_HANDOVER = "void_after_handover"


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


_STRICTNESS = (PackageState.BOUGHT, PackageState.LABELLED, PackageState.HANDED_OVER,
               PackageState.IN_TRANSIT, PackageState.DELIVERED)  # fmt: skip


def _strictest(covered: Sequence[Any]) -> PackageState:
    """The furthest-travelled state among the packages a void would hit."""
    return max((PackageState(p.state) for p in covered), key=_STRICTNESS.index)


def _back_to_packed(conn: Connection, order_id: int, actor: Actor, now: datetime) -> None:
    state = order_records.state_of(conn, order_id, for_update=True)
    if state in (OrderState.LABELLED, OrderState.HANDED_OVER):
        order_records.transition(conn, order_id=order_id, target=OrderState.PACKED,
                                 evidence={"pack": {"relabel": "every label was voided"}},
                                 actor=actor, now=now, current=state)  # fmt: skip


class LabelService:
    def __init__(
        self, *, uow: UnitOfWork, clock: Clock, approvals: ApprovalService | None = None
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.approvals = approvals

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
            if exc.transient:
                # Timeouts, outages, rate limits: the bench retries by itself (503).
                raise ProviderUnavailable(f"{row.provider} is not answering: {exc}") from exc
            raise ValidationFailed(f"{row.provider} refused the purchase: {exc}") from exc

        def record(conn: Connection) -> list[dict[str, Any]]:
            now = self.clock()
            pk = st.shipment_package
            done = conn.execute(
                update(sh).where(sh.c.id == row.sid, sh.c.state != "purchased")
                .values(state="purchased", updated_at=now, purchased_at=now,
                        cost_amount=purchase.amount, cost_currency=purchase.currency)
            )  # fmt: skip
            if done.rowcount != 1:
                raise ValidationFailed("the labels were bought by someone else meanwhile")
            conn.execute(insert(pk), [
                {"shipment_id": row.sid, "package_no": n, "provider": purchase.provider,
                 "account": purchase.account, "carrier": purchase.carrier,
                 "service": purchase.service, "tracking_number": p.tracking_number,
                 "label_id": p.label_id, "zpl": zpls[n - 1],
                 "state": "bought",
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

        zpls: list[bytes] = []
        try:
            # Image-only labels become ZPL before the write transaction opens (tens of ms each;
            # SQLite's writer lock is not held for it).
            zpls += [p.zpl or image_to_zpl(p.image, p.image_format) for p in purchase.packages]
            return self.uow.write(record)
        except Exception as exc:
            # Compensate: never pay for unrecorded labels (once per label: one ShipStation
            # label covers every package of the shipment).
            for label_id in dict.fromkeys(p.label_id for p in purchase.packages):
                try:
                    carrier.void(label_id, timeout_s=timeout_s)
                except CarrierError:
                    log.exception("could not void unrecorded label %s", label_id)
            if isinstance(exc, LabelImageError):
                raise ValidationFailed(f"{row.provider}'s label could not be used ({exc}); it "
                                       "was voided: buy again") from exc  # fmt: skip
            raise

    def void_package(
        self,
        *,
        package_id: int,
        carriers: Sequence[Carrier],
        actor: Actor,
        reason: str = "",
        timeout_s: float = 30.0,
    ) -> dict[str, Any] | ApprovalView:
        """Void one package's label. Before handover anyone on the floor may; once the carton
        has left through the dispatch door the carrier may already hold it, so the void becomes
        a four-eyes request (domain.md) and the approval view is returned instead."""
        row = self._package(package_id)
        covered = self._covered(row)
        state = _strictest(covered) if covered else PackageState(row.state)
        if state in FREELY_VOIDABLE:
            return self._void(row, carriers=carriers, actor=actor, timeout_s=timeout_s)
        if state is PackageState.HANDED_OVER:
            if self.approvals is None:
                raise ValidationFailed("a void after handover needs approval, none is configured")
            submitted = self.approvals.submit(
                operation=VOID_AFTER_HANDOVER,
                payload={"package_id": package_id, "tracking_number": row.tracking_number},
                reason=reason or "void a label after handover",
                actor=actor,
            )
            if submitted.approval is not None:
                return submitted.approval
            return self._package_dict(package_id)  # the matrix waived the second person
        raise ValidationFailed(
            f"package {package_id} is {state.value.replace('_', ' ')}: its label cannot be voided"
        )

    def void_approved(
        self, payload: dict[str, Any], approver: Actor, *, carriers: Sequence[Carrier]
    ) -> dict[str, Any]:
        """The approved void after handover: exactly the package and label that were asked."""
        row = self._package(int(payload["package_id"]))
        if row.tracking_number != payload["tracking_number"]:
            raise ValidationFailed("the package's label changed since the void was requested")
        covered = self._covered(row)
        if not covered or _strictest(covered) is not PackageState.HANDED_OVER:
            raise ValidationFailed(f"package {row.id} is {row.state} now: nothing voided")
        out = self._void(row, carriers=carriers, actor=approver, timeout_s=30.0)
        return {"package_id": out["id"], "state": out["state"]}

    def _covered(self, row: Any) -> list[Any]:
        """The live packages one provider label covers: the package itself, and for a provider
        with one label per multi-package shipment (ShipStation V2) every package of that label —
        a void voids them all, so the strictest of their states decides who may void."""
        pk = st.shipment_package
        return self.uow.read(lambda conn: list(conn.execute(
            select(pk.c.id, pk.c.state, pk.c.package_no)
            .where(pk.c.shipment_id == row.shipment_id, pk.c.provider == row.provider,
                   pk.c.account == row.account, pk.c.label_id == row.label_id,
                   pk.c.state != PackageState.VOIDED.value)
        ).all()))  # fmt: skip

    def _package_dict(self, package_id: int) -> dict[str, Any]:
        pk = st.shipment_package
        return self.uow.read(lambda conn: dict(
            conn.execute(select(pk).where(pk.c.id == package_id)).one()._mapping))  # fmt: skip

    def _package(self, package_id: int) -> Any:
        pk = st.shipment_package
        row = self.uow.read(lambda conn: conn.execute(
            select(pk, st.shipment.c.order_id).join(st.shipment,
                                                    st.shipment.c.id == pk.c.shipment_id)
            .where(pk.c.id == package_id)).first())  # fmt: skip
        if row is None:
            raise NotFound(f"package {package_id} does not exist")
        return row

    def _void(
        self, row: Any, *, carriers: Sequence[Carrier], actor: Actor, timeout_s: float
    ) -> dict[str, Any]:
        pk, sh = st.shipment_package, st.shipment
        carrier = _account(carriers, row.provider, row.account)
        try:
            result = carrier.void(row.label_id, timeout_s=timeout_s)
        except CarrierError as exc:
            raise ValidationFailed(f"{row.provider} refused the void: {exc}") from exc
        if not result.approved:
            raise ValidationFailed(f"{row.provider} refused the void: {result.message}")

        covered = self._covered(row)

        def work(conn: Connection) -> dict[str, Any]:
            now = self.clock()
            voided = PackageState.VOIDED.value
            for p in covered:
                done = conn.execute(update(pk).where(pk.c.id == p.id, pk.c.state == p.state)
                                    .values(state=voided, updated_at=now))  # fmt: skip
                if done.rowcount != 1:
                    raise ValidationFailed(f"package {p.id} changed while it was being voided")
                audit.record(conn, at=now, station_id=actor.station_id,
                             operator_id=actor.operator_id, entity="package", entity_id=p.id,
                             action="void", detail={"message": result.message, "was": p.state,
                                                    "label_id": row.label_id})  # fmt: skip
            live = conn.execute(select(func.count()).select_from(pk).where(
                pk.c.shipment_id == row.shipment_id, pk.c.state != PackageState.VOIDED.value)
            ).scalar_one()  # fmt: skip
            if live == 0:
                # Every label is void: the shipment may be bought again (after a re-rate, since
                # the provider's rate may be gone), and a labelled order goes back to packed.
                conn.execute(update(sh).where(sh.c.id == row.shipment_id)
                             .values(state="voided", updated_at=now))  # fmt: skip
                _back_to_packed(conn, row.order_id, actor, now)
            return dict(conn.execute(select(pk).where(pk.c.id == row.id)).one()._mapping)

        return self.uow.write(work)

    def label_zpl(self, *, package_id: int) -> bytes:
        pk = st.shipment_package
        row = self.uow.read(lambda conn: conn.execute(
            select(pk.c.zpl, pk.c.state).where(pk.c.id == package_id)).first())  # fmt: skip
        if row is None:
            raise NotFound(f"package {package_id} does not exist")
        if PackageState(row.state) not in PRINTABLE or not row.zpl:
            raise ValidationFailed(f"package {package_id} has no label to print ({row.state})")
        return bytes(row.zpl)

    def packages(self, *, order_id: int) -> list[dict[str, Any]]:
        sh = st.shipment

        def work(conn: Connection) -> list[dict[str, Any]]:
            sid = conn.execute(select(sh.c.id).where(sh.c.order_id == order_id)).scalar()
            return packages(conn, int(sid)) if sid is not None else []

        return self.uow.read(work)

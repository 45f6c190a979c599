"""Returns use cases: issue an RMA, find it from a parcel, receive units into quarantine (with
their refund triggers), the lists; triage is in return_triage.py (floor.md Returns clerks).

Every receipt is a ledger movement into a quarantine bin (never sellable); only a recorded triage
decision moves a unit on, as another movement. Receipts carry the station's idempotency key: the
key, its request hash and the answer are stored in the same transaction as the effect, so a
retry lands once and a reused key with another body is refused.

High-value returns (above PACKLINE_RETURN_APPROVAL_THRESHOLD per unit): the refund is recorded at
receipt as awaiting approval, with its own four-eyes request (return_refunds.py); a restock of the
unit needs another one (return_triage.py). Each approval releases only what it names.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from server.db import audit, places, stock
from server.db import return_records as rr
from server.db import returns_tables as rt
from server.db import tables as t
from server.db.stock import MovementRecord
from server.domain.actor import Actor
from server.domain.errors import NotFound, ValidationFailed
from server.domain.ledger import MovementReason
from server.domain.locations import LocationKind
from server.domain.orders import OrderState
from server.domain.returns import (
    Condition,
    Flag,
    LineFacts,
    UnitState,
    check_authorisation,
    match_unit,
)
from server.services.allocation import AllocationService
from server.services.approvals import ApprovalService
from server.services.context import Clock
from server.services.intake import store_response, stored_response
from server.services.return_refunds import ReturnRefunds
from server.services.return_triage import ReturnTriage, idempotency_claim, write_once
from server.services.unit_of_work import UnitOfWork
from shared.contract.returns import RMA_NUMBER, rma_number


@dataclass(frozen=True, slots=True)
class UnitReceipt:
    key: str
    barcode: str
    condition: str
    bin: str
    lot: str = ""
    serial: str = ""
    expiry: date | None = None


@dataclass(frozen=True, slots=True)
class Received:
    unit: dict[str, Any]
    replayed: bool


def _condition(value: str) -> Condition:
    try:
        return Condition(value)
    except ValueError:
        raise ValidationFailed(f"{value!r} is not a condition") from None


class ReturnsService:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        clock: Clock,
        approvals: ApprovalService,
        threshold: Decimal,
        allocation: AllocationService | None = None,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.approvals = approvals
        self.threshold = threshold
        self._triage = ReturnTriage(uow=uow, clock=clock, approvals=approvals, threshold=threshold,
                                    allocation=allocation)  # fmt: skip
        self._refunds = ReturnRefunds(uow=uow, clock=clock, approvals=approvals,
                                      threshold=threshold)  # fmt: skip

    # --- RMAs ----------------------------------------------------------------------------

    def issue(
        self,
        *,
        order_number: str,
        lines: Sequence[tuple[int, int]],
        reason: str,
        actor: Actor,
        key: str | None = None,
    ) -> dict[str, Any]:
        """Authorise the return of (order line number, qty) pairs of a shipped order."""
        if not reason.strip():
            raise ValidationFailed("an RMA needs a reason")
        requested: dict[int, int] = {}
        for line_no, qty in lines:
            if line_no in requested:
                raise ValidationFailed(f"line {line_no} is listed twice")
            requested[line_no] = qty
        body = {"order": order_number, "lines": sorted(requested.items()), "reason": reason}
        claim = idempotency_claim("rma", actor, key, body) if key else None

        def work(conn: Connection) -> dict[str, Any]:
            now = self.clock()
            if claim is not None:
                stored = stored_response(conn, claim)
                if stored is not None:
                    return rr.rma_view(conn, int(stored[1]["rma_id"]), at=now)
            so, ol, rl = t.sales_order, t.order_line, rt.rma_line
            # The order row is locked: two RMAs for one order are authorised one at a time.
            order = conn.execute(
                select(so.c.id, so.c.state)
                .where(so.c.number == order_number.strip())
                .with_for_update(key_share=True)
            ).first()
            if order is None:
                raise NotFound(f"there is no order {order_number}")
            ordered = {
                int(r.line_no): r
                for r in conn.execute(
                    select(ol.c.id, ol.c.line_no, ol.c.sku_id, ol.c.qty, ol.c.unit_price).where(
                        ol.c.order_id == order.id, ol.c.line_no > 0
                    )
                ).all()
            }
            before = {
                int(n): int(q)
                for n, q in conn.execute(
                    select(ol.c.line_no, func.sum(rl.c.qty))
                    .join(rl, rl.c.order_line_id == ol.c.id)
                    .where(ol.c.order_id == order.id)
                    .group_by(ol.c.line_no)
                ).all()
            }
            check_authorisation(
                order_state=OrderState(order.state),
                requested=requested,
                ordered={n: int(r.qty) for n, r in ordered.items()},
                authorised_before=before,
            )
            unmapped = [n for n in sorted(requested) if ordered[n].sku_id is None]
            if unmapped:
                raise ValidationFailed(f"line {unmapped[0]} is not mapped to a catalog SKU")
            rma_id = int(
                conn.execute(
                    insert(rt.rma)
                    .values(
                        number=f"tmp-{uuid.uuid4().hex[:16]}",
                        order_id=order.id,
                        state="open",
                        reason=reason.strip(),
                        currency=_currency(conn, order.id, [ordered[n].sku_id for n in requested]),
                        created_by=actor.operator_id,
                        station_id=actor.station_id,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(rt.rma.c.id)
                ).scalar_one()
            )
            conn.execute(
                update(rt.rma).where(rt.rma.c.id == rma_id).values(number=rma_number(rma_id))
            )
            conn.execute(
                insert(rl),
                [
                    {"rma_id": rma_id, "order_line_id": ordered[n].id,
                     "sku_id": ordered[n].sku_id, "qty": q, "unit_price": ordered[n].unit_price}
                    for n, q in sorted(requested.items())
                ],
            )  # fmt: skip
            audit.record(
                conn, at=now, station_id=actor.station_id, operator_id=actor.operator_id,
                entity="rma", entity_id=rma_id, action="issue",
                detail={"order": order_number, "lines": sorted(requested.items()),
                        "reason": reason},
            )  # fmt: skip
            if claim is not None:
                store_response(conn, claim, code=201, body={"rma_id": rma_id}, now=now)
            return rr.rma_view(conn, rma_id, at=now)

        return write_once(self.uow, work)

    def get(self, *, rma_id: int) -> dict[str, Any]:
        return self.uow.read(lambda conn: rr.rma_view(conn, rma_id, at=self.clock()))

    def lookup(self, *, code: str) -> dict[str, Any]:
        """The open RMA a parcel belongs to, from its RMA number, order number or tracking
        number, with what the desk needs to check each unit without asking again."""
        text = code.strip()
        if not text:
            raise ValidationFailed("scan the RMA, the order number or the tracking number")

        def work(conn: Connection) -> dict[str, Any]:
            if RMA_NUMBER.fullmatch(text):
                rma_id = rr.rma_id_by_number(conn, text)
            else:
                so = t.sales_order
                order_id = conn.execute(select(so.c.id).where(so.c.number == text)).scalar()
                what = f"order {text}"
                if order_id is None:
                    order_id, what = rr.order_of_tracking(conn, text), f"parcel {text}"
                if order_id is None:
                    raise NotFound(f"no RMA, order or parcel is known as {text}")
                rma_id = rr.open_rma_of_order(conn, int(order_id), what=what)
            return rr.rma_view(conn, rma_id, at=self.clock())

        return self.uow.read(work)

    # --- receipt --------------------------------------------------------------------------

    def receive(self, *, rma_id: int, receipt: UnitReceipt, actor: Actor) -> Received:
        """One unit into a quarantine bin: matched to an RMA line, or flagged and recorded."""
        condition = _condition(receipt.condition)
        claim = idempotency_claim(
            "return-unit", actor, receipt.key, {"rma_id": rma_id, **asdict(receipt)}
        )

        def work(conn: Connection) -> Received:
            now = self.clock()
            rma = rr.lock_rma(conn, rma_id)
            stored = stored_response(conn, claim)
            if stored is not None:
                return Received(rr.unit_view(conn, int(stored[1]["unit_id"])), replayed=True)
            place = rr.bin_by_code(
                conn, receipt.bin.strip(), kinds=frozenset({LocationKind.QUARANTINE})
            )
            found = rr.returned_sku(conn, receipt.barcode, at=now)
            if found is not None and found[1] != 1:
                raise ValidationFailed(
                    f"that is a case barcode ({found[1]} units): scan each unit on its own"
                )
            sku_id = found[0] if found is not None else None
            lines, prices = _line_facts(conn, rma_id)
            match = match_unit(sku_id=sku_id, lines=lines, order_skus=_order_skus(conn, rma))
            sku = (
                conn.execute(select(t.sku).where(t.sku.c.id == sku_id)).one()
                if sku_id is not None
                else None
            )
            # The books keep lots only for lot-tracked SKUs ('' otherwise): a GS1 lot on another
            # item's barcode is evidence (audited), not a second stock row.
            lot = receipt.lot.strip() if sku is not None and sku.track_lot else ""
            value = (
                prices[match.line_id]
                if match.line_id is not None
                else (sku.unit_value if sku is not None else None)
            )
            unit_id = int(
                conn.execute(
                    insert(rt.return_unit)
                    .values(
                        rma_id=rma_id,
                        rma_line_id=match.line_id,
                        sku_id=sku_id,
                        barcode=receipt.barcode.strip(),
                        lot=lot,
                        serial=receipt.serial.strip(),
                        expiry=receipt.expiry,
                        condition=condition.value,
                        flag=match.flag.value if match.flag else None,
                        state=UnitState.QUARANTINED.value,
                        location_id=place.id,
                        unit_value=value,
                        currency=rma.currency,
                        receipt_key=receipt.key,
                        station_id=actor.station_id,
                        operator_id=actor.operator_id,
                        received_at=now,
                    )
                    .returning(rt.return_unit.c.id)
                ).scalar_one()
            )
            if sku_id is not None:
                # A unit that was never on the order did not come back from `shipped`: the books
                # show it as found stock (a gain), which is what it is.
                source = places.virtual(
                    conn,
                    warehouse_id=place.warehouse_id,
                    kind=LocationKind.ADJUSTMENT_GAIN
                    if match.flag is Flag.NOT_ON_ORDER
                    else LocationKind.SHIPPED,
                )
                sid = stock.ensure_row(
                    conn, location_id=place.id, sku_id=sku_id, lot=lot, expiry=receipt.expiry,
                    unit_cost=None, now=now,
                )  # fmt: skip
                stock.add_on_hand(conn, sid, 1)
                stock.append_movements(
                    conn,
                    [MovementRecord(sku_id, lot, source.id, place.id, 1, MovementReason.RETURN,
                                    order_id=rma.order_id, idempotency_key=receipt.key,
                                    note=f"{rma.number} {match.flag or 'return'}")],
                    now=now, station_id=actor.station_id, operator_id=actor.operator_id,
                )  # fmt: skip
            if match.line_id is not None:
                self._refunds.record(
                    conn, unit_id=unit_id, rma_id=rma_id, rma_number=rma.number,
                    amount=prices[match.line_id], currency=rma.currency, actor=actor,
                )  # fmt: skip
            audit.record(
                conn, at=now, station_id=actor.station_id, operator_id=actor.operator_id,
                entity="return_unit", entity_id=unit_id,
                action="flag" if match.flag else "receive",
                detail={"rma": rma.number, "barcode": receipt.barcode, "sku_id": sku_id,
                        "lot": receipt.lot, "serial": receipt.serial,
                        "flag": match.flag.value if match.flag else None,
                        "condition": condition.value, "bin": place.code},
            )  # fmt: skip
            rr.refresh_rma_state(conn, rma_id, now=now)
            store_response(conn, claim, code=201, body={"unit_id": unit_id}, now=now)
            return Received(rr.unit_view(conn, unit_id), replayed=False)

        return write_once(self.uow, work)

    # --- triage -------------------------------------------------------------------------

    def triage(
        self,
        *,
        unit_id: int,
        decision: str,
        bin_code: str | None,
        note: str,
        key: str,
        actor: Actor,
    ) -> dict[str, Any]:
        """The recorded decision for one quarantined unit (return_triage.py)."""
        return self._triage.triage(unit_id=unit_id, decision=decision, bin_code=bin_code,
                                   note=note, key=key, actor=actor)  # fmt: skip

    # --- lists ------------------------------------------------------------------------------

    def units(
        self, *, rma_id: int | None = None, state: str | None = None, flagged: bool | None = None
    ) -> list[dict[str, Any]]:
        return self.uow.read(
            lambda conn: rr.unit_views(conn, rma_id=rma_id, state=state, flagged=flagged)
        )

    def unit(self, *, unit_id: int) -> dict[str, Any]:
        return self.uow.read(lambda conn: rr.unit_view(conn, unit_id))

    def quarantine_bins(self) -> list[tuple[str, str]]:
        return self.uow.read(rr.quarantine_bins)

    def refunds(self, *, rma_id: int) -> list[dict[str, Any]]:
        rf = rt.refund_trigger

        def work(conn: Connection) -> list[dict[str, Any]]:
            return [
                {"id": int(r.id), "unit_id": int(r.unit_id), "amount": r.amount,
                 "currency": r.currency, "state": r.state, "approval_id": r.approval_id}
                for r in conn.execute(
                    select(rf).where(rf.c.rma_id == rma_id).order_by(rf.c.id)
                ).all()
            ]  # fmt: skip

        return self.uow.read(work)


def _line_facts(conn: Connection, rma_id: int) -> tuple[list[LineFacts], dict[int, Decimal]]:
    rl = rt.rma_line
    got = rr.received_per_line(conn, rma_id)
    rows = conn.execute(select(rl).where(rl.c.rma_id == rma_id).order_by(rl.c.id)).all()
    facts = [LineFacts(int(r.id), int(r.sku_id), int(r.qty), int(got.get(r.id, 0))) for r in rows]
    return facts, {int(r.id): r.unit_price for r in rows}


def _order_skus(conn: Connection, rma: Any) -> frozenset[int]:
    ol = t.order_line
    return frozenset(
        int(s)
        for s in conn.execute(
            select(ol.c.sku_id).where(ol.c.order_id == rma.order_id, ol.c.sku_id.is_not(None))
        ).scalars()
    )


def _currency(conn: Connection, order_id: int, sku_ids: list[int]) -> str:
    """The order's currency: its payment capture's, else its SKUs' catalog currency."""
    pc = t.payment_capture
    paid = conn.execute(
        select(pc.c.currency).where(pc.c.order_id == order_id).order_by(pc.c.id).limit(1)
    ).scalar()
    if paid:
        return str(paid)
    listed = conn.execute(select(t.sku.c.currency).where(t.sku.c.id.in_(sku_ids))).scalar()
    return str(listed or "EUR")

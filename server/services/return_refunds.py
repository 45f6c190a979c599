"""Refunds of returned units (finance acts on the triggers; there is no payment integration here).

A matched unit's refund is recorded at receipt. A high-value one (above
PACKLINE_RETURN_APPROVAL_THRESHOLD) is recorded as awaiting approval, and the four-eyes request
for it (`refund_high_value_return`) is written in the same transaction as the receipt: a unit
can never be on the books with a refund that nobody was asked to approve. Its own approval
releases it, whatever triage does with the unit (restock, damaged, scrap or vendor); a refusal
leaves it unrefunded, with the refusal in the approvals log.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, insert, select, update

from server.db import audit
from server.db import returns_tables as rt
from server.db import tables as t
from server.domain.actor import Actor
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.domain.four_eyes import REFUND_HIGH_VALUE_RETURN
from server.domain.returns import RefundState, refund_state
from server.services.approvals import ApprovalService, payload_hash, write_request
from server.services.context import Clock
from server.services.unit_of_work import UnitOfWork

OP_REFUND = REFUND_HIGH_VALUE_RETURN


class ReturnRefunds:
    def __init__(
        self, *, uow: UnitOfWork, clock: Clock, approvals: ApprovalService, threshold: Decimal
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.approvals = approvals
        self.threshold = threshold
        approvals.register(OP_REFUND, self._execute, validate=_validate)

    def record(
        self,
        conn: Connection,
        *,
        unit_id: int,
        rma_id: int,
        rma_number: str,
        amount: Decimal,
        currency: str,
        actor: Actor,
    ) -> RefundState:
        """The refund trigger of a matched unit, in the receipt's transaction; a high-value one
        waits for a second person (unless the matrix waives that on purpose)."""
        now = self.clock()
        state = refund_state(amount=amount, threshold=self.threshold)
        payload = {"unit_id": unit_id, "rma": rma_number, "amount": _money(amount),
                   "currency": currency, "requested_by": actor.operator_id}  # fmt: skip
        if state is RefundState.AWAITING_APPROVAL:
            if not self.approvals.needs_second_person(operation=OP_REFUND, payload=payload):
                state = RefundState.TRIGGERED
            elif actor.operator_id is None:
                # Somebody must have asked: the approver must be another person than the asker.
                raise Forbidden("a high-value return must be received by a signed-in person")
        triggered = state is RefundState.TRIGGERED
        refund_id = conn.execute(
            insert(rt.refund_trigger)
            .values(
                unit_id=unit_id, rma_id=rma_id, amount=amount, currency=currency,
                state=state.value, created_at=now,
                triggered_at=now if triggered else None,
                triggered_by=actor.operator_id if triggered else None,
            )
            .returning(rt.refund_trigger.c.id)
        ).scalar_one()  # fmt: skip
        if not triggered:
            reason = (
                f"refund of a high-value return: {_money(amount)} {currency} "
                f"(approval needed above {self.threshold})"
            )
            approval_id = _ask(conn, payload=payload, reason=reason, actor=actor, now=now)
            conn.execute(
                update(rt.refund_trigger)
                .where(rt.refund_trigger.c.id == refund_id)
                .values(approval_id=approval_id)
            )
        return state

    def _execute(self, payload: dict[str, Any], approver: Actor) -> dict[str, Any]:
        """The approved refund, released once: a second execution finds it already triggered."""
        rf, ar = rt.refund_trigger, t.approval_request

        def work(conn: Connection) -> dict[str, Any]:
            now = self.clock()
            unit_id = int(payload["unit_id"])
            row = conn.execute(select(rf).where(rf.c.unit_id == unit_id).with_for_update()).first()
            if row is None:
                raise NotFound(f"returned unit {unit_id} has no refund")
            # The approval executes exactly what was approved: not another amount.
            if row.amount != Decimal(str(payload["amount"])) or row.currency != payload["currency"]:
                raise ValidationFailed(
                    f"the refund of unit {unit_id} is {row.amount} {row.currency}, "
                    f"not the {payload['amount']} {payload['currency']} that was approved"
                )
            body = {"unit_id": unit_id, "refund_id": int(row.id), "state": "triggered",
                    "amount": _money(row.amount), "currency": row.currency}  # fmt: skip
            if row.state == RefundState.TRIGGERED.value:
                return {**body, "already": True}
            # The approval service marked the request approved just before calling us.
            approval_id = conn.execute(
                select(ar.c.id)
                .where(
                    ar.c.operation == OP_REFUND,
                    ar.c.payload_hash == payload_hash(payload),
                    ar.c.state == "approved",
                )
                .order_by(ar.c.id.desc())
                .limit(1)
            ).scalar()
            conn.execute(
                update(rf)
                .where(rf.c.id == row.id, rf.c.state == RefundState.AWAITING_APPROVAL.value)
                .values(
                    state=RefundState.TRIGGERED.value,
                    approval_id=approval_id if approval_id is not None else row.approval_id,
                    triggered_at=now, triggered_by=approver.operator_id,
                )
            )  # fmt: skip
            audit.record(
                conn, at=now, station_id=approver.station_id, operator_id=approver.operator_id,
                entity="refund_trigger", entity_id=int(row.id), action="trigger",
                detail={"unit_id": unit_id, "amount": _money(row.amount), "currency": row.currency,
                        "approval_id": approval_id},
            )  # fmt: skip
            return body

        return self.uow.write(work)


def _ask(
    conn: Connection, *, payload: dict[str, Any], reason: str, actor: Actor, now: datetime
) -> int:
    """The pending four-eyes request, written in the caller's transaction (as
    ApprovalService.request writes it in its own): the receipt and the request commit together."""
    return write_request(conn, operation=OP_REFUND, payload=payload, reason=reason,
                         requester=actor, now=now)  # fmt: skip


def _money(amount: Decimal) -> str:
    # The same text on SQLite and PostgreSQL (their NUMERIC scales differ): cents when exact.
    cents = amount.quantize(Decimal("0.01"))
    return str(cents) if cents == amount else str(amount.normalize())


def _validate(payload: dict[str, Any]) -> None:
    unit_id = payload.get("unit_id")
    if isinstance(unit_id, bool) or not isinstance(unit_id, int) or unit_id < 1:
        raise ValidationFailed("unit_id must be an id")
    try:
        amount = Decimal(str(payload.get("amount")))
    except (InvalidOperation, ValueError):
        raise ValidationFailed("amount must be a number") from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationFailed("amount must be a positive number")
    if not isinstance(payload.get("currency"), str) or len(payload["currency"]) != 3:
        raise ValidationFailed("currency must be a 3-letter code")

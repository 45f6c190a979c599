"""Cycle counts: small corrections apply at once; large ones wait for a second person.

"Large" is the four-eyes matrix's business (operation `inventory_adjustment`, by default above
PACKLINE_ADJUSTMENT_APPROVAL_THRESHOLD units on the payload's `units`); this service only says
what the count would change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from server.db import stock
from server.db import tables as t
from server.domain.actor import Actor
from server.domain.errors import NotFound, ValidationFailed
from server.domain.four_eyes import INVENTORY_ADJUSTMENT
from server.services.approvals import ApprovalService, ApprovalView
from server.services.ledger import CountResult, LedgerService

OPERATION = INVENTORY_ADJUSTMENT
_MAX = 2**31 - 1  # counters are 32-bit integers


@dataclass(frozen=True, slots=True)
class CountOutcome:
    applied: CountResult | None
    approval: ApprovalView | None


class CountService:
    def __init__(self, *, ledger: LedgerService, approvals: ApprovalService) -> None:
        self.ledger = ledger
        self.approvals = approvals
        approvals.register(OPERATION, self._execute, validate=_validate)

    def count(
        self, *, stock_level_id: int, counted: int, actor: Actor, reason: str = ""
    ) -> CountOutcome:
        if counted < 0:
            raise ValidationFailed("a count cannot be negative")

        def read(conn: Connection) -> dict[str, Any]:
            row = stock.get_row(conn, stock_level_id)
            if row is None:
                raise NotFound(f"stock row {stock_level_id} does not exist")
            sku = conn.execute(select(t.sku.c.code).where(t.sku.c.id == row.sku_id)).scalar_one()
            loc = t.location
            where = conn.execute(select(loc.c.code).where(loc.c.id == row.location_id)).scalar()
            # What the approver reads and what executes: the row, the count, the books at the
            # time of the count (a changed row refuses to execute), and the size of the change.
            return {
                "stock_level_id": stock_level_id,
                "counted": counted,
                "expected_on_hand": row.on_hand,
                "units": abs(counted - row.on_hand),
                "sku": str(sku),
                "lot": row.lot,
                "location": str(where),
            }

        payload = self.ledger.uow.read(read)
        diff = counted - int(payload["expected_on_hand"])
        why = reason or f"count differs by {diff} units"
        if self.approvals.needs_second_person(operation=OPERATION, payload=payload):
            return CountOutcome(
                None,
                self.approvals.request(
                    operation=OPERATION, payload=payload, reason=why, actor=actor
                ),
            )
        return CountOutcome(self._apply(payload, actor), None)

    def _apply(self, payload: dict[str, Any], actor: Actor) -> CountResult:
        return self.ledger.apply_count(
            stock_level_id=int(payload["stock_level_id"]),
            counted=int(payload["counted"]),
            expected_on_hand=int(payload["expected_on_hand"]),
            actor=actor,
        )

    def _execute(self, payload: dict[str, Any], actor: Actor) -> dict[str, Any]:
        result = self._apply(payload, actor)
        return {
            "before": result.before,
            "after": result.after,
            "orders_on_hold": list(result.orders_on_hold),
        }


def _validate(payload: dict[str, Any]) -> None:
    for name in ("stock_level_id", "counted", "expected_on_hand"):
        value = payload.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX:
            raise ValidationFailed(f"{name} must be a whole number from 0 to {_MAX}")
    if payload["stock_level_id"] < 1:
        raise ValidationFailed("stock_level_id must be a stock row id")

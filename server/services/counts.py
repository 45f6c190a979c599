"""Cycle counts: small corrections apply at once; large ones wait for a second person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from server.db import stock
from server.domain.actor import Actor
from server.domain.errors import NotFound, ValidationFailed
from server.services.approvals import ApprovalService, ApprovalView
from server.services.ledger import CountResult, LedgerService

OPERATION = "stock_adjustment"


@dataclass(frozen=True, slots=True)
class CountOutcome:
    applied: CountResult | None
    approval: ApprovalView | None


class CountService:
    def __init__(
        self, *, ledger: LedgerService, approvals: ApprovalService, threshold: int
    ) -> None:
        self.ledger = ledger
        self.approvals = approvals
        self.threshold = threshold
        approvals.register(OPERATION, self._execute)

    def count(
        self, *, stock_level_id: int, counted: int, actor: Actor, reason: str = ""
    ) -> CountOutcome:
        if counted < 0:
            raise ValidationFailed("a count cannot be negative")

        def read(conn: Connection) -> stock.StockRow:
            row = stock.get_row(conn, stock_level_id)
            if row is None:
                raise NotFound(f"stock row {stock_level_id} does not exist")
            return row

        row = self.ledger.uow.read(read)
        if abs(counted - row.on_hand) <= self.threshold:
            result = self.ledger.apply_count(
                stock_level_id=stock_level_id,
                counted=counted,
                expected_on_hand=row.on_hand,
                actor=actor,
            )
            return CountOutcome(result, None)
        payload = {
            "stock_level_id": stock_level_id,
            "counted": counted,
            "expected_on_hand": row.on_hand,
        }
        why = reason or f"count differs by {counted - row.on_hand} units"
        return CountOutcome(
            None,
            self.approvals.request(operation=OPERATION, payload=payload, reason=why, actor=actor),
        )

    def _execute(self, payload: dict[str, Any], approver: Actor) -> dict[str, Any]:
        result = self.ledger.apply_count(
            stock_level_id=int(payload["stock_level_id"]),
            counted=int(payload["counted"]),
            expected_on_hand=int(payload["expected_on_hand"]),
            actor=approver,
        )
        return {
            "before": result.before,
            "after": result.after,
            "orders_on_hold": list(result.orders_on_hold),
        }

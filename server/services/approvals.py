"""Four-eyes approvals (domain.md): the request stores the exact payload; another person approves
or refuses with a reason; only the approved payload executes, and everything is audited."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from server.db import audit
from server.db import tables as t
from server.domain.actor import Actor
from server.domain.errors import (
    ApprovalStateError,
    Forbidden,
    NotFound,
    PayloadMismatch,
    SelfApproval,
    ValidationFailed,
)
from server.services.context import Clock
from server.services.unit_of_work import UnitOfWork

Executor = Callable[[dict[str, Any], Actor], dict[str, Any]]


def payload_hash(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ApprovalView:
    id: int
    operation: str
    payload: dict[str, Any]
    payload_hash: str
    reason: str
    requested_by: int
    state: str
    decided_by: int | None
    decision_reason: str | None
    result: dict[str, Any] | None
    created_at: datetime


def _view(r: Any) -> ApprovalView:
    return ApprovalView(
        r.id,
        r.operation,
        r.payload,
        r.payload_hash,
        r.reason,
        r.requested_by,
        r.state,
        r.decided_by,
        r.decision_reason,
        r.result,
        r.created_at,
    )


class ApprovalService:
    def __init__(self, *, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock
        self.executors: dict[str, Executor] = {}

    def register(self, operation: str, executor: Executor) -> None:
        self.executors[operation] = executor

    def request(
        self, *, operation: str, payload: dict[str, Any], reason: str, actor: Actor
    ) -> ApprovalView:
        if operation not in self.executors:
            raise ValidationFailed(f"{operation} is not an operation that takes approval")
        if actor.operator_id is None:
            raise Forbidden("an approval request needs a signed-in operator")
        if not reason.strip():
            raise ValidationFailed("say why the operation is needed")

        def work(conn: Connection) -> ApprovalView:
            now = self.clock()
            ar = t.approval_request
            rid = conn.execute(
                insert(ar)
                .values(
                    operation=operation,
                    payload=payload,
                    payload_hash=payload_hash(payload),
                    reason=reason,
                    requested_by=actor.operator_id,
                    requested_station=actor.station_id,
                    state="pending",
                    created_at=now,
                )
                .returning(ar.c.id)
            ).scalar_one()
            audit.record(
                conn,
                at=now,
                station_id=actor.station_id,
                operator_id=actor.operator_id,
                entity="approval",
                entity_id=rid,
                action="request",
                detail={"operation": operation, "payload": payload, "reason": reason},
            )
            return _view(conn.execute(select(ar).where(ar.c.id == rid)).one())

        return self.uow.write(work)

    def get(self, *, approval_id: int) -> ApprovalView:
        def work(conn: Connection) -> ApprovalView:
            ar = t.approval_request
            r = conn.execute(select(ar).where(ar.c.id == approval_id)).first()
            if r is None:
                raise NotFound(f"approval request {approval_id} does not exist")
            return _view(r)

        return self.uow.read(work)

    def list_pending(self) -> list[ApprovalView]:
        ar = t.approval_request
        return self.uow.read(
            lambda conn: [
                _view(r)
                for r in conn.execute(select(ar).where(ar.c.state == "pending").order_by(ar.c.id))
            ]
        )

    def decide(
        self,
        *,
        approval_id: int,
        approve: bool,
        reason: str,
        seen_payload_hash: str,
        approver: Actor,
    ) -> ApprovalView:
        """Approve (and execute) or refuse. `seen_payload_hash` is the hash of the payload the
        approver was shown: if the stored payload differs, nothing executes."""
        if not approver.has("supervisor"):
            raise Forbidden("only a supervisor can approve or refuse")
        if not reason.strip():
            raise ValidationFailed("an approval or refusal needs a reason")
        current = self.get(approval_id=approval_id)
        if current.state != "pending":
            raise ApprovalStateError(f"approval request {approval_id} is already {current.state}")
        if approver.operator_id == current.requested_by:
            raise SelfApproval("the person who asked cannot approve or refuse their own request")
        if payload_hash(current.payload) != current.payload_hash:
            raise PayloadMismatch("the stored payload was altered after it was requested")
        if seen_payload_hash != current.payload_hash:
            raise PayloadMismatch("the payload you approved is not the one that was requested")
        result: dict[str, Any] | None = None
        if approve:
            executor = self.executors[current.operation]
            # Claim first so two approvers cannot both execute; then run the operation in its
            # own use case (transaction); record the outcome.
            self._set_state(approval_id, "pending", "approved", approver, reason, None)
            try:
                result = executor(dict(current.payload), approver)
            except Exception as exc:
                failure = {"error": type(exc).__name__, "detail": str(exc)}
                self._set_state(approval_id, "approved", "failed", approver, reason, failure)
                raise
            self._set_state(approval_id, "approved", "executed", approver, reason, result)
        else:
            self._set_state(approval_id, "pending", "refused", approver, reason, None)
        return self.get(approval_id=approval_id)

    def _set_state(
        self,
        approval_id: int,
        expected: str,
        new: str,
        approver: Actor,
        reason: str,
        result: dict[str, Any] | None,
    ) -> None:
        def work(conn: Connection) -> None:
            now = self.clock()
            ar = t.approval_request
            res = conn.execute(
                update(ar)
                .where(ar.c.id == approval_id, ar.c.state == expected)
                .values(
                    state=new,
                    decided_by=approver.operator_id,
                    decision_reason=reason,
                    decided_at=now,
                    result=result,
                )
            )
            if res.rowcount != 1:
                raise ApprovalStateError(f"approval request {approval_id} changed meanwhile")
            audit.record(
                conn,
                at=now,
                station_id=approver.station_id,
                operator_id=approver.operator_id,
                entity="approval",
                entity_id=approval_id,
                action=new,
                detail={"reason": reason, "result": result},
            )

        self.uow.write(work)

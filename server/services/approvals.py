"""Four-eyes approvals (domain.md): the request stores the exact payload; another person approves
or refuses with a reason; only the approved payload executes, and everything is audited.

Which operations need a second person, and who may be it, is the matrix
(`server.domain.four_eyes`). `submit` asks the matrix: it requests an approval, or runs the
operation at once when nobody else is needed (a small count, a waived operation). `request`
always asks for a second person (for callers that have already decided they need one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, insert, select, update

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
from server.domain.four_eyes import (
    BENCH_OVERRIDE,
    SUPERVISORS,
    FourEyesMatrix,
    Need,
    Policy,
    default_matrix,
)
from server.services.context import Clock
from server.services.unit_of_work import UnitOfWork
from shared.contract.approvals import payload_digest

Executor = Callable[[dict[str, Any], Actor], dict[str, Any]]
# Checks a payload before it is stored (raises ValidationFailed): nobody is asked to approve
# something that could never run.
Validator = Callable[[dict[str, Any]], None]
STATES = frozenset({"pending", "approved", "executed", "refused", "failed"})


def payload_hash(payload: dict[str, Any]) -> str:
    return payload_digest(payload)


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
    requested_by_name: str = ""
    decided_by_name: str | None = None
    decided_at: datetime | None = None
    words: str = ""


@dataclass(frozen=True, slots=True)
class Submitted:
    """What `submit` did: asked for a second person (`approval`) or ran (`result`)."""

    approval: ApprovalView | None
    result: dict[str, Any] | None

    @property
    def applied(self) -> bool:
        return self.approval is None


def _select() -> Select[Any]:
    ar = t.approval_request
    asker, decider = t.operator.alias("asker"), t.operator.alias("decider")
    return (
        select(ar, asker.c.name.label("asker_name"), decider.c.name.label("decider_name"))
        .join(asker, asker.c.id == ar.c.requested_by)
        .outerjoin(decider, decider.c.id == ar.c.decided_by)
    )


class ApprovalService:
    def __init__(
        self, *, uow: UnitOfWork, clock: Clock, matrix: FourEyesMatrix | None = None
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.matrix = matrix or default_matrix()
        self.executors: dict[str, Executor] = {}
        self.validators: dict[str, Validator] = {}

    def register(
        self, operation: str, executor: Executor, *, validate: Validator | None = None
    ) -> None:
        # At start-up: an operation outside the matrix would have no approvers and no words.
        if operation not in self.matrix:
            raise ValueError(
                f"{operation!r} is not in the four-eyes matrix (server/domain/four_eyes.py); "
                f"it has: {', '.join(self.matrix.operations)}"
            )
        self.executors[operation] = executor
        if validate is not None:
            self.validators[operation] = validate

    def available(self, operation: str) -> bool:
        """Whether this server can carry the operation out (bench overrides are granted at the
        bench and recorded from its events; customer unmerge has nothing to run yet)."""
        return operation in self.executors or operation == BENCH_OVERRIDE

    def needs_second_person(self, *, operation: str, payload: dict[str, Any]) -> bool:
        return self.matrix.policy(operation).needs_second_person(payload)

    def submit(
        self, *, operation: str, payload: dict[str, Any], reason: str, actor: Actor
    ) -> Submitted:
        """The matrix decides: a request for a second person, or the operation at once."""
        self._check_request(operation, payload, reason, actor)
        if self.needs_second_person(operation=operation, payload=payload):
            return Submitted(self._insert_request(operation, payload, reason, actor), None)
        return Submitted(None, self.executors[operation](dict(payload), actor))

    def request(
        self, *, operation: str, payload: dict[str, Any], reason: str, actor: Actor
    ) -> ApprovalView:
        self._check_request(operation, payload, reason, actor)
        return self._insert_request(operation, payload, reason, actor)

    def _check_request(
        self, operation: str, payload: dict[str, Any], reason: str, actor: Actor
    ) -> None:
        if operation not in self.executors:
            raise ValidationFailed(f"{operation} is not an operation that takes approval")
        if actor.operator_id is None:
            raise Forbidden("an approval request needs a signed-in operator")
        if not reason.strip():
            raise ValidationFailed("say why the operation is needed")
        check = self.validators.get(operation)
        if check is not None:
            check(payload)

    def _insert_request(
        self, operation: str, payload: dict[str, Any], reason: str, actor: Actor
    ) -> ApprovalView:
        def work(conn: Connection) -> ApprovalView:
            rid = write_request(conn, operation=operation, payload=payload, reason=reason,
                                requester=actor, now=self.clock())  # fmt: skip
            ar = t.approval_request
            return self._view(conn.execute(_select().where(ar.c.id == rid)).one())

        return self.uow.write(work)

    def get(self, *, approval_id: int) -> ApprovalView:
        def work(conn: Connection) -> ApprovalView:
            ar = t.approval_request
            r = conn.execute(_select().where(ar.c.id == approval_id)).first()
            if r is None:
                raise NotFound(f"approval request {approval_id} does not exist")
            return self._view(r)

        return self.uow.read(work)

    def list_pending(self) -> list[ApprovalView]:
        return self.log(state="pending")

    def log(
        self, *, state: str | None = "pending", operation: str | None = None, limit: int = 200
    ) -> list[ApprovalView]:
        """The approvals log: pending oldest first; any other view newest first."""
        if state is not None and state not in STATES:
            raise ValidationFailed(f"state must be one of {', '.join(sorted(STATES))}")
        ar = t.approval_request
        stmt = _select()
        if state is not None:
            stmt = stmt.where(ar.c.state == state)
        if operation is not None:
            stmt = stmt.where(ar.c.operation == operation)
        order = ar.c.id if state == "pending" else ar.c.id.desc()
        stmt = stmt.order_by(order).limit(max(1, min(limit, 1000)))
        return self.uow.read(lambda conn: [self._view(r) for r in conn.execute(stmt)])

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
        if not reason.strip():
            raise ValidationFailed("an approval or refusal needs a reason")
        current = self.get(approval_id=approval_id)
        policy = self._policy(current.operation)
        if not approver.has(*policy.approver_roles):
            raise Forbidden(
                f"only {' or '.join(sorted(policy.approver_roles))} can approve or refuse "
                f"{current.operation.replace('_', ' ')}"
            )
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
            executor = self.executors.get(current.operation)
            if executor is None:
                raise ValidationFailed(
                    f"{current.operation} cannot be carried out by this server; refuse it"
                )
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

    def _policy(self, operation: str) -> Policy:
        found = self.matrix.get(operation)
        if found is None:  # a row from before the matrix knew the operation: supervisors decide
            return Policy(operation=operation, need=Need.ALWAYS, approver_roles=SUPERVISORS,
                          words=operation.replace("_", " "))  # fmt: skip
        return found

    def _view(self, r: Any) -> ApprovalView:
        policy = self.matrix.get(r.operation)
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
            requested_by_name=r.asker_name,
            decided_by_name=r.decider_name,
            decided_at=r.decided_at,
            words=policy.describe(r.payload) if policy else r.operation.replace("_", " "),
        )

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


def write_request(
    conn: Connection,
    *,
    operation: str,
    payload: dict[str, Any],
    reason: str,
    requester: Actor,
    now: datetime,
    executed_by: int | None = None,
    result: dict[str, Any] | None = None,
) -> int:
    """One approval request row and its audit, in the caller's transaction (so a receipt and its
    refund request, or an override and its record, commit together). `executed_by`: a request
    already approved and carried out by that person (a bench override granted offline)."""
    ar = t.approval_request
    decided: dict[str, Any] = {"state": "pending"}
    if executed_by is not None:
        decided = {"state": "executed", "decided_by": executed_by, "decision_reason": reason,
                   "decided_at": now, "result": result}  # fmt: skip
    rid = int(
        conn.execute(
            insert(ar)
            .values(operation=operation, payload=payload, payload_hash=payload_hash(payload),
                    reason=reason, requested_by=requester.operator_id,
                    requested_station=requester.station_id, created_at=now, **decided)
            .returning(ar.c.id)
        ).scalar_one()
    )  # fmt: skip
    steps = [("request", requester.operator_id)]
    if executed_by is not None:
        steps.append(("executed", executed_by))
    for action, who in steps:
        audit.record(conn, at=now, station_id=requester.station_id, operator_id=who,
                     entity="approval", entity_id=rid, action=action,
                     detail={"operation": operation, "payload": payload,
                             "reason": reason})  # fmt: skip
    return rid


def record_bench_override(
    conn: Connection,
    *,
    payload: dict[str, Any],
    reason: str,
    requester: Actor,
    supervisor_id: int,
    now: datetime,
) -> int:
    """An override the bench already granted (supervisor badge checked offline), recorded in the
    caller's transaction as an executed approval: requested by the packer, approved by the
    supervisor, so it sits in the approvals log with its payload and reason. The table's CHECK
    refuses a row where both are the same person."""
    if requester.operator_id is None:
        raise ValidationFailed("an override needs the operator who asked for it")
    if requester.operator_id == supervisor_id:
        raise SelfApproval("a supervisor cannot approve their own override")
    return write_request(conn, operation=BENCH_OVERRIDE, payload=payload, reason=reason,
                         requester=requester, now=now, executed_by=supervisor_id,
                         result={"granted_at": "bench"})  # fmt: skip

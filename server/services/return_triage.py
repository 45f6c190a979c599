"""Triage of returned units: the recorded decision per unit (restock to a named bin, damaged,
scrap, return to vendor), each a ledger movement out of quarantine (floor.md Returns clerks).

Restocking a high-value return is the four-eyes operation `restock_high_value_return`: it is asked
for through the shared ApprovalService (the matrix may waive it), which executes exactly the stored
payload and never for the person who asked. The unit's refund has its own approval
(return_refunds.py). A restock offers the unit to backordered orders, as a stock receipt does.
Every decision carries the station's idempotency key, stored with its answer in the same
transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.db import audit, places, stock
from server.db import return_records as rr
from server.db import returns_tables as rt
from server.db import tables as t
from server.db.places import Place
from server.db.stock import LostRace, MovementRecord
from server.domain.actor import Actor
from server.domain.errors import (
    DomainError,
    Forbidden,
    InsufficientStock,
    NotFound,
    ValidationFailed,
)
from server.domain.four_eyes import RESTOCK_HIGH_VALUE_RETURN
from server.domain.intake import request_hash
from server.domain.locations import HOLDING_KINDS, LocationKind
from server.domain.returns import (
    Condition,
    Decision,
    UnitState,
    check_triage,
    destination_kind,
    movement_reason,
    needs_approval,
    state_after,
)
from server.services.allocation import AllocationService
from server.services.approvals import ApprovalService, payload_hash
from server.services.context import Clock
from server.services.intake import IdempotencyClaim, store_response, stored_response
from server.services.unit_of_work import UnitOfWork

OP_RESTOCK = RESTOCK_HIGH_VALUE_RETURN
T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Plan:
    unit_id: int
    dest: Place
    needs_approval: bool
    why: str


def _decision(value: str) -> Decision:
    try:
        return Decision(value)
    except ValueError:
        raise ValidationFailed(f"{value!r} is not a triage decision") from None


def idempotency_claim(scope: str, actor: Actor, key: str, body: dict[str, Any]) -> IdempotencyClaim:
    # Keys are per station, like station events: two benches can never collide.
    return IdempotencyClaim(f"{scope}:{actor.station_id or 0}", key, request_hash(body))


def write_once(uow: UnitOfWork, work: Callable[[Connection], T]) -> T:
    """One use case's transaction; a concurrent duplicate that lost the idempotency-key race is
    re-run, and then finds the winner's stored answer instead of failing."""
    for attempt in range(3):
        try:
            return uow.write(work)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


class ReturnTriage:
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
        self.allocation = allocation  # None: restocks offer nothing to backordered orders
        approvals.register(OP_RESTOCK, self._execute_restock, validate=_validate_restock)

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
        """The recorded decision for one quarantined unit, as a ledger movement; a restock that
        needs four eyes becomes an approval request instead (state "awaiting_approval")."""
        choice = _decision(decision)
        body = {"unit_id": unit_id, "decision": choice.value, "bin": bin_code, "note": note}
        claim = idempotency_claim("return-triage", actor, key, body)
        stored = self.uow.read(lambda conn: stored_response(conn, claim))
        if stored is not None:
            return dict(stored[1])
        plan = self.uow.read(lambda conn: self._plan(conn, unit_id, choice, bin_code))
        if plan.needs_approval:
            return self._request_restock(plan, claim, note=note, key=key, actor=actor)
        body = write_once(
            self.uow,
            lambda conn: self._apply(
                conn, claim=claim, unit_id=unit_id, decision=choice, dest_id=plan.dest.id,
                note=note, key=key, actor=actor, requested_by=actor.operator_id, approved=False,
            ),
        )  # fmt: skip
        self._offer_to_backorders(body, actor)
        return body

    def _plan(
        self, conn: Connection, unit_id: int, decision: Decision, bin_code: str | None
    ) -> _Plan:
        unit = _unit_row(conn, unit_id, lock=False)
        self._check(conn, unit, decision)
        here = places.location(conn, unit.location_id)
        dest = _destination(conn, here, decision, bin_code)
        why = f"restock of a return worth {unit.unit_value} {unit.currency} into {dest.code}"
        wants = needs_approval(decision=decision, value=unit.unit_value, threshold=self.threshold)
        return _Plan(unit_id, dest, wants, why)

    def _check(self, conn: Connection, unit: Any, decision: Decision) -> None:
        track_lot = (
            bool(conn.execute(select(t.sku.c.track_lot).where(t.sku.c.id == unit.sku_id)).scalar())
            if unit.sku_id is not None
            else False
        )
        check_triage(
            decision=decision,
            state=UnitState(unit.state),
            condition=Condition(unit.condition),
            sku_known=unit.sku_id is not None,
            lot_missing=track_lot and not unit.lot,
        )

    def _request_restock(
        self, plan: _Plan, claim: IdempotencyClaim, *, note: str, key: str, actor: Actor
    ) -> dict[str, Any]:
        if actor.operator_id is None:
            raise Forbidden("a restock that needs approval must be asked for by a signed-in person")
        # One pending request per unit: a retry or a second desk joins the one already waiting.
        pending = [
            a
            for a in self.approvals.log(state="pending", operation=OP_RESTOCK, limit=1000)
            if a.payload.get("unit_id") == plan.unit_id
        ]
        if pending and pending[0].payload.get("to_location_id") != plan.dest.id:
            raise ValidationFailed(
                f"a restock of this unit to {pending[0].payload.get('bin')} already waits for "
                f"approval {pending[0].id}"
            )
        waiting = pending[0].id if pending else None
        body = {"unit_id": plan.unit_id, "state": "awaiting_approval", "decision": "restock",
                "location": plan.dest.code, "approval_id": waiting}  # fmt: skip
        if not pending:
            payload = {"unit_id": plan.unit_id, "to_location_id": plan.dest.id,
                       "bin": plan.dest.code, "note": note, "key": key,
                       "requested_by": actor.operator_id}  # fmt: skip
            # The matrix has the last word: it may waive four-eyes for this operation, and then
            # the restock runs at once.
            got = self.approvals.submit(
                operation=OP_RESTOCK, payload=payload, reason=plan.why, actor=actor
            )
            if got.approval is not None:
                body["approval_id"] = got.approval.id
            else:
                assert got.result is not None
                body = got.result

        def store(conn: Connection) -> dict[str, Any]:
            stored = stored_response(conn, claim)
            if stored is not None:
                return dict(stored[1])
            store_response(conn, claim, code=200, body=body, now=self.clock())
            return body

        return write_once(self.uow, store)

    def _execute_restock(self, payload: dict[str, Any], approver: Actor) -> dict[str, Any]:
        ar = t.approval_request

        def work(conn: Connection) -> dict[str, Any]:
            # The approval service marked the request approved just before calling us: that row
            # is the approval this movement is recorded against (none when the matrix waived it).
            approval_id = conn.execute(
                select(ar.c.id)
                .where(
                    ar.c.operation == OP_RESTOCK,
                    ar.c.payload_hash == payload_hash(payload),
                    ar.c.state == "approved",
                )
                .order_by(ar.c.id.desc())
                .limit(1)
            ).scalar()
            requested_by = payload.get("requested_by")
            return self._apply(
                conn, claim=None, unit_id=int(payload["unit_id"]), decision=Decision.RESTOCK,
                dest_id=int(payload["to_location_id"]), note=str(payload.get("note", "")),
                key=str(payload["key"]), actor=approver,
                requested_by=int(requested_by) if requested_by is not None else None,
                approved=True, approval_id=int(approval_id) if approval_id is not None else None,
            )  # fmt: skip

        body = self.uow.write(work)
        self._offer_to_backorders(body, approver)
        return body

    def _offer_to_backorders(self, body: dict[str, Any], actor: Actor) -> None:
        """After a restock, orders waiting for the SKU are offered allocation, the way a stock
        receipt offers them (routes_stock.receive): each in its own transaction, oldest first.
        The restock has committed: an order that still cannot be filled keeps waiting, and a
        failure here is logged, never turned into a failed triage."""
        if self.allocation is None or body.get("state") != UnitState.RESTOCKED.value:
            return
        unit_id = int(body["unit_id"])
        sku_id = self.uow.read(
            lambda conn: conn.execute(
                select(rt.return_unit.c.sku_id).where(rt.return_unit.c.id == unit_id)
            ).scalar()
        )
        if sku_id is None:
            return
        for order_id in self.allocation.waiting_for(sku_id=int(sku_id)):
            try:
                self.allocation.allocate(order_id=order_id, actor=actor)
            except DomainError:
                log.warning("restocked unit %s: order %s not allocated", unit_id, order_id,
                            exc_info=True)  # fmt: skip

    def _apply(
        self,
        conn: Connection,
        *,
        claim: IdempotencyClaim | None,
        unit_id: int,
        decision: Decision,
        dest_id: int,
        note: str,
        key: str,
        actor: Actor,
        requested_by: int | None,
        approved: bool,
        approval_id: int | None = None,
    ) -> dict[str, Any]:
        now = self.clock()
        unit = _unit_row(conn, unit_id, lock=True)  # one decision per unit, even when racing
        if claim is not None:
            stored = stored_response(conn, claim)
            if stored is not None:
                return dict(stored[1])
        self._check(conn, unit, decision)
        wants = needs_approval(decision=decision, value=unit.unit_value, threshold=self.threshold)
        if wants and not approved:
            raise Forbidden("this restock needs a second person's approval")
        dest = places.location(conn, dest_id)
        here = places.location(conn, unit.location_id)
        if decision is Decision.DAMAGED:
            fits = dest.kind is LocationKind.DAMAGED
        else:
            fits = dest.kind is destination_kind(decision)
        if not fits or dest.warehouse_id != here.warehouse_id:
            raise ValidationFailed(f"{dest.code} is not a place for a {decision.value} decision")
        rma = conn.execute(
            select(rt.rma.c.number, rt.rma.c.order_id).where(rt.rma.c.id == unit.rma_id)
        ).one()
        if unit.sku_id is not None:
            _move_one(conn, unit, dest, now=now)
            stock.append_movements(
                conn,
                [MovementRecord(int(unit.sku_id), unit.lot, here.id, dest.id, 1,
                                movement_reason(decision), order_id=rma.order_id,
                                idempotency_key=key,
                                note=f"{rma.number} triage: {decision.value}")],
                now=now, station_id=actor.station_id, operator_id=actor.operator_id,
            )  # fmt: skip
        after = state_after(decision)
        conn.execute(
            insert(rt.return_triage).values(
                unit_id=unit_id, decision=decision.value, from_location_id=here.id,
                to_location_id=dest.id, approval_id=approval_id, requested_by=requested_by,
                decided_by=actor.operator_id, station_id=actor.station_id, idempotency_key=key,
                note=note, created_at=now,
            )
        )  # fmt: skip
        conn.execute(
            update(rt.return_unit)
            .where(rt.return_unit.c.id == unit_id)
            .values(state=after.value, location_id=dest.id)
        )
        audit.record(
            conn, at=now, station_id=actor.station_id, operator_id=actor.operator_id,
            entity="return_unit", entity_id=unit_id, action="triage",
            detail={"decision": decision.value, "from": here.code, "to": dest.code,
                    "approval_id": approval_id, "note": note},
        )  # fmt: skip
        # The refund is not this approval's business: it has its own (return_refunds.py).
        rr.refresh_rma_state(conn, int(unit.rma_id), now=now)
        body = {"unit_id": unit_id, "state": after.value, "decision": decision.value,
                "location": dest.code, "approval_id": approval_id}  # fmt: skip
        if claim is not None:
            store_response(conn, claim, code=200, body=body, now=now)
        return body


def _unit_row(conn: Connection, unit_id: int, *, lock: bool) -> Any:
    stmt = select(rt.return_unit).where(rt.return_unit.c.id == unit_id)
    if lock:
        stmt = stmt.with_for_update()
    unit = conn.execute(stmt).first()
    if unit is None:
        raise NotFound(f"returned unit {unit_id} does not exist")
    return unit


def _destination(conn: Connection, here: Place, decision: Decision, bin_code: str | None) -> Place:
    code = bin_code.strip() if bin_code else None
    if decision is Decision.RESTOCK:
        if not code:
            raise ValidationFailed("a restock needs the bin the unit goes into")
        dest = rr.bin_by_code(conn, code, kinds=frozenset({LocationKind.BIN}))
    elif decision is Decision.DAMAGED and code:
        dest = rr.bin_by_code(conn, code, kinds=frozenset({LocationKind.DAMAGED}))
    elif code:
        raise ValidationFailed(f"a {decision.value} decision takes no bin")
    else:
        dest = places.virtual(conn, warehouse_id=here.warehouse_id, kind=destination_kind(decision))
    if dest.warehouse_id != here.warehouse_id:
        raise ValidationFailed(f"bin {dest.code} is in another warehouse than the unit")
    return dest


def _move_one(conn: Connection, unit: Any, dest: Place, *, now: datetime) -> None:
    """One unit out of its quarantine row into `dest` (a counter row if dest holds stock)."""
    src = rr.stock_row_of_unit(conn, unit)
    try:
        if dest.kind not in HOLDING_KINDS:
            stock.take_free(conn, src, 1)
            return
        target = stock.ensure_row(
            conn, location_id=dest.id, sku_id=int(unit.sku_id), lot=unit.lot, expiry=unit.expiry,
            unit_cost=None, now=now,
        )  # fmt: skip
        stock.lock_rows(conn, [src, target])  # both rows in id order: no deadlock with a mover
        for sid in sorted((src, target)):
            if sid == src:
                stock.take_free(conn, src, 1)
            else:
                stock.add_on_hand(conn, target, 1)
    except LostRace as exc:
        raise InsufficientStock(
            f"the quarantine bin no longer holds this unit on the books: {exc}"
        ) from exc


def _validate_restock(payload: dict[str, Any]) -> None:
    for name in ("unit_id", "to_location_id"):
        value = payload.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationFailed(f"{name} must be an id")
    if not isinstance(payload.get("key"), str) or not payload["key"]:
        raise ValidationFailed("key must be the triage's idempotency key")

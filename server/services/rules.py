"""Allocation rules: stored, visible, audited; the allocator picks one per order.

A person's new rule is a four-eyes operation (`routing_rule_change`): `request_create` stores
the exact rule for a second person (or applies it at once if the matrix needs nobody else), and
only the approved rule is written. `create` writes directly and is for the server's own commands
(seeding, CLI: an actor without an operator); it refuses a person.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import Connection, insert, select

from server.db import audit
from server.db import tables as t
from server.domain.actor import Actor
from server.domain.allocation import StrategyName
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.domain.four_eyes import ROUTING_RULE_CHANGE
from server.services.approvals import ApprovalService, Submitted
from server.services.context import Clock
from server.services.unit_of_work import UnitOfWork

_MAX_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class RuleSpec:
    name: str
    strategy: str
    channel_code: str | None = None
    priority: int = 100
    allow_split: bool = False
    backorder: bool = False
    preferred_warehouse_id: int | None = None


class RuleService:
    def __init__(
        self, *, uow: UnitOfWork, clock: Clock, approvals: ApprovalService | None = None
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.approvals = approvals
        if approvals is not None:
            approvals.register(ROUTING_RULE_CHANGE, self._execute, validate=_validate)

    def request_create(self, *, spec: RuleSpec, reason: str, actor: Actor) -> Submitted:
        """A person's new rule: checked now (so nobody approves a rule that cannot be
        written), stored exactly as given, written only once approved."""
        if self.approvals is None:
            raise ValidationFailed("rule changes need the approvals service")
        payload = asdict(spec)
        _validate(payload)
        self.uow.read(lambda conn: _check_refs(conn, spec))
        return self.approvals.submit(
            operation=ROUTING_RULE_CHANGE, payload=payload, reason=reason, actor=actor
        )

    def create(self, *, spec: RuleSpec, actor: Actor) -> int:
        if actor.operator_id is not None:
            raise Forbidden("a person's rule change needs a second person: request it")
        return self._create(spec, actor)

    def _execute(self, payload: dict[str, Any], approver: Actor) -> dict[str, Any]:
        return {"id": self._create(RuleSpec(**payload), approver)}

    def _create(self, spec: RuleSpec, actor: Actor) -> int:
        strategy = StrategyName(spec.strategy)

        def work(conn: Connection) -> int:
            now = self.clock()
            channel_id = _check_refs(conn, spec)
            rid = conn.execute(
                insert(t.allocation_rule)
                .values(
                    name=spec.name,
                    channel_id=channel_id,
                    priority=spec.priority,
                    strategy=strategy.value,
                    allow_split=spec.allow_split,
                    backorder=spec.backorder,
                    preferred_warehouse_id=spec.preferred_warehouse_id,
                    active=True,
                    created_at=now,
                )
                .returning(t.allocation_rule.c.id)
            ).scalar_one()
            audit.record(
                conn,
                at=now,
                station_id=actor.station_id,
                operator_id=actor.operator_id,
                entity="allocation_rule",
                entity_id=rid,
                action="create",
                detail={
                    "name": spec.name,
                    "strategy": strategy.value,
                    "channel": spec.channel_code,
                    "split": spec.allow_split,
                    "backorder": spec.backorder,
                },
            )
            return int(rid)

        return self.uow.write(work)


def _check_refs(conn: Connection, spec: RuleSpec) -> int | None:
    """The channel's id (None for every channel); NotFound for a channel or warehouse that
    does not exist."""
    channel_id = None
    if spec.channel_code:
        channel_id = conn.execute(
            select(t.channel.c.id).where(t.channel.c.code == spec.channel_code)
        ).scalar()
        if channel_id is None:
            raise NotFound(f"channel {spec.channel_code} does not exist")
    if (
        spec.preferred_warehouse_id is not None
        and conn.execute(
            select(t.warehouse.c.id).where(t.warehouse.c.id == spec.preferred_warehouse_id)
        ).first()
        is None
    ):
        raise NotFound(f"warehouse {spec.preferred_warehouse_id} does not exist")
    return None if channel_id is None else int(channel_id)


def _validate(payload: dict[str, Any]) -> None:
    """A stored payload must rebuild the exact RuleSpec (the generic approvals endpoint lets a
    client send any JSON)."""
    known = {f.name for f in fields(RuleSpec)}
    extra = sorted(set(payload) - known)
    if extra or "name" not in payload or "strategy" not in payload:
        raise ValidationFailed(f"an allocation rule has the fields {', '.join(sorted(known))}")
    name, strategy = payload["name"], payload["strategy"]
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        raise ValidationFailed("a rule name is 1 to 100 characters")
    if strategy not in {s.value for s in StrategyName}:
        raise ValidationFailed(f"unknown allocation strategy {strategy!r}")
    channel = payload.get("channel_code")
    if channel is not None and not isinstance(channel, str):
        raise ValidationFailed("channel_code is a channel's code or null")
    priority = payload.get("priority", 100)
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 100_000:
        raise ValidationFailed("priority is a whole number from 0 to 100000")
    for flag in ("allow_split", "backorder"):
        if not isinstance(payload.get(flag, False), bool):
            raise ValidationFailed(f"{flag} is true or false")
    wid = payload.get("preferred_warehouse_id")
    if wid is not None and (isinstance(wid, bool) or not isinstance(wid, int)
                            or not 1 <= wid <= _MAX_ID):  # fmt: skip
        raise ValidationFailed("preferred_warehouse_id is a warehouse id or null")

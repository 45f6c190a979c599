"""Allocation rules: stored, visible, audited; the allocator picks one per order."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from server.db import audit
from server.db import tables as t
from server.domain.actor import Actor
from server.domain.allocation import StrategyName
from server.domain.errors import NotFound
from server.services.context import Clock
from server.services.unit_of_work import UnitOfWork


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
    def __init__(self, *, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    def create(self, *, spec: RuleSpec, actor: Actor) -> int:
        strategy = StrategyName(spec.strategy)

        def work(conn: Connection) -> int:
            now = self.clock()
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

"""Allocation strategies and the planner (domain.md, Allocation).

A strategy only orders candidate stock rows; the planner fills demand from them greedily. Reserving
is done elsewhere by one shared function with the locking discipline, so no strategy can oversell.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Candidate:
    stock_level_id: int
    sku_id: int
    warehouse_id: int
    available: int
    lot: str
    expiry: date | None
    received_at: datetime
    unit_cost: Decimal | None
    distance_km: float | None


@dataclass(frozen=True, slots=True)
class Demand:
    line_id: int
    sku_id: int
    qty: int


@dataclass(frozen=True, slots=True)
class Pick:
    line_id: int
    stock_level_id: int
    qty: int


@dataclass(frozen=True, slots=True)
class Shortage:
    line_id: int
    sku_id: int
    missing: int


@dataclass(frozen=True, slots=True)
class Plan:
    picks: tuple[Pick, ...]
    shortages: tuple[Shortage, ...]
    warehouse_ids: tuple[int, ...]

    @property
    def complete(self) -> bool:
        return not self.shortages


class StrategyName(StrEnum):
    PROXIMITY = "proximity"
    SINGLE_WAREHOUSE = "single_warehouse"
    FIRST_EXPIRED = "first_expired"


class Strategy(Protocol):
    def rank(
        self, *, candidates: Sequence[Candidate], demands: Sequence[Demand]
    ) -> list[Candidate]: ...


def _fefo_key(c: Candidate) -> tuple[bool, date, datetime, int]:
    # First expired, then oldest receipt (oldest cost layer), then row id for a stable order.
    return (c.expiry is None, c.expiry or date.max, c.received_at, c.stock_level_id)


class FirstExpiredStrategy:
    def rank(
        self, *, candidates: Sequence[Candidate], demands: Sequence[Demand]
    ) -> list[Candidate]:
        return sorted(candidates, key=_fefo_key)


class ProximityStrategy:
    def rank(
        self, *, candidates: Sequence[Candidate], demands: Sequence[Demand]
    ) -> list[Candidate]:
        return sorted(
            candidates,
            key=lambda c: (
                c.distance_km is None,
                c.distance_km if c.distance_km is not None else math.inf,
                c.warehouse_id,
                *_fefo_key(c),
            ),
        )


@dataclass(frozen=True, slots=True)
class SingleWarehouseStrategy:
    """Prefer one warehouse that can fill the whole order: one parcel, one label, one cost."""

    preferred_warehouse_id: int | None = None

    def rank(
        self, *, candidates: Sequence[Candidate], demands: Sequence[Demand]
    ) -> list[Candidate]:
        need: dict[int, int] = defaultdict(int)
        for d in demands:
            need[d.sku_id] += d.qty
        stock: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for c in candidates:
            stock[c.warehouse_id][c.sku_id] += c.available

        def warehouse_key(wid: int) -> tuple[bool, bool, int, int]:
            fills = all(stock[wid][sku] >= qty for sku, qty in need.items())
            covered = sum(min(stock[wid][sku], qty) for sku, qty in need.items())
            return (not fills, wid != self.preferred_warehouse_id, -covered, wid)

        order = {wid: rank for rank, wid in enumerate(sorted(stock, key=warehouse_key))}
        return sorted(candidates, key=lambda c: (order[c.warehouse_id], *_fefo_key(c)))


def make_strategy(name: StrategyName, *, preferred_warehouse_id: int | None = None) -> Strategy:
    if name is StrategyName.PROXIMITY:
        return ProximityStrategy()
    if name is StrategyName.SINGLE_WAREHOUSE:
        return SingleWarehouseStrategy(preferred_warehouse_id)
    return FirstExpiredStrategy()


def usable(candidate: Candidate, *, today: date) -> bool:
    # Expired stock is never allocated: the picker would have to reject it at the shelf.
    return candidate.available > 0 and (candidate.expiry is None or candidate.expiry >= today)


def _fill(demands: Sequence[Demand], ranked: Sequence[Candidate]) -> Plan:
    remaining = {c.stock_level_id: c.available for c in ranked}
    picks: list[Pick] = []
    shortages: list[Shortage] = []
    for d in demands:
        left = d.qty
        for c in ranked:
            if left == 0:
                break
            if c.sku_id != d.sku_id or remaining[c.stock_level_id] == 0:
                continue
            take = min(left, remaining[c.stock_level_id])
            remaining[c.stock_level_id] -= take
            picks.append(Pick(line_id=d.line_id, stock_level_id=c.stock_level_id, qty=take))
            left -= take
        if left:
            shortages.append(Shortage(line_id=d.line_id, sku_id=d.sku_id, missing=left))
    by_id = {c.stock_level_id: c for c in ranked}
    warehouses = tuple(dict.fromkeys(by_id[p.stock_level_id].warehouse_id for p in picks))
    return Plan(picks=tuple(picks), shortages=tuple(shortages), warehouse_ids=warehouses)


def plan_allocation(
    *,
    demands: Sequence[Demand],
    candidates: Sequence[Candidate],
    strategy: Strategy,
    allow_split: bool,
    today: date,
) -> Plan:
    ranked = strategy.rank(
        candidates=[c for c in candidates if usable(c, today=today)], demands=demands
    )
    if allow_split:
        return _fill(demands, ranked)
    # Without a split every line must come from one warehouse: try them in ranked order.
    best: Plan | None = None
    for wid in dict.fromkeys(c.warehouse_id for c in ranked):
        plan = _fill(demands, [c for c in ranked if c.warehouse_id == wid])
        if plan.complete:
            return plan
        if best is None or _missing(plan) < _missing(best):
            best = plan
    if best is None:
        return _fill(demands, [])
    return Plan(picks=(), shortages=best.shortages, warehouse_ids=())


def _missing(plan: Plan) -> int:
    return sum(s.missing for s in plan.shortages)


def recommend(
    *,
    demands: Sequence[Demand],
    candidates: Sequence[Candidate],
    allow_split: bool,
    today: date,
    release_dates: dict[int, date],
) -> str:
    """Words for the conflict queue: what a supervisor can do about an order that is short."""
    need: dict[int, int] = defaultdict(int)
    for d in demands:
        need[d.sku_id] += d.qty
    have: dict[int, int] = defaultdict(int)
    for c in candidates:
        if usable(c, today=today):
            have[c.sku_id] += c.available
    future = [sku for sku in need if release_dates.get(sku, today) > today]
    if future:
        return "hold as a preorder: stock is not released yet"
    if all(have[sku] >= qty for sku, qty in need.items()):
        if not allow_split:
            return "allow a split shipment: the stock exists, but not in one warehouse"
        return "retry allocation: stock became free again"
    if any(have[sku] for sku in need):
        return "ship what is available and backorder the rest, or backorder the whole order"
    return "backorder until stock is received, or cancel the order"


def distance_km(*, a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))

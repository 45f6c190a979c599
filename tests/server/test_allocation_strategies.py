"""The allocation strategies only order candidates; the planner fills demand (pure, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from server.domain.allocation import (
    Candidate,
    Demand,
    FirstExpiredStrategy,
    ProximityStrategy,
    SingleWarehouseStrategy,
    plan_allocation,
    recommend,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TODAY = date(2026, 11, 25)


def cand(sid: int, wh: int, sku: int, avail: int, *, expiry: date | None = None,
         dist: float | None = None, received: datetime = T0) -> Candidate:  # fmt: skip
    return Candidate(sid, sku, wh, avail, "", expiry, received, None, dist)


def test_first_expired_picks_the_oldest_expiry_and_never_expired_stock() -> None:
    cands = [
        cand(1, 1, 7, 5, expiry=date(2027, 6, 1)),
        cand(2, 1, 7, 5, expiry=date(2027, 1, 1)),
        cand(3, 1, 7, 5, expiry=date(2026, 11, 1)),  # expired: never allocated
    ]
    plan = plan_allocation(
        demands=[Demand(10, 7, 6)],
        candidates=cands,
        strategy=FirstExpiredStrategy(),
        allow_split=True,
        today=TODAY,
    )
    assert [(p.stock_level_id, p.qty) for p in plan.picks] == [(2, 5), (1, 1)]


def test_proximity_prefers_the_nearest_warehouse() -> None:
    cands = [cand(1, 1, 7, 5, dist=800.0), cand(2, 2, 7, 5, dist=40.0)]
    plan = plan_allocation(
        demands=[Demand(10, 7, 2)],
        candidates=cands,
        strategy=ProximityStrategy(),
        allow_split=False,
        today=TODAY,
    )
    assert plan.warehouse_ids == (2,)


def test_single_warehouse_prefers_one_that_fills_the_whole_order() -> None:
    cands = [cand(1, 1, 7, 5), cand(2, 2, 7, 5), cand(3, 2, 8, 5)]
    demands = [Demand(10, 7, 1), Demand(11, 8, 1)]
    plan = plan_allocation(
        demands=demands,
        candidates=cands,
        strategy=SingleWarehouseStrategy(),
        allow_split=False,
        today=TODAY,
    )
    assert plan.complete and plan.warehouse_ids == (2,)


def test_no_split_means_short_even_when_the_total_would_do() -> None:
    cands = [cand(1, 1, 7, 2), cand(2, 2, 7, 2)]
    demands = [Demand(10, 7, 3)]
    no_split = plan_allocation(
        demands=demands,
        candidates=cands,
        strategy=FirstExpiredStrategy(),
        allow_split=False,
        today=TODAY,
    )
    assert not no_split.complete and no_split.picks == ()
    assert "split" in recommend(
        demands=demands, candidates=cands, allow_split=False, today=TODAY, release_dates={}
    )
    split = plan_allocation(
        demands=demands,
        candidates=cands,
        strategy=FirstExpiredStrategy(),
        allow_split=True,
        today=TODAY,
    )
    assert split.complete and sum(p.qty for p in split.picks) == 3


def test_two_lines_of_one_sku_are_checked_together() -> None:
    plan = plan_allocation(
        demands=[Demand(10, 7, 2), Demand(11, 7, 2)],
        candidates=[cand(1, 1, 7, 3)],
        strategy=FirstExpiredStrategy(),
        allow_split=True,
        today=TODAY,
    )
    assert not plan.complete and plan.shortages[0].missing == 1

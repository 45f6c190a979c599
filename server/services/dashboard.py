"""The supervisors' dashboard: one read use case per figure group, and the stations' heartbeat.

Every figure is computed from the rows themselves when it is asked for (no counters to drift):
the partial indexes in dashboard_tables keep that within the 100 ms budget at a million orders
(bench/dashboard.py). The one exception is carrier spend of past days, which is kept in memory
(SettledSpend) and proved equal to a recount in the tests. Time-dependent figures (at risk,
idle, online) use the service clock, so tests and the figures agree on "now".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TypeVar

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server.db import dashboard_benches as bench_q
from server.db import dashboard_queries as q
from server.db import dashboard_spend as spend_q
from server.db.dashboard_tables import station_health
from server.domain.errors import ValidationFailed
from server.services.context import Clock
from server.services.dashboard_feed import DashboardFeed
from server.services.exceptions import ACTIONS
from server.services.unit_of_work import UnitOfWork
from shared.contract.dashboard import (
    AtRiskOut,
    BacklogOut,
    BenchesOut,
    CarrierSpendOut,
    CustodyOut,
    ExceptionQueueOut,
    HeartbeatIn,
    HeartbeatOut,
    SpendDay,
    UnallocatedOut,
)

T = TypeVar("T")
MAX_ROWS = 200
MAX_SPEND_DAYS = 92
MAX_WINDOW_MINUTES = 24 * 60


class DashboardService:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        clock: Clock,
        horizon_hours: float,
        online_s: float,
        idle_after_s: float,
        feed: DashboardFeed,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.horizon = timedelta(hours=horizon_hours)
        self.online_within = timedelta(seconds=online_s)
        self.idle_after = timedelta(seconds=idle_after_s)
        self.feed = feed
        self.settled_spend = SettledSpend()

    # --- figures ------------------------------------------------------------------------------
    def backlog(self) -> BacklogOut:
        return self._read(lambda conn: q.backlog(conn, now=self.clock()))

    def at_risk(self, *, horizon_hours: float | None = None, limit: int = 20) -> AtRiskOut:
        horizon = self.horizon if horizon_hours is None else timedelta(hours=horizon_hours)
        if horizon < timedelta(0):
            raise ValidationFailed("the at-risk horizon cannot be negative")
        return self._read(
            lambda conn: q.at_risk(conn, now=self.clock(), horizon=horizon, limit=_rows(limit))
        )

    def unallocated(self, *, limit: int = 20) -> UnallocatedOut:
        return self._read(lambda conn: q.unallocated(conn, now=self.clock(), limit=_rows(limit)))

    def exceptions(self, *, limit: int = 20) -> ExceptionQueueOut:
        return self._read(
            lambda conn: q.exception_queue(
                conn, now=self.clock(), limit=_rows(limit), actions=ACTIONS
            )
        )

    def custody(self, *, limit: int = 20) -> CustodyOut:
        return self._read(lambda conn: q.custody(conn, now=self.clock(), limit=_rows(limit)))

    def spend(self, *, days: int = 7) -> CarrierSpendOut:
        if not 1 <= days <= MAX_SPEND_DAYS:
            raise ValidationFailed(f"carrier spend covers 1 to {MAX_SPEND_DAYS} days")
        now = self.clock()
        last = now.date()
        first = last - timedelta(days=days - 1)
        return self._read(
            lambda conn: spend_q.spend_out(
                first, last, self.settled_spend.days(conn, first=first, last=last, now=now)
            )
        )

    def benches(self, *, window_minutes: int = 60) -> BenchesOut:
        if not 1 <= window_minutes <= MAX_WINDOW_MINUTES:
            raise ValidationFailed(f"the bench window is 1 to {MAX_WINDOW_MINUTES} minutes")
        return self._read(
            lambda conn: bench_q.benches(
                conn,
                now=self.clock(),
                window=timedelta(minutes=window_minutes),
                idle_after=self.idle_after,
                online_within=self.online_within,
            )
        )

    def _read(self, work: Callable[[Connection], T]) -> T:
        def tuned(conn: Connection) -> T:
            q.tune(conn)
            return work(conn)

        return self.uow.read(tuned)

    # --- the heartbeat ------------------------------------------------------------------------
    def heartbeat(self, *, station_id: int, report: HeartbeatIn) -> HeartbeatOut:
        """Store what the station says about itself. Only a change of what it says (or its
        coming back after silence) moves `changed_at` and tells the dashboards."""
        values = report.model_dump()

        def work(conn: Connection) -> bool:
            now = self.clock()
            insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
            # Two beats of a new station racing: one inserts, the other updates.
            first = conn.execute(
                insert(station_health)
                .values(station_id=station_id, last_seen_at=now, changed_at=now, **values)
                .on_conflict_do_nothing(index_elements=["station_id"])
            )
            if first.rowcount == 1:
                return True
            old = conn.execute(
                select(station_health)
                .where(station_health.c.station_id == station_id)
                .with_for_update()
            ).one()
            came_back = now - old.last_seen_at > self.online_within
            changed = came_back or any(getattr(old, k) != v for k, v in values.items())
            conn.execute(
                update(station_health)
                .where(station_health.c.station_id == station_id)
                .values(last_seen_at=now, **values, **({"changed_at": now} if changed else {}))
            )
            return changed

        changed = self.uow.write(work)
        if changed:
            self.feed.nudge(["benches"])  # after commit: a dashboard reads what was stored
        return HeartbeatOut(station_id=station_id, received_at=self.clock())


class SettledSpend:
    """Carrier spend of the days that are over, kept in memory.

    A day's purchases are final once it has been over for SETTLE_AFTER (a purchase is stamped
    with the clock when it is recorded and commits moments later); afterwards its spend only
    changes when a label is voided. So a past day is read once and reused until the void mark
    moves, and then every day is read again. Today is always read fresh. At a warehouse's
    volume a month of purchases is tens of thousands of rows: reading them on every refresh
    would not stay within the dashboard's budget.
    """

    SETTLE_AFTER = timedelta(minutes=10)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mark: int | None = None
        self._days: dict[date, list[SpendDay]] = {}
        self.days_read = 0  # past days read from the database (tests and the bench look)

    def days(self, conn: Connection, *, first: date, last: date, now: datetime) -> list[SpendDay]:
        mark = spend_q.void_mark(conn)  # before the rows: a void committed after it shows next time
        settled = (now - self.SETTLE_AFTER).date()  # the days before this one are over
        closed = min(last, settled - timedelta(days=1))
        with self._lock:
            if mark != self._mark:
                self._days, self._mark = {}, mark
            known = dict(self._days)
        missing = [d for d in _each_day(first, closed) if d not in known]
        if missing:
            fresh: dict[date, list[SpendDay]] = {d: [] for d in _each_day(missing[0], missing[-1])}
            for row in spend_q.spend_days(conn, first_day=missing[0], last_day=missing[-1]):
                fresh[row.day].append(row)
            known.update(fresh)
            with self._lock:
                if self._mark == mark:
                    self._days.update(fresh)
                    oldest = settled - timedelta(days=MAX_SPEND_DAYS)
                    self._days = {d: v for d, v in self._days.items() if d >= oldest}
                self.days_read += len(fresh)
        out = [row for d in _each_day(first, closed) for row in known[d]]
        if last > closed:
            out += spend_q.spend_days(
                conn, first_day=max(first, closed + timedelta(days=1)), last_day=last
            )
        return out


def _each_day(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _rows(limit: int) -> int:
    if not 1 <= limit <= MAX_ROWS:
        raise ValidationFailed(f"ask for 1 to {MAX_ROWS} rows")
    return limit

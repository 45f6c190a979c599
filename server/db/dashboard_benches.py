"""Per-bench figures over a time window: units, mis-scans, overrides, idle time, and what the
station last said about its scanner, printer and queue (its heartbeat)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, func, select

from server.db import tables as t
from server.db.dashboard_queries import epoch_seconds
from server.db.dashboard_tables import station_health
from server.db.station_event_tables import station_event as se
from shared.contract.dashboard import BenchesOut, BenchFigures, BenchHealth


def benches(
    conn: Connection,
    *,
    now: datetime,
    window: timedelta,
    idle_after: timedelta,
    online_within: timedelta,
) -> BenchesOut:
    start = now - window
    stations = conn.execute(
        select(t.station.c.id, t.station.c.name, t.station.c.kind, station_health)
        .outerjoin(station_health, station_health.c.station_id == t.station.c.id)
        .where(t.station.c.active.is_(True))
        .order_by(t.station.c.name, t.station.c.id)
    ).all()
    figures = _event_figures(conn, start=start, now=now, idle_after=idle_after)
    hours = window.total_seconds() / 3600
    out = []
    for s in stations:
        f = figures.get(int(s.id), _Activity())
        idle = _idle_s(
            start=start,
            now=now,
            first=f.first,
            last=f.last,
            gaps_s=f.gaps_s,
            idle_after=idle_after,
        )
        out.append(
            BenchFigures(
                station_id=s.id,
                name=s.name,
                kind=s.kind,
                units_picked=f.picked,
                units_packed=f.packed,
                units_per_hour=round(max(f.picked, f.packed) / hours, 1),
                mis_scans=f.mis_scans,
                overrides=f.overrides,
                idle_s=idle,
                last_event_at=f.last,
                health=_health(s, now=now, online_within=online_within),
            )
        )
    return BenchesOut(
        at=now,
        window_minutes=int(window.total_seconds() // 60),
        idle_after_s=int(idle_after.total_seconds()),
        benches=out,
    )


@dataclass(frozen=True, slots=True)
class _Activity:
    """One station's events in the window (none: all zero)."""

    picked: int = 0
    packed: int = 0
    mis_scans: int = 0
    overrides: int = 0
    gaps_s: int = 0  # idle stretches between events, whole
    first: datetime | None = None
    last: datetime | None = None


def _event_figures(
    conn: Connection, *, start: datetime, now: datetime, idle_after: timedelta
) -> dict[int, _Activity]:
    """Per station in [start, now]: units picked, units packed, mis-scans, overrides, the
    seconds of gaps between consecutive events that were long enough to count as idle, and the
    first and last event times (for the gaps at either end of the window)."""
    applied = se.c.status == "applied"
    units = func.coalesce(se.c.payload["units"].as_integer(), 1)
    inner = (
        select(
            se.c.station_id,
            se.c.occurred_at,
            case((and_(applied, se.c.kind == "unit_picked"), units), else_=0).label("picked"),
            case((and_(applied, se.c.kind == "unit_packed"), units), else_=0).label("packed"),
            case((se.c.kind == "scan_rejected", 1), else_=0).label("mis"),
            case((and_(applied, se.c.kind == "override"), 1), else_=0).label("ovr"),
            func.lag(epoch_seconds(conn, se.c.occurred_at))
            .over(partition_by=se.c.station_id, order_by=(se.c.occurred_at, se.c.id))
            .label("prev_s"),
            epoch_seconds(conn, se.c.occurred_at).label("at_s"),
        )
        .where(se.c.occurred_at >= start, se.c.occurred_at <= now)
        .subquery()
    )
    gap = inner.c.at_s - inner.c.prev_s
    limit_s = idle_after.total_seconds()
    rows = conn.execute(
        select(
            inner.c.station_id,
            func.sum(inner.c.picked),
            func.sum(inner.c.packed),
            func.sum(inner.c.mis),
            func.sum(inner.c.ovr),
            func.sum(case((gap >= limit_s, gap), else_=0)),
            func.min(inner.c.occurred_at),
            func.max(inner.c.occurred_at),
        ).group_by(inner.c.station_id)
    ).all()
    return {
        int(r[0]): _Activity(
            picked=int(r[1]),
            packed=int(r[2]),
            mis_scans=int(r[3]),
            overrides=int(r[4]),
            gaps_s=round(float(r[5] or 0)),
            first=_aware(r[6]),
            last=_aware(r[7]),
        )
        for r in rows
    }


def _aware(value: Any) -> datetime:
    # min()/max() over a subquery column lose the column type on some paths: normalise here.
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _idle_s(
    *,
    start: datetime,
    now: datetime,
    first: datetime | None,
    last: datetime | None,
    gaps_s: int,
    idle_after: timedelta,
) -> int:
    """Idle = every stretch of at least `idle_after` without an event, counted whole,
    including the stretch before the first event of the window and after the last."""
    if first is None or last is None:
        return int((now - start).total_seconds())
    ends = [first - start, now - last]
    return gaps_s + sum(int(d.total_seconds()) for d in ends if d >= idle_after)


def _health(row: Any, *, now: datetime, online_within: timedelta) -> BenchHealth:
    if row.last_seen_at is None:
        return BenchHealth(
            online=False,
            last_seen_at=None,
            scanner="unknown",
            scanner_words="",
            printer="unknown",
            printer_words="",
            queued=0,
            rejected=0,
        )
    return BenchHealth(
        online=now - row.last_seen_at <= online_within,
        last_seen_at=row.last_seen_at,
        scanner=row.scanner,
        scanner_words=row.scanner_words,
        printer=row.printer,
        printer_words=row.printer_words,
        queued=row.queued,
        rejected=row.rejected,
    )

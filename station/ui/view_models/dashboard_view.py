"""What the supervisors' dashboard shows, computed from the server's figures: tiles with a light,
chart data, and the rows of each list, all as plain values (no Qt), so every word and colour is
decided here and tested without a window.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from shared.contract.common import Model
from shared.contract.dashboard import (
    AtRiskOut,
    BacklogOut,
    BenchesOut,
    BenchFigures,
    CarrierSpendOut,
    CustodyOut,
    ExceptionQueueOut,
    UnallocatedOut,
)

ACTION_WORDS: dict[str, str] = {
    "retry": "Retry allocation",
    "backorder": "Backorder",
    "allow_split": "Ship in parts",
    "cancel": "Cancel order",
    "dismiss": "Dismiss",
    "map_sku": "Map to SKU",
    "set_phone": "Set phone",
    "set_address": "Set address",
    "capture": "Record payment",
}
STAGE_WORDS: dict[str, str] = {"on_hold": "on hold", "handed_over": "handed over"}
M = TypeVar("M", bound=Model)


@dataclass(frozen=True, kw_only=True)
class Tile:
    key: str
    title: str
    value: str
    detail: str
    light: str  # ok | warn | bad | unknown, as the status bar


@dataclass(frozen=True, kw_only=True)
class Bar:
    label: str
    value: float


@dataclass(frozen=True, kw_only=True)
class Stack:
    name: str  # one carrier
    values: tuple[float, ...]  # one per day


@dataclass(frozen=True, kw_only=True)
class BenchLine:
    station_id: int
    name: str
    online: str
    online_light: str
    scanner: str
    scanner_light: str
    printer: str
    printer_light: str
    queued: int
    units_per_hour: float
    mis_scans: int
    overrides: int
    idle: str


@dataclass(frozen=True, kw_only=True)
class QueueLine:
    exception_id: int
    text: str
    actions: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class DashboardView:
    tiles: tuple[Tile, ...]
    backlog: tuple[Bar, ...]
    spend_currency: str
    spend_days: tuple[str, ...]
    spend: tuple[Stack, ...]
    rates: tuple[Bar, ...]  # units per hour, one bar per bench
    benches: tuple[BenchLine, ...]
    queue: tuple[QueueLine, ...]
    at_risk: tuple[str, ...]
    unallocated: tuple[str, ...]
    custody: tuple[str, ...]
    status: str
    status_light: str


def stage_words(stage: str) -> str:
    return STAGE_WORDS.get(stage, stage)


def minutes(seconds: float) -> str:
    m = int(seconds // 60)
    return f"{m} min" if m < 120 else f"{m // 60} h {m % 60:02d} min"


def money(currency: str, amount: Decimal) -> str:
    return f"{currency} {amount:,.2f}"


def build_view(
    figures: Mapping[str, Model], *, live: bool, stale_since: datetime | None, now: datetime
) -> DashboardView:
    backlog = _get(figures, "backlog", BacklogOut)
    risk = _get(figures, "at_risk", AtRiskOut)
    demand = _get(figures, "unallocated", UnallocatedOut)
    queue = _get(figures, "exceptions", ExceptionQueueOut)
    spend = _get(figures, "spend", CarrierSpendOut)
    custody = _get(figures, "custody", CustodyOut)
    benches = _get(figures, "benches", BenchesOut)
    currency, days, stacks = _spend_chart(spend)
    if stale_since is not None:
        status, light = f"Server not reachable: figures from {stale_since:%H:%M}", "bad"
    elif live:
        status, light = "Live", "ok"
    else:
        status, light = "Not live: reconnecting (figures may be old)", "warn"
    return DashboardView(
        tiles=(
            _backlog_tile(backlog),
            _risk_tile(risk),
            _demand_tile(demand),
            _queue_tile(queue),
            _custody_tile(custody, now),
            _spend_tile(spend),
            _benches_tile(benches),
        ),
        # Only the stages holding orders: thirteen bars do not fit a bench screen's chart (Qt
        # then hides every other label and the bars no longer line up with their words); the
        # full list is in the tile and the server's figures.
        backlog=tuple(
            Bar(label=stage_words(s.stage), value=s.orders) for s in backlog.stages if s.orders
        )
        if backlog
        else (),
        spend_currency=currency,
        spend_days=days,
        spend=stacks,
        rates=tuple(Bar(label=b.name, value=b.units_per_hour) for b in benches.benches)
        if benches
        else (),
        benches=tuple(_bench_line(b) for b in benches.benches) if benches else (),
        queue=_queue_lines(queue),
        at_risk=_risk_lines(risk, now),
        unallocated=_demand_lines(demand),
        custody=tuple(
            f"{r.order_number or '?'}  {r.tracking_number}: {r.reason}" for r in custody.rows
        )
        if custody
        else (),
        status=status,
        status_light=light,
    )


def _queue_lines(q: ExceptionQueueOut | None) -> tuple[QueueLine, ...]:
    if q is None:
        return ()
    return tuple(
        QueueLine(
            exception_id=r.id,
            text=f"{r.order_number or 'no order'}  {r.kind.replace('_', ' ')}: {r.reason}",
            actions=tuple(r.actions),
        )
        for r in q.rows
    )


def _risk_lines(r: AtRiskOut | None, now: datetime) -> tuple[str, ...]:
    if r is None:
        return ()
    out = []
    for o in r.orders:
        when = (
            f"OVERDUE by {minutes((now - o.ship_by).total_seconds())}"
            if o.overdue
            else f"ship in {minutes((o.ship_by - now).total_seconds())}"
        )
        out.append(f"{o.number}  {stage_words(o.state)}  {when}")
    return tuple(out)


def _demand_lines(d: UnallocatedOut | None) -> tuple[str, ...]:
    if d is None:
        return ()
    return tuple(
        f"{r.sku}  {r.units} units on {r.orders} orders, {r.available} free"
        + (f", {r.short} short" if r.short else "")
        for r in d.skus
    )


def _get(figures: Mapping[str, Model], key: str, model: type[M]) -> M | None:
    found = figures.get(key)
    return found if isinstance(found, model) else None


def _waiting(key: str, title: str) -> Tile:
    return Tile(key=key, title=title, value="...", detail="not read yet", light="unknown")


def _backlog_tile(b: BacklogOut | None) -> Tile:
    if b is None:
        return _waiting("backlog", "Backlog")
    held = next((s.orders for s in b.stages if s.stage == "on_hold"), 0)
    busiest = max(b.stages, key=lambda s: s.orders)
    detail = f"most {stage_words(busiest.stage)} ({busiest.orders})" if b.total else "all clear"
    if held:
        detail += f", {held} on hold"
    return Tile(
        key="backlog",
        title="Backlog",
        value=f"{b.total:,}",
        detail=detail,
        light="warn" if held else "ok",
    )


def _risk_tile(r: AtRiskOut | None) -> Tile:
    if r is None:
        return _waiting("at_risk", "At risk")
    light = "bad" if r.overdue else "warn" if r.due_soon else "ok"
    detail = f"{r.overdue} overdue, {r.due_soon} due within {r.horizon_hours:g} h"
    return Tile(
        key="at_risk",
        title="At risk",
        value=f"{r.overdue + r.due_soon:,}",
        detail=detail,
        light=light,
    )


def _demand_tile(d: UnallocatedOut | None) -> Tile:
    if d is None:
        return _waiting("unallocated", "Unallocated")
    return Tile(
        key="unallocated",
        title="Unallocated",
        value=f"{d.units:,}",
        detail=f"units on {d.orders:,} orders",
        light="warn" if d.units else "ok",
    )


def _queue_tile(q: ExceptionQueueOut | None) -> Tile:
    if q is None:
        return _waiting("exceptions", "Exceptions")
    top = ", ".join(f"{k.open} {k.kind.replace('_', ' ')}" for k in q.kinds[:2])
    return Tile(
        key="exceptions",
        title="Exceptions",
        value=f"{q.open:,}",
        detail=top or "queue empty",
        light="warn" if q.open else "ok",
    )


def _custody_tile(c: CustodyOut | None, now: datetime) -> Tile:
    if c is None:
        return _waiting("custody", "Custody")
    detail = f"{c.awaiting_carrier} carton(s) wait for a carrier scan"
    if c.oldest_handover_at is not None:
        detail += f", oldest {minutes((now - c.oldest_handover_at).total_seconds())}"
    return Tile(
        key="custody",
        title="Custody",
        value=f"{c.open:,}",
        detail=detail,
        light="bad" if c.open else "ok",
    )


def _spend_tile(s: CarrierSpendOut | None) -> Tile:
    if s is None:
        return _waiting("spend", "Carrier spend")
    today: dict[str, Decimal] = defaultdict(Decimal)
    for d in s.days:
        if d.day == s.last_day:
            today[d.currency] += d.amount
    period: dict[str, Decimal] = defaultdict(Decimal)
    for t in s.totals:
        period[t.currency] += t.amount
    # One line per currency: amounts in two currencies are never added up.
    value = "\n".join(money(c, a) for c, a in sorted(today.items())) or "nothing"
    days = (s.last_day - s.first_day).days + 1
    detail = f"today; {days} days: " + (
        " + ".join(money(c, a) for c, a in sorted(period.items())) or "nothing"
    )
    return Tile(key="spend", title="Carrier spend", value=value, detail=detail, light="ok")


def _benches_tile(b: BenchesOut | None) -> Tile:
    if b is None:
        return _waiting("benches", "Benches")
    online = sum(1 for x in b.benches if x.health.online)
    trouble = sum(
        1 for x in b.benches if x.health.online and "bad" in (x.health.scanner, x.health.printer)
    )
    light = "bad" if trouble else "warn" if online < len(b.benches) else "ok"
    detail = f"{trouble} with scanner/printer trouble" if trouble else "devices fine"
    return Tile(
        key="benches",
        title="Benches",
        value=f"{online}/{len(b.benches)} online",
        detail=detail,
        light=light,
    )


def _bench_line(b: BenchFigures) -> BenchLine:
    h = b.health
    return BenchLine(
        station_id=b.station_id,
        name=b.name,
        online="online" if h.online else "offline",
        online_light="ok" if h.online else "bad",
        scanner=h.scanner_words or h.scanner,
        scanner_light=h.scanner if h.online else "unknown",
        printer=h.printer_words or h.printer,
        printer_light=h.printer if h.online else "unknown",
        queued=h.queued,
        units_per_hour=b.units_per_hour,
        mis_scans=b.mis_scans,
        overrides=b.overrides,
        idle=minutes(b.idle_s),
    )


def _spend_chart(
    s: CarrierSpendOut | None,
) -> tuple[str, tuple[str, ...], tuple[Stack, ...]]:
    """One currency per chart (amounts in two currencies do not stack): the one spent most."""
    if s is None or not s.totals:
        return "", (), ()
    by_currency: dict[str, Decimal] = defaultdict(Decimal)
    for t in s.totals:
        by_currency[t.currency] += t.amount
    currency = max(sorted(by_currency), key=lambda c: by_currency[c])
    days = [s.first_day + timedelta(days=n) for n in range((s.last_day - s.first_day).days + 1)]
    carriers = sorted({d.carrier for d in s.days if d.currency == currency})
    amounts = {(d.day, d.carrier): float(d.amount) for d in s.days if d.currency == currency}
    stacks = tuple(
        Stack(name=c, values=tuple(amounts.get((day, c), 0.0) for day in days)) for c in carriers
    )
    return currency, tuple(f"{d:%a %d}" for d in days), stacks

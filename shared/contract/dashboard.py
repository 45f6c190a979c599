"""The supervisors' dashboard: one answer per figure group, the stations' heartbeat, and the
notice the dashboard stream pushes when figures may have changed.

The stream carries only the names of the groups to read again, never figures: figures need a
supervisor's sign-in, the stream only the station's.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from shared.contract.common import Model

FigureGroup = Literal[
    "backlog", "at_risk", "unallocated", "exceptions", "spend", "custody", "benches"
]
FIGURE_GROUPS: tuple[FigureGroup, ...] = (
    "backlog",
    "at_risk",
    "unallocated",
    "exceptions",
    "spend",
    "custody",
    "benches",
)
DASHBOARD_CHANGED = "dashboard-changed"

# The same four lights the bench's status bar shows.
Light = Literal["ok", "warn", "bad", "unknown"]


# Status words as the status bar shows them: printable text (no control characters, which
# PostgreSQL would refuse and SQLite would store).
Words = Annotated[str, Field(default="", max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]


class HeartbeatIn(Model):
    """What a station reports every few seconds about itself."""

    scanner: Light = "unknown"
    scanner_words: Words = ""
    printer: Light = "unknown"
    printer_words: Words = ""
    queued: int = Field(default=0, ge=0, le=1_000_000_000)
    rejected: int = Field(default=0, ge=0, le=1_000_000_000)


class HeartbeatOut(Model):
    station_id: int
    received_at: datetime


class DashboardChanged(Model):
    """Body of the `dashboard-changed` server-sent event."""

    groups: list[FigureGroup]


# --- orders ------------------------------------------------------------------------------------


class StageCount(Model):
    stage: str
    orders: int
    oldest_at: datetime | None  # when the oldest order in this stage was received


class BacklogOut(Model):
    at: datetime
    total: int
    stages: list[StageCount]  # every open stage in pipeline order, empty ones included


class AtRiskOrder(Model):
    order_id: int
    number: str
    state: str
    ship_by: datetime
    overdue: bool


class AtRiskOut(Model):
    at: datetime
    horizon_hours: float
    overdue: int  # ship-by already passed
    due_soon: int  # ship-by within the horizon, not yet passed
    orders: list[AtRiskOrder]  # soonest ship-by first


class DemandRow(Model):
    sku_id: int | None  # None: the channel's SKU is not mapped to ours yet
    sku: str
    name: str
    units: int
    orders: int
    available: int  # on hand minus reserved, sellable locations
    short: int  # units that available stock cannot cover


class UnallocatedOut(Model):
    at: datetime
    units: int
    orders: int
    skus: list[DemandRow]  # most units first


# --- the exception queue and custody ------------------------------------------------------------


class ExceptionKindCount(Model):
    kind: str
    open: int
    oldest_at: datetime


class QueueRow(Model):
    id: int
    order_id: int | None
    order_number: str | None
    kind: str
    reason: str
    recommendation: str | None
    actions: list[str]  # resolved through POST /exceptions/{id}/resolve
    created_at: datetime


class ExceptionQueueOut(Model):
    at: datetime
    open: int
    kinds: list[ExceptionKindCount]
    rows: list[QueueRow]  # oldest first


class CustodyRow(Model):
    exception_id: int
    order_id: int | None
    order_number: str | None
    tracking_number: str
    reason: str
    created_at: datetime


class CustodyOut(Model):
    at: datetime
    open: int  # open custody exceptions
    rows: list[CustodyRow]
    awaiting_carrier: int  # cartons handed over that no carrier has scanned yet
    oldest_handover_at: datetime | None


# --- carrier spend ------------------------------------------------------------------------------


class SpendDay(Model):
    day: date  # UTC
    carrier: str
    currency: str
    amount: Decimal
    shipments: int


class SpendTotal(Model):
    carrier: str
    currency: str
    amount: Decimal
    shipments: int


class CarrierSpendOut(Model):
    first_day: date
    last_day: date
    days: list[SpendDay]
    totals: list[SpendTotal]


# --- benches ------------------------------------------------------------------------------------


class BenchHealth(Model):
    online: bool
    last_seen_at: datetime | None
    scanner: Light
    scanner_words: str
    printer: Light
    printer_words: str
    queued: int
    rejected: int


class BenchFigures(Model):
    station_id: int
    name: str
    kind: str
    units_picked: int
    units_packed: int
    # Units through the bench per hour of the window: a unit picked and packed at the same
    # bench is one unit, so the larger of the two counts.
    units_per_hour: float
    mis_scans: int
    overrides: int
    idle_s: int
    last_event_at: datetime | None
    health: BenchHealth


class BenchesOut(Model):
    at: datetime
    window_minutes: int
    idle_after_s: int
    benches: list[BenchFigures]

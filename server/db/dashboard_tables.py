"""What the stations last said about themselves (the heartbeat), and the dashboard's indexes.

The partial indexes cover only what is still open: a warehouse keeps every delivered order and
resolved exception for years, while the dashboard only ever asks about the few thousand still
moving. The backlog needs nothing new: ix_sales_order_state (state, created_at) answers it with
an index-only scan. bench/dashboard.py measures each against its absence.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, literal_column

from server.db.station_event_tables import station_event
from server.db.tables import Id, metadata, order_exception, sales_order
from server.db.types import UtcDateTime

# Stages of the backlog, in pipeline order: everything before the carrier has the parcel.
OPEN_STAGES: tuple[str, ...] = (
    "received",
    "accepted",
    "on_hold",
    "backordered",
    "preorder",
    "allocated",
    "released",
    "picking",
    "picked",
    "packing",
    "packed",
    "labelled",
    "handed_over",
)
# Not yet handed over: the orders whose ship-by time the warehouse can still miss.
BEFORE_HANDOVER: tuple[str, ...] = OPEN_STAGES[:-1]
# Demand nobody has stock promised for yet.
UNALLOCATED: tuple[str, ...] = ("accepted", "on_hold", "backordered", "preorder")


def _in(states: tuple[str, ...]) -> object:
    # Spelled out literally so the migration, the table definition and the planner agree on it.
    return literal_column("state").in_(states)


station_health = Table(
    "station_health",
    metadata,
    Column("station_id", Id, ForeignKey("station.id"), primary_key=True),
    Column("scanner", String(10), nullable=False),
    Column("scanner_words", String(200), nullable=False, server_default=""),
    Column("printer", String(10), nullable=False),
    Column("printer_words", String(200), nullable=False, server_default=""),
    Column("queued", Integer, nullable=False, server_default="0"),
    Column("rejected", Integer, nullable=False, server_default="0"),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    # Moves only when what the station reports changes: the dashboard stream watches it, so a
    # bench beating every 15 s with nothing new does not make every dashboard read again.
    Column("changed_at", UtcDateTime(), nullable=False),
    Index("ix_station_health_changed", "changed_at"),
)

# At risk: open orders by ship-by. The state rides along so the waiting orders of any stage are
# found in this small index alone (the unallocated figure starts from it too).
Index(
    "ix_sales_order_open_ship_by",
    sales_order.c.ship_by,
    sales_order.c.state,
    postgresql_where=_in(BEFORE_HANDOVER),
    sqlite_where=_in(BEFORE_HANDOVER),
)
Index(
    "ix_order_exception_open",
    order_exception.c.created_at,
    order_exception.c.id,
    postgresql_where=literal_column("state") == "open",
    sqlite_where=literal_column("state") == "open",
)
# The per-bench figures read one time window across all stations.
Index("ix_station_event_occurred", station_event.c.occurred_at)

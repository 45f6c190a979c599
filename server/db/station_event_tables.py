"""Events reported by stations: one row per (station, idempotency key), applied or rejected.

The unique key is what makes a replayed journal land once: the row is inserted in the same
transaction as the event's effect, before the effect, so a concurrent duplicate blocks on the
index and then sees the winner. Recorded-only kinds (mis-scans, unit scans) live here too and are
what the supervisors' per-bench figures count.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from server.db.tables import Id, metadata
from server.db.types import UtcDateTime

station_event = Table(
    "station_event",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("station_id", ForeignKey("station.id"), nullable=False),
    Column("key", String(64), nullable=False),
    Column("kind", String(30), nullable=False),
    # As the station reported it: no foreign key, an event about an unknown order is kept
    # (rejected) as evidence of what the bench said.
    Column("order_id", BigInteger),
    Column("operator_id", ForeignKey("operator.id")),
    # The signed-in operator whose session pushed the batch (may differ after a shift change).
    Column("submitted_by", ForeignKey("operator.id")),
    Column("status", String(10), nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
    Column("payload", JSON, nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("station_id", "key"),
    Index("ix_station_event_kind", "kind", "occurred_at"),
    Index("ix_station_event_station", "station_id", "occurred_at"),
    Index("ix_station_event_order", "order_id"),
)

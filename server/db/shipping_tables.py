"""Shipments, the permanent quote log and stored rate rules (issue 4 groundwork)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from server.db.tables import Id, metadata
from server.db.types import Money, UtcDateTime

rate_rule = Table(
    "rate_rule",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("priority", Integer, nullable=False),
    # The rule as server.domain.rate_rules.RateRule fields; edits replace it (and are audited).
    Column("definition", JSON, nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

shipment = Table(
    "shipment",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_id", ForeignKey("sales_order.id"), nullable=False, unique=True),
    Column("state", String(20), nullable=False),
    Column("chosen_quote_id", Integer),
    Column("explanation", Text),
    # What the bought labels cost (the provider's purchase answer, not the quote): carrier spend.
    Column("cost_amount", Money()),
    Column("cost_currency", String(3)),
    Column("purchased_at", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_shipment_purchased", "purchased_at"),
)

# Every quote of every shop, chosen or not, failures included: a re-rate adds a shop, it never
# overwrites one (karrio overwrites; supervisors need to see why a rate won last Tuesday).
rate_quote = Table(
    "rate_quote",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shipment_id", ForeignKey("shipment.id"), nullable=False),
    Column("shop_no", Integer, nullable=False),
    Column("provider", String(30), nullable=False),
    Column("account", String(60), nullable=False),
    Column("carrier", String(60), nullable=False, server_default=""),
    Column("service", String(120), nullable=False, server_default=""),
    Column("amount", Money()),
    Column("currency", String(3), nullable=False, server_default=""),
    Column("delivery_days", Integer),
    Column("rate_id", String(120), nullable=False, server_default=""),
    # The provider's own shipment object, which some (EasyPost) need to buy the rate.
    Column("shipment_ref", String(120), nullable=False, server_default=""),
    Column("failure", Text),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_rate_quote_shipment", "shipment_id", "shop_no"),
)

# One row per parcel of a bought shipment: its own tracking number, label and void.
shipment_package = Table(
    "shipment_package",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shipment_id", ForeignKey("shipment.id"), nullable=False),
    Column("package_no", Integer, nullable=False),
    Column("provider", String(30), nullable=False),
    Column("account", String(60), nullable=False),
    Column("carrier", String(60), nullable=False),
    Column("service", String(120), nullable=False),
    Column("tracking_number", String(80), nullable=False),
    Column("label_id", String(120), nullable=False),
    Column("zpl", LargeBinary),
    Column("state", String(20), nullable=False),  # server.domain.packages.PackageState
    Column("labelled_at", UtcDateTime()),
    Column("pickup_id", ForeignKey("carrier_pickup.id")),
    Column("handed_over_at", UtcDateTime()),
    Column("custody_at", UtcDateTime()),
    Column("delivered_at", UtcDateTime()),
    Column("last_tracking_at", UtcDateTime()),  # last time tracking was asked or heard from
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_shipment_package_tracking", "tracking_number"),
    Index("ix_shipment_package_shipment", "shipment_id", "package_no"),
    # The custody sweep and the dashboard look for packages waiting in a state since a time.
    Index("ix_shipment_package_state", "state", "handed_over_at"),
)

# One carrier collection at the dispatch door: the cartons scanned onto that truck.
carrier_pickup = Table(
    "carrier_pickup",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("carrier", String(60), nullable=False),
    Column("state", String(10), nullable=False),  # open | closed
    Column("station_id", ForeignKey("station.id")),
    Column("operator_id", ForeignKey("operator.id")),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("closed_at", UtcDateTime()),
)

# Every tracking event heard (webhook or poll), once: the custody evidence of a package.
tracking_event = Table(
    "tracking_event",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("package_id", ForeignKey("shipment_package.id"), nullable=False),
    Column("provider", String(30), nullable=False),
    # The provider's event id, or a digest of (status, time, description) when it has none:
    # a replayed webhook or a poll that sees the same event again lands once.
    Column("event_key", String(160), nullable=False),
    Column("status", String(30), nullable=False),
    Column("raw_status", String(80), nullable=False, server_default=""),
    Column("description", Text, nullable=False, server_default=""),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("source", String(10), nullable=False),  # webhook | poll
    Column("received_at", UtcDateTime(), nullable=False),
    UniqueConstraint("package_id", "event_key", name="uq_tracking_event_key"),
)

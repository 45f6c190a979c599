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
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
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
    Column("state", String(20), nullable=False),  # bought | voided
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_shipment_package_tracking", "tracking_number"),
    Index("ix_shipment_package_shipment", "shipment_id", "package_no"),
)

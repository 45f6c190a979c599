"""Returns: RMAs and their lines, every unit received (flagged ones too), triage decisions and
refund triggers. Stock itself moves only through the movement ledger (server/db/stock.py)."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from server.db.tables import Id, metadata
from server.db.types import Money, UtcDateTime

rma = Table(
    "rma",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("order_id", ForeignKey("sales_order.id"), nullable=False),
    Column("state", String(12), nullable=False),  # server.domain.returns.RmaState
    Column("reason", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_by", ForeignKey("operator.id")),
    Column("station_id", ForeignKey("station.id")),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_rma_order", "order_id"),
)

rma_line = Table(
    "rma_line",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("rma_id", ForeignKey("rma.id"), nullable=False),
    Column("order_line_id", ForeignKey("order_line.id"), nullable=False),
    Column("sku_id", ForeignKey("sku.id"), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("unit_price", Money(), nullable=False),  # what the customer paid: the refund amount
    UniqueConstraint("rma_id", "order_line_id"),
    CheckConstraint("qty > 0", name="qty_positive"),
)

# One row per physical unit a clerk put into a quarantine bin, matched or flagged.
return_unit = Table(
    "return_unit",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("rma_id", ForeignKey("rma.id"), nullable=False),
    Column("rma_line_id", ForeignKey("rma_line.id")),  # None: flagged
    Column("sku_id", ForeignKey("sku.id")),  # None: not in the catalog (nothing on the books)
    Column("barcode", String(80), nullable=False),
    Column("lot", String(60), nullable=False, server_default=""),
    Column("serial", String(80), nullable=False, server_default=""),
    Column("expiry", Date),
    Column("condition", String(20), nullable=False),
    Column("flag", String(20)),
    Column("state", String(20), nullable=False),  # server.domain.returns.UnitState
    # Where the unit is now: the quarantine bin, then wherever triage sent it.
    Column("location_id", ForeignKey("location.id"), nullable=False),
    Column("unit_value", Money()),
    Column("currency", String(3), nullable=False),
    # The bench's idempotency key: one physical unit, one row, however often it is sent.
    Column("receipt_key", String(64), nullable=False, unique=True),
    Column("station_id", ForeignKey("station.id")),
    Column("operator_id", ForeignKey("operator.id")),
    Column("received_at", UtcDateTime(), nullable=False),
    Index("ix_return_unit_rma", "rma_id"),
    Index("ix_return_unit_state", "state", "flag"),
)

# The recorded decision per unit; the unique unit makes a second decision impossible.
return_triage = Table(
    "return_triage",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("unit_id", ForeignKey("return_unit.id"), nullable=False, unique=True),
    Column("decision", String(10), nullable=False),
    Column("from_location_id", ForeignKey("location.id"), nullable=False),
    Column("to_location_id", ForeignKey("location.id"), nullable=False),
    Column("approval_id", ForeignKey("approval_request.id")),
    Column("requested_by", ForeignKey("operator.id")),
    Column("decided_by", ForeignKey("operator.id")),
    Column("station_id", ForeignKey("station.id")),
    Column("idempotency_key", String(64), nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    Column("created_at", UtcDateTime(), nullable=False),
)

# What finance acts on (no payment integration here): one trigger per matched unit.
refund_trigger = Table(
    "refund_trigger",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("unit_id", ForeignKey("return_unit.id"), nullable=False, unique=True),
    Column("rma_id", ForeignKey("rma.id"), nullable=False),
    Column("amount", Money(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("state", String(20), nullable=False),  # server.domain.returns.RefundState
    Column("approval_id", ForeignKey("approval_request.id")),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("triggered_at", UtcDateTime()),
    Column("triggered_by", ForeignKey("operator.id")),
    Index("ix_refund_trigger_state", "state"),
)

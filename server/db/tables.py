"""The server's tables (SQLAlchemy Core). Alembic migrations in db/migrations build exactly these.

Stock is a counter row per (location, SKU, lot) kept equal to the sum of the append-only movement
ledger; the CHECK constraints are the backstop that turns any bookkeeping bug into an error rather
than an oversell (reference/ledger.md 3.6).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from server.db.types import Money, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer(), "sqlite")  # INTEGER PRIMARY KEY is SQLite's rowid


def _id() -> Column[int]:
    return Column("id", Id, primary_key=True, autoincrement=True)


def _created() -> Column[object]:
    return Column("created_at", UtcDateTime(), nullable=False)


# --- people and benches -------------------------------------------------------------------------

station = Table(
    "station",
    metadata,
    _id(),
    Column("name", String(100), nullable=False),
    Column("kind", String(20), nullable=False, server_default="bench"),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("enrolled_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime()),
    Column("active", Boolean, nullable=False, server_default="1"),
)

operator = Table(
    "operator",
    metadata,
    _id(),
    Column("name", String(100), nullable=False),
    Column("badge_hash", String(64), nullable=False, unique=True),
    Column("pin_hash", String(200)),
    Column("roles", String(200), nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
    _created(),
)

enrolment_code = Table(
    "enrolment_code",
    metadata,
    _id(),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("station_name", String(100), nullable=False),
    Column("station_kind", String(20), nullable=False),
    Column("created_by", ForeignKey("operator.id")),
    _created(),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime()),
    Column("station_id", ForeignKey("station.id")),
)

operator_session = Table(
    "operator_session",
    metadata,
    _id(),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("operator_id", ForeignKey("operator.id"), nullable=False),
    Column("station_id", ForeignKey("station.id"), nullable=False),
    _created(),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("ended_at", UtcDateTime()),
)

# --- catalog -------------------------------------------------------------------------------------

warehouse = Table(
    "warehouse",
    metadata,
    _id(),
    Column("code", String(40), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("postcode", String(20), nullable=False),
    Column("latitude", Float),
    Column("longitude", Float),
    # The ship-from address carriers need on every label.
    Column("street", String(200), nullable=False, server_default=""),
    Column("city", String(100), nullable=False, server_default=""),
    Column("phone", String(40), nullable=False, server_default=""),
    _created(),
)

location = Table(
    "location",
    metadata,
    _id(),
    Column("warehouse_id", ForeignKey("warehouse.id"), nullable=False),
    Column("code", String(60), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("sellable", Boolean, nullable=False),
    UniqueConstraint("warehouse_id", "code"),
)

postcode_centroid = Table(
    "postcode_centroid",
    metadata,
    Column("country", String(2), primary_key=True),
    Column("prefix", String(20), primary_key=True),
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
)

sku = Table(
    "sku",
    metadata,
    _id(),
    Column("code", String(80), nullable=False, unique=True),
    Column("name", String(300), nullable=False),
    Column("weight_g", Integer, nullable=False),
    Column("length_mm", Integer, nullable=False),
    Column("width_mm", Integer, nullable=False),
    Column("height_mm", Integer, nullable=False),
    Column("track_lot", Boolean, nullable=False),
    Column("track_serial", Boolean, nullable=False),
    Column("track_expiry", Boolean, nullable=False),
    Column("unit_value", Money(), nullable=False),
    Column("currency", String(3), nullable=False),
    # A SKU sold before it has arrived: orders wait as preorders until this date and stock.
    Column("release_date", Date),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    CheckConstraint("weight_g >= 0", name="weight"),
)

barcode = Table(
    "barcode",
    metadata,
    _id(),
    Column("sku_id", ForeignKey("sku.id"), nullable=False),
    Column("value", String(80), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("units", Integer, nullable=False),
    Column("valid_from", UtcDateTime(), nullable=False),
    Column("valid_to", UtcDateTime()),
    _created(),
    CheckConstraint("units >= 1", name="units"),
    CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="window"),
    Index("ix_barcode_value", "value"),
)

# --- stock ---------------------------------------------------------------------------------------

stock_level = Table(
    "stock_level",
    metadata,
    _id(),
    Column("location_id", ForeignKey("location.id"), nullable=False),
    Column("sku_id", ForeignKey("sku.id"), nullable=False),
    # '' when the SKU is not lot-tracked, so the unique key works on both databases.
    Column("lot", String(60), nullable=False, server_default=""),
    Column("expiry", Date),
    Column("on_hand", Integer, nullable=False, server_default="0"),
    Column("reserved", Integer, nullable=False, server_default="0"),
    Column("unit_cost", Money()),
    Column("received_at", UtcDateTime(), nullable=False),
    UniqueConstraint("location_id", "sku_id", "lot"),
    CheckConstraint("reserved >= 0", name="reserved_nonneg"),
    CheckConstraint("reserved <= on_hand", name="reserved_le_on_hand"),
    CheckConstraint("on_hand >= 0", name="on_hand_nonneg"),
    Index("ix_stock_level_sku", "sku_id", "location_id"),
)

movement = Table(
    "movement",
    metadata,
    _id(),
    Column("sku_id", ForeignKey("sku.id"), nullable=False),
    Column("lot", String(60), nullable=False, server_default=""),
    Column("from_location_id", ForeignKey("location.id"), nullable=False),
    Column("to_location_id", ForeignKey("location.id"), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("reason", String(30), nullable=False),
    Column("order_id", ForeignKey("sales_order.id")),
    Column("idempotency_key", String(120)),
    Column("station_id", ForeignKey("station.id")),
    Column("operator_id", ForeignKey("operator.id")),
    Column("note", Text),
    _created(),
    CheckConstraint("qty > 0", name="qty_positive"),
    CheckConstraint("from_location_id <> to_location_id", name="distinct_ends"),
    Index("ix_movement_sku_to", "sku_id", "to_location_id"),
    Index("ix_movement_sku_from", "sku_id", "from_location_id"),
    Index("ix_movement_order", "order_id"),
)

# --- channels and orders ---------------------------------------------------------------------

channel = Table(
    "channel",
    metadata,
    _id(),
    Column("code", String(40), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    Column("webhook_secret", String(200)),
    Column("requires_phone", Boolean, nullable=False, server_default="0"),
    # Orders from this channel are released only after payment capture evidence unless false.
    Column("requires_capture", Boolean, nullable=False, server_default="1"),
    _created(),
)

channel_listing = Table(
    "channel_listing",
    metadata,
    _id(),
    Column("channel_id", ForeignKey("channel.id"), nullable=False),
    Column("listing_sku", String(120), nullable=False),
    Column("sku_id", ForeignKey("sku.id"), nullable=False),
    _created(),
    UniqueConstraint("channel_id", "listing_sku"),
)

sales_order = Table(
    "sales_order",
    metadata,
    _id(),
    Column("number", String(40), nullable=False, unique=True),
    Column("channel_id", ForeignKey("channel.id"), nullable=False),
    Column("external_id", String(120), nullable=False),
    Column("kind", String(20), nullable=False, server_default="channel"),
    Column("state", String(20), nullable=False),
    Column("payment_captured", Boolean, nullable=False, server_default="0"),
    Column("ship_name", String(200), nullable=False, server_default=""),
    Column("ship_line1", String(200), nullable=False, server_default=""),
    Column("ship_line2", String(200), nullable=False, server_default=""),
    Column("ship_city", String(100), nullable=False, server_default=""),
    Column("ship_region", String(100), nullable=False, server_default=""),
    Column("ship_postcode", String(20), nullable=False, server_default=""),
    Column("ship_country", String(2), nullable=False, server_default=""),
    Column("ship_phone", String(40), nullable=False, server_default=""),
    Column("email", String(200), nullable=False, server_default=""),
    Column("ship_by", UtcDateTime()),
    Column("warehouse_id", ForeignKey("warehouse.id")),
    # The bench that holds the order while it is picked and packed (it resumes it after a restart).
    Column("station_id", ForeignKey("station.id")),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    # The permanent natural key: a replay days later still finds the order (ledger.md 4.1).
    UniqueConstraint("channel_id", "external_id"),
    Index("ix_sales_order_state", "state", "created_at"),
)

order_line = Table(
    "order_line",
    metadata,
    _id(),
    Column("order_id", ForeignKey("sales_order.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("listing_sku", String(120), nullable=False),
    Column("sku_id", ForeignKey("sku.id")),
    Column("qty", Integer, nullable=False),
    Column("unit_price", Money(), nullable=False),
    Column("title", String(300), nullable=False, server_default=""),
    UniqueConstraint("order_id", "line_no"),
    CheckConstraint("qty > 0", name="qty_positive"),
)

reservation = Table(
    "reservation",
    metadata,
    _id(),
    Column("order_line_id", ForeignKey("order_line.id"), nullable=False),
    Column("stock_level_id", ForeignKey("stock_level.id"), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("state", String(10), nullable=False),
    _created(),
    Column("closed_at", UtcDateTime()),
    CheckConstraint("qty > 0", name="qty_positive"),
    Index("ix_reservation_stock", "stock_level_id", "state"),
    Index("ix_reservation_line", "order_line_id"),
)

order_transition = Table(
    "order_transition",
    metadata,
    _id(),
    Column("order_id", ForeignKey("sales_order.id"), nullable=False),
    Column("from_state", String(20)),
    Column("to_state", String(20), nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("station_id", ForeignKey("station.id")),
    Column("operator_id", ForeignKey("operator.id")),
    _created(),
    Index("ix_order_transition_order", "order_id"),
)

payment_capture = Table(
    "payment_capture",
    metadata,
    _id(),
    Column("order_id", ForeignKey("sales_order.id"), nullable=False),
    Column("reference", String(120), nullable=False),
    Column("amount", Money(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("source", String(40), nullable=False),
    _created(),
    UniqueConstraint("order_id", "reference"),
)

order_exception = Table(
    "order_exception",
    metadata,
    _id(),
    Column("order_id", ForeignKey("sales_order.id")),
    Column("channel_id", ForeignKey("channel.id")),
    Column("kind", String(30), nullable=False),
    Column("reason", Text, nullable=False),
    Column("detail", JSON, nullable=False),
    Column("recommendation", Text),
    Column("state", String(10), nullable=False),
    # Makes re-imports and replays land once (e.g. a CSV row that cannot be parsed).
    Column("dedup_key", String(128), unique=True),
    Column("resolution", Text),
    Column("resolved_by", ForeignKey("operator.id")),
    _created(),
    Column("resolved_at", UtcDateTime()),
    Index("ix_order_exception_state", "state", "kind"),
    Index("ix_order_exception_order", "order_id"),
)

idempotency_key = Table(
    "idempotency_key",
    metadata,
    _id(),
    Column("scope", String(80), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("response_code", Integer, nullable=False),
    Column("response_body", JSON, nullable=False),
    _created(),
    UniqueConstraint("scope", "key"),
)

allocation_rule = Table(
    "allocation_rule",
    metadata,
    _id(),
    Column("name", String(100), nullable=False),
    Column("channel_id", ForeignKey("channel.id")),
    Column("priority", Integer, nullable=False),
    Column("strategy", String(30), nullable=False),
    Column("allow_split", Boolean, nullable=False),
    Column("backorder", Boolean, nullable=False),
    Column("preferred_warehouse_id", ForeignKey("warehouse.id")),
    Column("active", Boolean, nullable=False, server_default="1"),
    _created(),
)

# --- audit and approvals -------------------------------------------------------------------------

audit = Table(
    "audit",
    metadata,
    _id(),
    _created(),
    Column("station_id", ForeignKey("station.id")),
    Column("operator_id", ForeignKey("operator.id")),
    Column("entity", String(30), nullable=False),
    Column("entity_id", String(60), nullable=False),
    Column("action", String(40), nullable=False),
    Column("detail", JSON, nullable=False),
    Index("ix_audit_entity", "entity", "entity_id"),
)

approval_request = Table(
    "approval_request",
    metadata,
    _id(),
    Column("operation", String(40), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("payload_hash", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("requested_by", ForeignKey("operator.id"), nullable=False),
    Column("requested_station", ForeignKey("station.id")),
    Column("state", String(10), nullable=False),
    Column("decided_by", ForeignKey("operator.id")),
    Column("decision_reason", Text),
    Column("decided_at", UtcDateTime()),
    Column("result", JSON),
    _created(),
    # Four-eyes in the data layer too: nobody decides their own request.
    CheckConstraint("decided_by IS NULL OR decided_by <> requested_by", name="four_eyes"),
)

outbox = Table(
    "outbox",
    metadata,
    _id(),
    Column("topic", String(60), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_at", UtcDateTime(), nullable=False),
    _created(),
    Index("ix_outbox_status", "status", "next_at"),
)

"""dashboard: station heartbeat table and partial indexes for the supervisors' figures

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa

import server.db.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# A frozen copy of server.db.dashboard_tables.BEFORE_HANDOVER: a migration must not change when
# the code does.
BEFORE_HANDOVER = ("received", "accepted", "on_hold", "backordered", "preorder", "allocated",
                   "released", "picking", "picked", "packing", "packed", "labelled")


def _state_in(states: tuple[str, ...]) -> sa.TextClause:
    return sa.text("state IN (" + ", ".join(f"'{s}'" for s in states) + ")")


def _partial(name: str, table: str, columns: list[str], where: sa.TextClause) -> None:
    op.create_index(name, table, columns, postgresql_where=where, sqlite_where=where)


def upgrade() -> None:
    op.create_table(
        "station_health",
        sa.Column("station_id", Id, nullable=False),
        sa.Column("scanner", sa.String(10), nullable=False),
        sa.Column("scanner_words", sa.String(200), server_default="", nullable=False),
        sa.Column("printer", sa.String(10), nullable=False),
        sa.Column("printer_words", sa.String(200), server_default="", nullable=False),
        sa.Column("queued", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rejected", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_seen_at", server.db.types.UtcDateTime(), nullable=False),
        sa.Column("changed_at", server.db.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["station_id"], ["station.id"],
                                name="fk_station_health_station_id_station"),
        sa.PrimaryKeyConstraint("station_id", name="pk_station_health"),
    )
    op.create_index("ix_station_health_changed", "station_health", ["changed_at"])
    _partial("ix_sales_order_open_ship_by", "sales_order", ["ship_by", "state"],
             _state_in(BEFORE_HANDOVER))
    _partial("ix_order_exception_open", "order_exception", ["created_at", "id"],
             sa.text("state = 'open'"))
    op.create_index("ix_station_event_occurred", "station_event", ["occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_station_event_occurred", table_name="station_event")
    op.drop_index("ix_order_exception_open", table_name="order_exception")
    op.drop_index("ix_sales_order_open_ship_by", table_name="sales_order")
    op.drop_index("ix_station_health_changed", table_name="station_health")
    op.drop_table("station_health")

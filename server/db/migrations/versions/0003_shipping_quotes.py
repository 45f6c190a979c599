"""shipments, the permanent quote log and stored rate rules

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa

import server.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "rate_rule",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("created_at", server.db.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", server.db.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rate_rule"),
        sa.UniqueConstraint("name", name="uq_rate_rule_name"),
    )
    op.create_table(
        "shipment",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("order_id", Id, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("chosen_quote_id", sa.Integer()),
        sa.Column("explanation", sa.Text()),
        sa.Column("created_at", server.db.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", server.db.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["sales_order.id"],
                                name="fk_shipment_order_id_sales_order"),
        sa.PrimaryKeyConstraint("id", name="pk_shipment"),
        sa.UniqueConstraint("order_id", name="uq_shipment_order_id"),
    )
    op.create_table(
        "rate_quote",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("shipment_id", Id, nullable=False),
        sa.Column("shop_no", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(30), nullable=False),
        sa.Column("account", sa.String(60), nullable=False),
        sa.Column("carrier", sa.String(60), server_default="", nullable=False),
        sa.Column("service", sa.String(120), server_default="", nullable=False),
        sa.Column("amount", server.db.types.Money()),
        sa.Column("currency", sa.String(3), server_default="", nullable=False),
        sa.Column("delivery_days", sa.Integer()),
        sa.Column("rate_id", sa.String(120), server_default="", nullable=False),
        sa.Column("failure", sa.Text()),
        sa.Column("created_at", server.db.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["shipment_id"], ["shipment.id"],
                                name="fk_rate_quote_shipment_id_shipment"),
        sa.PrimaryKeyConstraint("id", name="pk_rate_quote"),
    )
    op.create_index("ix_rate_quote_shipment", "rate_quote", ["shipment_id", "shop_no"])


def downgrade() -> None:
    op.drop_index("ix_rate_quote_shipment", table_name="rate_quote")
    op.drop_table("rate_quote")
    op.drop_table("shipment")
    op.drop_table("rate_rule")

"""returns: RMAs, received units, triage

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa

import server.db.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "rma",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("order_id", Id, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_by", Id),
        sa.Column("station_id", Id),
        sa.Column("created_at", server.db.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", server.db.types.UtcDateTime(), nullable=False),
        _fk("rma", "order_id", "sales_order"),
        _fk("rma", "created_by", "operator"),
        _fk("rma", "station_id", "station"),
        sa.PrimaryKeyConstraint("id", name="pk_rma"),
        sa.UniqueConstraint("number", name="uq_rma_number"),
    )
    op.create_index("ix_rma_order", "rma", ["order_id"])
    op.create_table(
        "rma_line",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("rma_id", Id, nullable=False),
        sa.Column("order_line_id", Id, nullable=False),
        sa.Column("sku_id", Id, nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("unit_price", server.db.types.Money(), nullable=False),
        _fk("rma_line", "rma_id", "rma"),
        _fk("rma_line", "order_line_id", "order_line"),
        _fk("rma_line", "sku_id", "sku"),
        sa.CheckConstraint("qty > 0", name="ck_rma_line_qty_positive"),
        sa.PrimaryKeyConstraint("id", name="pk_rma_line"),
        sa.UniqueConstraint("rma_id", "order_line_id", name="uq_rma_line_rma_id_order_line_id"),
    )
    op.create_table(
        "return_unit",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("rma_id", Id, nullable=False),
        sa.Column("rma_line_id", Id),
        sa.Column("sku_id", Id),
        sa.Column("barcode", sa.String(80), nullable=False),
        sa.Column("lot", sa.String(60), server_default="", nullable=False),
        sa.Column("serial", sa.String(80), server_default="", nullable=False),
        sa.Column("expiry", sa.Date()),
        sa.Column("condition", sa.String(20), nullable=False),
        sa.Column("flag", sa.String(20)),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("location_id", Id, nullable=False),
        sa.Column("unit_value", server.db.types.Money()),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("receipt_key", sa.String(64), nullable=False),
        sa.Column("station_id", Id),
        sa.Column("operator_id", Id),
        sa.Column("received_at", server.db.types.UtcDateTime(), nullable=False),
        _fk("return_unit", "rma_id", "rma"),
        _fk("return_unit", "rma_line_id", "rma_line"),
        _fk("return_unit", "sku_id", "sku"),
        _fk("return_unit", "location_id", "location"),
        _fk("return_unit", "station_id", "station"),
        _fk("return_unit", "operator_id", "operator"),
        sa.PrimaryKeyConstraint("id", name="pk_return_unit"),
        sa.UniqueConstraint("receipt_key", name="uq_return_unit_receipt_key"),
    )
    op.create_index("ix_return_unit_rma", "return_unit", ["rma_id"])
    op.create_index("ix_return_unit_state", "return_unit", ["state", "flag"])
    op.create_table(
        "return_triage",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("unit_id", Id, nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("from_location_id", Id, nullable=False),
        sa.Column("to_location_id", Id, nullable=False),
        sa.Column("approval_id", Id),
        sa.Column("requested_by", Id),
        sa.Column("decided_by", Id),
        sa.Column("station_id", Id),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", server.db.types.UtcDateTime(), nullable=False),
        _fk("return_triage", "unit_id", "return_unit"),
        _fk("return_triage", "from_location_id", "location"),
        _fk("return_triage", "to_location_id", "location"),
        _fk("return_triage", "approval_id", "approval_request"),
        _fk("return_triage", "requested_by", "operator"),
        _fk("return_triage", "decided_by", "operator"),
        _fk("return_triage", "station_id", "station"),
        sa.PrimaryKeyConstraint("id", name="pk_return_triage"),
        sa.UniqueConstraint("unit_id", name="uq_return_triage_unit_id"),
    )
    op.create_table(
        "refund_trigger",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("unit_id", Id, nullable=False),
        sa.Column("rma_id", Id, nullable=False),
        sa.Column("amount", server.db.types.Money(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("approval_id", Id),
        sa.Column("created_at", server.db.types.UtcDateTime(), nullable=False),
        sa.Column("triggered_at", server.db.types.UtcDateTime()),
        sa.Column("triggered_by", Id),
        _fk("refund_trigger", "unit_id", "return_unit"),
        _fk("refund_trigger", "rma_id", "rma"),
        _fk("refund_trigger", "approval_id", "approval_request"),
        _fk("refund_trigger", "triggered_by", "operator"),
        sa.PrimaryKeyConstraint("id", name="pk_refund_trigger"),
        sa.UniqueConstraint("unit_id", name="uq_refund_trigger_unit_id"),
    )
    op.create_index("ix_refund_trigger_state", "refund_trigger", ["state"])


def downgrade() -> None:
    op.drop_index("ix_refund_trigger_state", table_name="refund_trigger")
    op.drop_table("refund_trigger")
    op.drop_table("return_triage")
    op.drop_index("ix_return_unit_state", table_name="return_unit")
    op.drop_index("ix_return_unit_rma", table_name="return_unit")
    op.drop_table("return_unit")
    op.drop_table("rma_line")
    op.drop_index("ix_rma_order", table_name="rma")
    op.drop_table("rma")

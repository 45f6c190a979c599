"""bought labels per package; provider shipment reference on quotes

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa

import server.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("rate_quote") as batch:
        batch.add_column(
            sa.Column("shipment_ref", sa.String(120), server_default="", nullable=False)
        )
    op.create_table(
        "shipment_package",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("shipment_id", Id, nullable=False),
        sa.Column("package_no", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(30), nullable=False),
        sa.Column("account", sa.String(60), nullable=False),
        sa.Column("carrier", sa.String(60), nullable=False),
        sa.Column("service", sa.String(120), nullable=False),
        sa.Column("tracking_number", sa.String(80), nullable=False),
        sa.Column("label_id", sa.String(120), nullable=False),
        sa.Column("zpl", sa.LargeBinary()),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_at", server.db.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", server.db.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["shipment_id"], ["shipment.id"],
                                name="fk_shipment_package_shipment_id_shipment"),
        sa.PrimaryKeyConstraint("id", name="pk_shipment_package"),
    )
    op.create_index("ix_shipment_package_tracking", "shipment_package", ["tracking_number"])
    op.create_index("ix_shipment_package_shipment", "shipment_package",
                    ["shipment_id", "package_no"])


def downgrade() -> None:
    op.drop_index("ix_shipment_package_shipment", table_name="shipment_package")
    op.drop_index("ix_shipment_package_tracking", table_name="shipment_package")
    op.drop_table("shipment_package")
    with op.batch_alter_table("rate_quote") as batch:
        batch.drop_column("shipment_ref")

"""package custody: tracking events, handover, cost

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa

import server.db.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "carrier_pickup",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("carrier", sa.String(60), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("station_id", Id),
        sa.Column("operator_id", Id),
        sa.Column("opened_at", server.db.types.UtcDateTime(), nullable=False),
        sa.Column("closed_at", server.db.types.UtcDateTime()),
        sa.ForeignKeyConstraint(["station_id"], ["station.id"],
                                name="fk_carrier_pickup_station_id_station"),
        sa.ForeignKeyConstraint(["operator_id"], ["operator.id"],
                                name="fk_carrier_pickup_operator_id_operator"),
        sa.PrimaryKeyConstraint("id", name="pk_carrier_pickup"),
    )
    with op.batch_alter_table("shipment") as batch:
        batch.add_column(sa.Column("cost_amount", server.db.types.Money()))
        batch.add_column(sa.Column("cost_currency", sa.String(3)))
        batch.add_column(sa.Column("purchased_at", server.db.types.UtcDateTime()))
        batch.create_index("ix_shipment_purchased", ["purchased_at"])
    with op.batch_alter_table("shipment_package") as batch:
        for name in ("labelled_at", "handed_over_at", "custody_at", "delivered_at",
                     "last_tracking_at"):
            batch.add_column(sa.Column(name, server.db.types.UtcDateTime()))
        batch.add_column(sa.Column("pickup_id", Id))
        batch.create_foreign_key("fk_shipment_package_pickup_id_carrier_pickup",
                                 "carrier_pickup", ["pickup_id"], ["id"])
        batch.create_index("ix_shipment_package_state", ["state", "handed_over_at"])
    op.create_table(
        "tracking_event",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("package_id", Id, nullable=False),
        sa.Column("provider", sa.String(30), nullable=False),
        sa.Column("event_key", sa.String(160), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("raw_status", sa.String(80), server_default="", nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("occurred_at", server.db.types.UtcDateTime(), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("received_at", server.db.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["package_id"], ["shipment_package.id"],
                                name="fk_tracking_event_package_id_shipment_package"),
        sa.PrimaryKeyConstraint("id", name="pk_tracking_event"),
        sa.UniqueConstraint("package_id", "event_key", name="uq_tracking_event_key"),
    )


def downgrade() -> None:
    op.drop_table("tracking_event")
    with op.batch_alter_table("shipment_package") as batch:
        batch.drop_index("ix_shipment_package_state")
        batch.drop_constraint("fk_shipment_package_pickup_id_carrier_pickup", type_="foreignkey")
        batch.drop_column("pickup_id")
        for name in ("last_tracking_at", "delivered_at", "custody_at", "handed_over_at",
                     "labelled_at"):
            batch.drop_column(name)
    with op.batch_alter_table("shipment") as batch:
        batch.drop_index("ix_shipment_purchased")
        for name in ("purchased_at", "cost_currency", "cost_amount"):
            batch.drop_column(name)
    op.drop_table("carrier_pickup")

"""warehouse ship-from address

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("warehouse") as batch:
        batch.add_column(sa.Column("street", sa.String(200), server_default="", nullable=False))
        batch.add_column(sa.Column("city", sa.String(100), server_default="", nullable=False))
        batch.add_column(sa.Column("phone", sa.String(40), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("warehouse") as batch:
        batch.drop_column("phone")
        batch.drop_column("city")
        batch.drop_column("street")

"""dashboard: indexes and summary tables for the supervisors' figures

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


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

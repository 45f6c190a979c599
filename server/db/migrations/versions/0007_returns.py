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


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

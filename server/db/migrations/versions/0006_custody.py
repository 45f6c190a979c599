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
    pass


def downgrade() -> None:
    pass

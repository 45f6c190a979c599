"""station events

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

import server.db.types


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('station_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('station_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.Column('operator_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('submitted_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('detail', sa.Text(), server_default='', nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('occurred_at', server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_at', server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['operator_id'], ['operator.id'], name=op.f('fk_station_event_operator_id_operator')),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_station_event_station_id_station')),
    sa.ForeignKeyConstraint(['submitted_by'], ['operator.id'], name=op.f('fk_station_event_submitted_by_operator')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_station_event')),
    sa.UniqueConstraint('station_id', 'key', name=op.f('uq_station_event_station_id_key'))
    )
    op.create_index('ix_station_event_kind', 'station_event', ['kind', 'occurred_at'], unique=False)
    op.create_index('ix_station_event_order', 'station_event', ['order_id'], unique=False)
    op.create_index('ix_station_event_station', 'station_event', ['station_id', 'occurred_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_station_event_station', table_name='station_event')
    op.drop_index('ix_station_event_order', table_name='station_event')
    op.drop_index('ix_station_event_kind', table_name='station_event')
    op.drop_table('station_event')

"""queue_log: app_queue's realtime queue_log table (Asterisk writes, callcenter reads)

Revision ID: 0010
Revises: 0005
Create Date: 2026-11-24 01:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Columns as Asterisk's contrib/ast-db-manage queue_log and main/logger.c
    # (adaptive realtime: data1..data5); `time` is a naive UTC timestamp.
    op.create_table('queue_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('time', sa.DateTime(timezone=False), nullable=False),
    sa.Column('callid', sa.String(length=80), nullable=False),
    sa.Column('queuename', sa.String(length=256), nullable=False),
    sa.Column('agent', sa.String(length=80), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('data1', sa.String(length=100), nullable=False),
    sa.Column('data2', sa.String(length=100), nullable=False),
    sa.Column('data3', sa.String(length=100), nullable=False),
    sa.Column('data4', sa.String(length=100), nullable=False),
    sa.Column('data5', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_log'))
    )
    with op.batch_alter_table('queue_log', schema=None) as batch_op:
        batch_op.create_index('ix_queue_log_callid', ['callid'], unique=False)
        batch_op.create_index('ix_queue_log_time', ['time'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('queue_log', schema=None) as batch_op:
        batch_op.drop_index('ix_queue_log_time')
        batch_op.drop_index('ix_queue_log_callid')
    op.drop_table('queue_log')

"""a partial index on the calls a queue_log backfill corrected

A cluster follower's warm standby (acd/warm.py) looks for today's
corrected calls every 2 s; with only the entered_at index that was a scan
of all of today's rows (41 ms at 100,000 calls, PostgreSQL), with this one
0.6 ms.

Revision ID: 0020_backfill_index
Revises: 0019_callbacks
Create Date: 2026-11-26 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0020_backfill_index'
down_revision = '0019_callbacks'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('call_records', schema=None) as batch_op:
        batch_op.create_index('ix_call_records_backfill', ['pbx', 'entered_at'], unique=False,
                              postgresql_where=sa.text("source = 'backfill'"), sqlite_where=sa.text("source = 'backfill'"))


def downgrade() -> None:
    with op.batch_alter_table('call_records', schema=None) as batch_op:
        batch_op.drop_index('ix_call_records_backfill', postgresql_where=sa.text("source = 'backfill'"),
                            sqlite_where=sa.text("source = 'backfill'"))

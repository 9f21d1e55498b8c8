"""spool_applied: keys of spooled writes that reached the database

Revision ID: 0007
Revises: 0006 (re-chained after merging main; was 0005)
Create Date: 2026-12-01 00:00:00
"""
from alembic import op
import sqlalchemy as sa
import callcenter.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('spool_applied',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('at', callcenter.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_spool_applied'))
    )
    op.create_index(op.f('ix_spool_applied_at'), 'spool_applied', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_spool_applied_at'), table_name='spool_applied')
    op.drop_table('spool_applied')

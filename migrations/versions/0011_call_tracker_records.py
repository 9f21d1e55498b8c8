"""call records for every call: kind, direction, linkedid, whole-second SL wait; calls in progress

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 02:30:00
"""
from alembic import op
import sqlalchemy as sa
import callcenter.db


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('call_records') as batch:
        batch.add_column(sa.Column('linkedid', sa.String(length=64), nullable=False, server_default=''))
        batch.add_column(sa.Column('kind', sa.Enum('queue', 'outbound', 'internal', 'direct', 'ivr', 'consult', name='call_kind', native_enum=False, length=16), nullable=False, server_default='queue'))
        batch.add_column(sa.Column('direction', sa.String(length=16), nullable=False, server_default='inbound'))
        batch.add_column(sa.Column('source', sa.String(length=16), nullable=False, server_default='live'))
        batch.add_column(sa.Column('callee_number', sa.String(length=64), nullable=False, server_default=''))
        batch.add_column(sa.Column('sl_wait_s', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('peer_agent', sa.String(length=128), nullable=True))
        batch.add_column(sa.Column('end_reason', sa.String(length=24), nullable=True))
        batch.create_index(batch.f('ix_call_records_linkedid'), ['linkedid'], unique=False)
    op.create_table('acd_live_calls',
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('updated_at', callcenter.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_acd_live_calls'))
    )
    # Old rows: their Linkedid was their call id (a queue call's id is the caller's Linkedid).
    op.execute("UPDATE call_records SET linkedid = call_id WHERE linkedid = ''")


def downgrade() -> None:
    op.drop_table('acd_live_calls')
    with op.batch_alter_table('call_records') as batch:
        batch.drop_index(batch.f('ix_call_records_linkedid'))
        for col in ('end_reason', 'peer_agent', 'sl_wait_s', 'callee_number', 'source', 'direction', 'kind', 'linkedid'):
            batch.drop_column(col)

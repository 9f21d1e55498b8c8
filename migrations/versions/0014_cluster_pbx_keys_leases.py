"""cluster: calls, intervals and calls in progress keyed by PBX; leader leases

Revision ID: 0014
Revises: 0007
Create Date: 2026-11-26 05:10:00
"""
from alembic import op
import sqlalchemy as sa
import callcenter.db


revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cluster_leases',
    sa.Column('pbx', sa.String(length=32), nullable=False),
    sa.Column('node', sa.String(length=128), nullable=False),
    sa.Column('token', sa.BigInteger(), nullable=False),
    sa.Column('acquired_at', callcenter.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('pbx', name=op.f('pk_cluster_leases'))
    )
    with op.batch_alter_table('call_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pbx', sa.String(length=32), server_default='default', nullable=False))
        batch_op.drop_constraint('uq_call_records_call_id', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_call_records_pbx'), ['pbx', 'call_id'])
    with op.batch_alter_table('agent_intervals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pbx', sa.String(length=32), server_default='default', nullable=False))
        batch_op.create_unique_constraint(batch_op.f('uq_agent_intervals_pbx'), ['pbx', 'interface', 'state', 'started_at'])
    with op.batch_alter_table('acd_live_calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pbx', sa.String(length=32), server_default='default', nullable=False))
        batch_op.drop_constraint('pk_acd_live_calls', type_='primary')
        batch_op.create_primary_key('pk_acd_live_calls', ['pbx', 'key'])


def downgrade() -> None:
    with op.batch_alter_table('acd_live_calls', schema=None) as batch_op:
        batch_op.drop_constraint('pk_acd_live_calls', type_='primary')
        batch_op.create_primary_key('pk_acd_live_calls', ['key'])
        batch_op.drop_column('pbx')
    with op.batch_alter_table('agent_intervals', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_agent_intervals_pbx'), type_='unique')
        batch_op.drop_column('pbx')
    with op.batch_alter_table('call_records', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_call_records_pbx'), type_='unique')
        batch_op.create_unique_constraint('uq_call_records_call_id', ['call_id'])
        batch_op.drop_column('pbx')
    op.drop_table('cluster_leases')

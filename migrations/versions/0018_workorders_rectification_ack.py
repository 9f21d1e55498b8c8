"""work orders: a rectification notice is acknowledged by its department
(who, when, a note) and flagged when its promised progress is missed; the
board's counts per lead and per department from narrow partial indexes.

Revision ID: 0018_workorders
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa
import callcenter.db


revision = '0018_workorders'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('wo_rectifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acknowledged_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ack_note', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('missed_at', callcenter.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_wo_rectifications_acknowledged_by_users'), 'users', ['acknowledged_by'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_wo_rectifications_open_deadline', ['missed_at', 'deadline_at'], unique=False)
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.create_index('ix_work_orders_open_owner', ['first_owner_id', 'department_id', 'created_at', 'resolve_by', 'escalation_level', 'state', 'assignee_id'],
                              unique=False, postgresql_where=sa.text('is_open'), sqlite_where=sa.text('is_open'))
        batch_op.create_index('ix_work_orders_open_assignee', ['assignee_id', 'department_id', 'created_at', 'resolve_by', 'escalation_level', 'state', 'first_owner_id'],
                              unique=False, postgresql_where=sa.text('is_open'), sqlite_where=sa.text('is_open'))
        batch_op.create_index('ix_work_orders_open_dept', ['department_id', 'created_at', 'resolve_by', 'escalation_level', 'state'],
                              unique=False, postgresql_where=sa.text('is_open'), sqlite_where=sa.text('is_open'))


def downgrade() -> None:
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_work_orders_open_dept', sqlite_where=sa.text('is_open'), postgresql_where=sa.text('is_open'))
        batch_op.drop_index('ix_work_orders_open_assignee', sqlite_where=sa.text('is_open'), postgresql_where=sa.text('is_open'))
        batch_op.drop_index('ix_work_orders_open_owner', sqlite_where=sa.text('is_open'), postgresql_where=sa.text('is_open'))
    with op.batch_alter_table('wo_rectifications', schema=None) as batch_op:
        batch_op.drop_index('ix_wo_rectifications_open_deadline')
        batch_op.drop_constraint(batch_op.f('fk_wo_rectifications_acknowledged_by_users'), type_='foreignkey')
        batch_op.drop_column('missed_at')
        batch_op.drop_column('ack_note')
        batch_op.drop_column('acknowledged_by')

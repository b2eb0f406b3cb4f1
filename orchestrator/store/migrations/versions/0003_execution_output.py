"""what an execution's agent wrote: its traceback and its last SDK call

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('executions') as batch:
        batch.add_column(sa.Column('traceback', sa.Text(), nullable=False, server_default=''))
        batch.add_column(sa.Column('last_sdk_call', sa.String(length=64), nullable=False, server_default=''))
        batch.add_column(sa.Column('last_sdk_call_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('executions') as batch:
        batch.drop_column('last_sdk_call_at')
        batch.drop_column('last_sdk_call')
        batch.drop_column('traceback')

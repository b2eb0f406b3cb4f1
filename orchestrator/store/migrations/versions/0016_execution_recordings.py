"""execution recordings: what an execution saw through its runtime socket, for sessions that record

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, not a batch: SQLite's batch copies the table and drops the old one,
    # which its foreign keys refuse once transactions and ledgers refer to sessions.
    op.add_column("sessions", sa.Column("record_executions", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "execution_recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("calls_not_recorded", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["execution_id"], ["executions.id"], name=op.f("fk_execution_recordings_execution_id_executions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_execution_recordings")),
        sa.UniqueConstraint("execution_id", name=op.f("uq_execution_recordings_execution_id")),
    )


def downgrade() -> None:
    op.drop_table("execution_recordings")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("record_executions")

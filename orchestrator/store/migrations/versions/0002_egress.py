"""egress: the hosts a session may reach, and the connections its executions opened

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("egress_hosts", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "egress_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("host", sa.String(length=256), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("bytes_out", sa.Integer(), nullable=False),
        sa.Column("bytes_in", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(["execution_id"], ["executions.id"], name=op.f("fk_egress_connections_execution_id_executions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_egress_connections")),
    )
    op.create_index(op.f("ix_egress_connections_execution_id"), "egress_connections", ["execution_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_egress_connections_execution_id"), table_name="egress_connections")
    op.drop_table("egress_connections")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("egress_hosts")

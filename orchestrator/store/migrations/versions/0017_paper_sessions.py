"""paper sessions: the real wallet a paper session stands in for, its fork, and which transactions were sent there

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs (see 0016: SQLite's batch copy is refused by the foreign keys).
    op.add_column("sessions", sa.Column("paper_of_wallet", sa.String(), nullable=True))
    op.add_column("sessions", sa.Column("paper_fork_url", sa.String(), nullable=True))
    op.add_column("sessions", sa.Column("paper_fork_block", sa.Integer(), nullable=True))
    op.add_column("transactions", sa.Column("paper", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.drop_column("paper")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("paper_fork_block")
        batch.drop_column("paper_fork_url")
        batch.drop_column("paper_of_wallet")

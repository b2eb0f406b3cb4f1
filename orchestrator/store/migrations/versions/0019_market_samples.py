"""market samples: venues' public books and mids the orchestrator records, which backtests by time fill against; sessions.backtest_by_time

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("backtest_by_time", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "market_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("venue", sa.String(length=32), nullable=False),
        sa.Column("series", sa.String(length=120), nullable=False),
        sa.Column("sampled_at", sa.DateTime(), nullable=False),
        sa.Column("answer", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_market_samples_series", "market_samples", ["venue", "series", "sampled_at"])


def downgrade() -> None:
    op.drop_index("ix_market_samples_series", table_name="market_samples")
    op.drop_table("market_samples")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("backtest_by_time")

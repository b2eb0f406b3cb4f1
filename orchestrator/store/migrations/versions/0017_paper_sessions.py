"""paper sessions and backtests: the real wallet a paper session stands in for, its fork, which transactions were sent there, a backtest's blocks and steps, shadow versions and their runs

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
    op.add_column("sessions", sa.Column("paper_fork_replica", sa.String(length=64), nullable=True))
    op.add_column("transactions", sa.Column("paper", sa.Boolean(), nullable=False, server_default=sa.false()))
    for column in ("backtest_from_block", "backtest_to_block", "backtest_every_blocks"):
        op.add_column("sessions", sa.Column(column, sa.Integer(), nullable=True))
    op.create_table(
        "backtest_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("block", sa.Integer(), nullable=False),
        sa.Column("block_time", sa.DateTime(), nullable=False),
        sa.Column("positions", sa.JSON(), nullable=False),
        sa.Column("equity", sa.String(length=80), nullable=True),
        sa.Column("unvalued", sa.JSON(), nullable=False),
        sa.Column("after_last_run", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_backtest_steps_session_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtest_steps")),
        sa.UniqueConstraint("session_id", "step", name=op.f("uq_backtest_steps_session_id")),
    )
    op.create_index(op.f("ix_backtest_steps_session_id"), "backtest_steps", ["session_id"], unique=False)
    # A plain column (SQLite adds none with a foreign key): UpdateSession checks the agent exists.
    op.add_column("sessions", sa.Column("shadow_agent_id", sa.Integer(), nullable=True))
    op.create_table(
        "shadow_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("difference", sa.JSON(), nullable=False),
        sa.Column("missing_reads", sa.JSON(), nullable=False),
        sa.Column("recorded_actions", sa.Integer(), nullable=False),
        sa.Column("replayed_actions", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_shadow_runs_agent_id_agents")),
        sa.ForeignKeyConstraint(["execution_id"], ["executions.id"], name=op.f("fk_shadow_runs_execution_id_executions")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_shadow_runs_session_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shadow_runs")),
    )
    op.create_index(op.f("ix_shadow_runs_session_id"), "shadow_runs", ["session_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_shadow_runs_session_id"), table_name="shadow_runs")
    op.drop_table("shadow_runs")
    op.drop_index(op.f("ix_backtest_steps_session_id"), table_name="backtest_steps")
    op.drop_table("backtest_steps")
    with op.batch_alter_table("transactions") as batch:
        batch.drop_column("paper")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("shadow_agent_id")
        batch.drop_column("paper_fork_replica")
        batch.drop_column("paper_fork_block")
        batch.drop_column("paper_fork_url")
        batch.drop_column("paper_of_wallet")
        for column in ("backtest_every_blocks", "backtest_to_block", "backtest_from_block"):
            batch.drop_column(column)

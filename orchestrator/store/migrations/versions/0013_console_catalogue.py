"""what a console shows: an agent's DESCRIPTION.md, and token decimals and symbols read from the chain

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("description", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "token_info",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network", sa.String(length=64), nullable=False),
        sa.Column("token_key", sa.String(length=128), nullable=False),
        sa.Column("decimals", sa.Integer(), nullable=True),
        sa.Column("symbol", sa.String(length=64), nullable=True),
        sa.Column("read_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_info")),
        sa.UniqueConstraint("network", "token_key", name="uq_token_info_network_token"),
    )


def downgrade() -> None:
    op.drop_table("token_info")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("description")

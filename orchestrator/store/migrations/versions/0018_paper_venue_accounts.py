"""paper venue accounts: what a paper session holds and has ordered on a venue, filled against the venue's live book; the native coin a paper session was given for fees

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("paper_fee_money", sa.String(length=80), nullable=True))
    op.create_table(
        "paper_venue_accounts",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("venue", sa.String(length=32), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"]),
        sa.PrimaryKeyConstraint("session_id", "venue"),
    )


def downgrade() -> None:
    op.drop_table("paper_venue_accounts")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("paper_fee_money")

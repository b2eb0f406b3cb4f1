"""session secrets: named values, sealed, each bound to one host the session declared

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_secrets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=280), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_session_secrets_session_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_secrets")),
        sa.UniqueConstraint("session_id", "name", name="uq_session_secrets_session_id_name"),
    )
    op.create_index(op.f("ix_session_secrets_session_id"), "session_secrets", ["session_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_session_secrets_session_id"), table_name="session_secrets")
    op.drop_table("session_secrets")

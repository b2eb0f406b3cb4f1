"""sessions by lease expiry: the scheduler sleeps until the earliest one another replica holds

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sessions_lease", "sessions", ["lease_expires_at"])


def downgrade() -> None:
    op.drop_index("ix_sessions_lease", table_name="sessions")

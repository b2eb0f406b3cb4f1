"""suggestions: expiry swept on a timer, its coming expiry announced once

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("suggestions") as batch:
        batch.add_column(sa.Column("expiring_announced_at", sa.DateTime(), nullable=True))
    op.create_index("ix_suggestions_status_expiry", "suggestions", ["status", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_suggestions_status_expiry", table_name="suggestions")
    with op.batch_alter_table("suggestions") as batch:
        batch.drop_column("expiring_announced_at")

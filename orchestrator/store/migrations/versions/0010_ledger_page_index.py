"""a session's ledger by (session_id, id): ListAssetChanges pages newest first with an index seek

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("asset_changes") as batch:
        batch.create_index("ix_asset_changes_session", ["session_id", "id"])
        batch.drop_index("ix_asset_changes_session_id")  # a prefix of the new one


def downgrade() -> None:
    with op.batch_alter_table("asset_changes") as batch:
        batch.create_index("ix_asset_changes_session_id", ["session_id"])
        batch.drop_index("ix_asset_changes_session")

"""events found by session, kind and change in time order (the signer-refusals breaker)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Before it, every signing request counted the session's refusals by scanning all its events,
    # log lines included: a cost that grew with the session's whole history.
    op.create_index("ix_events_session_change", "events", ["session_id", "kind", "change", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_events_session_change", "events")

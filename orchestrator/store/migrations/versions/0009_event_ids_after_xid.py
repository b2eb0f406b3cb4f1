"""PostgreSQL: an event's transaction has its xid before the event takes its id

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The change feed (orchestrator/store/events.py) tells an id still in flight from one rolled
    # back by waiting until every transaction that could hold it has ended, which it can only see
    # for transactions that have an xid. PostgreSQL assigns the xid at a transaction's first
    # write, which for an event's insert comes after `nextval` took the id; a function as the
    # default makes the order explicit. CACHE 1 (the default, said here because the feed relies
    # on it): ids are handed out in the order they are asked for, across connections.
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION corral_next_event_id() RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            PERFORM pg_current_xact_id();
            RETURN nextval('events_id_seq');
        END $$
    """)
    op.execute("ALTER SEQUENCE events_id_seq CACHE 1")
    op.execute("ALTER TABLE events ALTER COLUMN id SET DEFAULT corral_next_event_id()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE events ALTER COLUMN id SET DEFAULT nextval('events_id_seq')")
    op.execute("DROP FUNCTION corral_next_event_id()")

"""per-session balances kept as the ledger is written; indexes for pending and recent transactions

Revision ID: 0006
Revises: 0005

Existing ledgers are folded once, here, into `session_balances` (the orchestrator keeps them
from then on). The fold is this revision's own copy of the rules (orchestrator/actions/balances.py
at the time), so that a later change to the code cannot change what this step did.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_NATIVE_EVM = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
_NATIVE_SOLANA = "11111111111111111111111111111111"
# Rows written per statement while backfilling: big ledgers go in slices.
_BATCH = 1000


def upgrade() -> None:
    op.create_table(
        "session_balances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("network", sa.String(length=64), nullable=False),
        sa.Column("asset_key", sa.String(length=128), nullable=False),
        sa.Column("asset_address", sa.String(length=128), nullable=False),
        sa.Column("amount", sa.Text(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("first_entry_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_session_balances_session_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_balances")),
        sa.UniqueConstraint("session_id", "network", "asset_key", name="uq_session_balances_session_id_network_asset_key"),
    )
    with op.batch_alter_table("transactions") as batch:
        batch.create_index("ix_transactions_session_status", ["session_id", "status"], unique=False)
        batch.create_index("ix_transactions_session_updated", ["session_id", "updated_at"], unique=False)
    with op.batch_alter_table("asset_changes") as batch:
        batch.create_index(batch.f("ix_asset_changes_transaction_id"), ["transaction_id"], unique=False)
    _backfill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("asset_changes") as batch:
        batch.drop_index(batch.f("ix_asset_changes_transaction_id"))
    with op.batch_alter_table("transactions") as batch:
        batch.drop_index("ix_transactions_session_updated")
        batch.drop_index("ix_transactions_session_status")
    op.drop_table("session_balances")


def _key(network: str, address: str) -> str:
    return address if network == "solana" else address.lower()


def _native(network: str) -> str:
    return _key(network, _NATIVE_SOLANA if network == "solana" else _NATIVE_EVM)


def _backfill(connection: sa.Connection) -> None:
    """Folds every session's ledger once, streaming it in id order."""
    meta = sa.MetaData()
    sessions = sa.Table("sessions", meta, autoload_with=connection)
    changes = sa.Table("asset_changes", meta, autoload_with=connection)
    transactions = sa.Table("transactions", meta, autoload_with=connection)
    balances = sa.Table("session_balances", meta, autoload_with=connection)
    wallets = dict(connection.execute(sa.select(sessions.c.id, sessions.c.wallet_address)).all())
    # (session, network, asset key) -> [spelling, amount, entries, first entry id]
    held: dict[tuple[int, str, str], list] = defaultdict(lambda: ["", 0, 0, None])
    entries = sa.select(changes.c.id, changes.c.session_id, changes.c.network, changes.c.token_address, changes.c.from_address,
                        changes.c.to_address, changes.c.amount).order_by(changes.c.id)
    for entry_id, session_id, network, token, sender, recipient, amount in connection.execute(entries.execution_options(yield_per=_BATCH)):
        row = held[(session_id, network, _key(network, token))]
        row[0] = row[0] or token
        wallet = _key(network, wallets[session_id])
        into, out_of = _key(network, recipient) == wallet, _key(network, sender) == wallet
        if into or out_of:
            row[1] += (int(amount) if into else 0) - (int(amount) if out_of else 0)
            row[2] += 1
            row[3] = entry_id if row[3] is None else row[3]
    paid = sa.select(transactions.c.session_id, transactions.c.network, transactions.c.gas_used, transactions.c.effective_gas_price).where(
        transactions.c.status.in_(("confirmed", "reverted")), transactions.c.gas_used.is_not(None))
    for session_id, network, gas_used, price in connection.execute(paid.execution_options(yield_per=_BATCH)):
        held[(session_id, network, _native(network))][1] -= gas_used * int(price or 0)
    rows = [
        {"session_id": session_id, "network": network, "asset_key": asset, "asset_address": spelling, "amount": str(amount),
         "entries": count, "first_entry_id": first}
        for (session_id, network, asset), (spelling, amount, count, first) in held.items()
    ]
    for start in range(0, len(rows), _BATCH):
        connection.execute(balances.insert(), rows[start:start + _BATCH])

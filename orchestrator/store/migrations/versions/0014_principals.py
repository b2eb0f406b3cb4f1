"""principals: API users with hashed keys, roles and wallets; who made each change (events.actor)

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("actor", sa.String(length=64), nullable=False, server_default=""))
    op.create_table(
        "principals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_principals")),
        sa.UniqueConstraint("name", name=op.f("uq_principals_name")),
        sa.UniqueConstraint("key_id", name=op.f("uq_principals_key_id")),
    )
    op.create_table(
        "principal_wallets",
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("wallet_address", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["principal_id"], ["principals.id"], name=op.f("fk_principal_wallets_principal_id_principals")),
        sa.PrimaryKeyConstraint("principal_id", "wallet_address", name=op.f("pk_principal_wallets")),
    )
    # "Which principals own this wallet" (a notification's recipients).
    op.create_index("ix_principal_wallets_wallet", "principal_wallets", ["wallet_address"])


def downgrade() -> None:
    op.drop_index("ix_principal_wallets_wallet", table_name="principal_wallets")
    op.drop_table("principal_wallets")
    op.drop_table("principals")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("actor")

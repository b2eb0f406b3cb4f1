"""What a new session may be allocated: the wallet's balance less what its active sessions hold
now. A session that spent part of its allocation took it out of the wallet's balance too, so
counting its allocation again would refuse funds that are free (seen on Solana in CI: a paying
session's first transfer made the wallet look 100,000 tokens shorter than it was)."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from orchestrator.errors import Refused
from orchestrator.sessions.lifecycle import Sessions
from orchestrator.store import AgentRow, Database, SessionBalanceRow, utcnow
from tests.integration.api_in_process import MANIFEST, NATIVE, NETWORK, WALLET, StandInSigner, seed

ALLOCATED, SPENT, FREE = 1000, 400, 1500  # session 1 holds 600 now; the agents' minimum is 1000


class Wallet:
    """A chain whose wallet holds what session 1 has left, and FREE more."""

    wallet_type = "ethereum"
    native_asset = NATIVE

    async def balance(self, address: str) -> int:
        return ALLOCATED - SPENT + FREE


def test_free_funds_are_the_balance_less_what_sessions_hold_now(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'o.db'}")
    seed(db)  # agent 1 and its session 1, allocated 1000 of the native coin on WALLET
    with db.session() as s:
        s.add(SessionBalanceRow(session_id=1, network=NETWORK, asset_key=NATIVE, asset_address=NATIVE, amount=str(-SPENT), entries=1))
        # A second agent: one agent runs once per wallet, and that is not what is tested here.
        s.add(AgentRow(id=2, name="second", version="0.1.0", image="second:1", image_id="sha256:s", wallet_type="ethereum",
                       manifest_toml=MANIFEST.replace('"fuzzed"', '"second"'), registered_at=utcnow()))
        s.commit()
    sessions = Sessions(db, StandInSigner(), {NETWORK: Wallet()})  # type: ignore[arg-type,dict-item]

    with pytest.raises(Refused) as refused:
        asyncio.run(sessions.start(2, WALLET, None, {}, str(FREE + 1)))
    assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION and f"has {FREE} unallocated" in refused.value.message
    assert asyncio.run(sessions.start(2, WALLET, None, {}, str(FREE))).allocation_amount == str(FREE)

"""A backtest's wallet is given native coin at each step to pay fees; what it may send comes
only out of what its own ledger holds of the native coin, or the fee money would turn into
profit (an agent swapping it into the starting token would raise its PnL at every step)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from corral.v1 import runtime_pb2
from orchestrator.actions.transactions import EvmSender, SolanaSender, TransactionSender
from orchestrator.errors import Refused
from orchestrator.store import Database, SessionRow, TransactionRow
from tests.helpers import seed_sessions

NATIVE = "0x" + "ee" * 20


def send(sender: TransactionSender, session: SessionRow, value: str) -> None:
    request = runtime_pb2.SignAndSendRequest(request_id="r", network="ethereum:31337")
    request.evm.to_address, request.evm.value = "0x" + "44" * 20, value
    asyncio.run(sender.sign_and_send(session, None, request))


@pytest.fixture
def backtest(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'backtest.db'}")
    (session,) = seed_sessions(db, 1)
    with db.session() as s:
        row = s.get(SessionRow, session.id)
        row.allocation_asset, row.allocation_amount = "0x" + "55" * 20, "1000"  # a token-funded backtest
        row.paper_of_wallet, row.paper_fork_url = "0x" + "33" * 20, "http://127.0.0.1:9"
        row.backtest_from_block, row.backtest_to_block, row.backtest_every_blocks = 1, 10, 1
        s.commit()
        session = s.get(SessionRow, session.id)
        session.agent  # noqa: B018 — loaded while the session is open (the sender reads it)
    sender = TransactionSender(db, EvmSender(db, {}, signer=None), SolanaSender(db, None, signer=None))  # type: ignore[arg-type]
    return db, session, sender


def funded_in_native(db: Database, session: SessionRow) -> SessionRow:
    """The backtest's session, its allocation now the native coin."""
    with db.session() as s:
        row = s.get(SessionRow, session.id)
        row.allocation_asset = NATIVE
        s.commit()
        session = s.get(SessionRow, session.id)
        session.agent  # noqa: B018 — loaded while the session is open (the sender reads it)
    return session


def test_a_token_funded_backtest_may_not_send_the_native_coin_it_was_given_for_fees(backtest):
    db, session, sender = backtest
    with pytest.raises(Refused) as refused:
        send(sender, session, "1")
    assert "a backtest sends only the native coin its ledger holds (0)" in refused.value.message
    with db.session() as s:
        assert s.query(TransactionRow).count() == 0  # refused before anything was stored or signed


def test_a_backtest_s_native_allocation_may_be_sent(backtest):
    db, session, sender = backtest
    session = funded_in_native(db, session)
    with pytest.raises(Refused) as refused:  # within what it holds: past this check (the chain is not configured here)
        send(sender, session, "1000")
    assert "a backtest sends only" not in refused.value.message
    with pytest.raises(Refused) as over:
        send(sender, session, "1001")
    assert "its ledger holds (1000)" in over.value.message


def test_concurrent_sends_of_what_the_ledger_holds_pass_the_check_one_at_a_time(backtest):
    """Sixteen sends at once of all the native coin the ledger holds: the first is sent, and the
    others are checked against the ledger it left, so none spends the fee money."""
    db, session, sender = backtest
    session = funded_in_native(db, session)
    sent: list[str] = []

    async def confirmed(session: SessionRow, execution_id, request):  # a send that settles, as a fork's does
        await asyncio.sleep(0.01)
        sent.append(request.evm.value)
        session.allocation_amount = str(int(session.allocation_amount) - int(request.evm.value))  # what its ledger now holds

    sender._send = confirmed  # type: ignore[method-assign]

    async def sixteen() -> list[BaseException | None]:
        def request() -> runtime_pb2.SignAndSendRequest:
            r = runtime_pb2.SignAndSendRequest(request_id="r", network="ethereum:31337")
            r.evm.to_address, r.evm.value = "0x" + "44" * 20, "1000"
            return r
        return await asyncio.gather(*(sender.sign_and_send(session, None, request()) for _ in range(16)), return_exceptions=True)

    outcomes = asyncio.run(sixteen())
    assert sent == ["1000"]
    refusals = [o for o in outcomes if isinstance(o, Refused)]
    assert len(refusals) == 15 and all("its ledger holds (0)" in r.message for r in refusals)

"""GetPositionHistory: what a session held after each of its settled transactions, counted
backwards from today's holdings, agreeing with GetSession at the newest point and with the
allocation at the oldest; bounded by max_transactions, and saying when it does not reach back
to the start."""

from __future__ import annotations

from datetime import timedelta

import grpc

from corral.v1 import orchestrator_pb2 as pb
from orchestrator.actions import balances
from orchestrator.sessions import position_history
from orchestrator.store import AssetChangeRow, SessionRow, TransactionRow, utcnow
from tests.integration.api_in_process import NATIVE, NETWORK, WALLET, serving

TOKEN = "0x" + "70" * 20
ELSEWHERE = "0x" + "99" * 20
ALLOCATION = 10**18


def _seed(db) -> None:
    """Session 2, allocated 1 ETH: tx 1 sends 100 wei out, brings 50 TOKEN in and pays
    21,000 x 2; tx 2 reverts and pays 10 x 3; tx 3 is rejected (nothing); tx 4 brings 20 TOKEN."""
    start = utcnow() - timedelta(minutes=10)
    with db.session() as s:
        session = SessionRow(id=2, agent_id=1, wallet_address=WALLET, status="running", execution_mode="auto", settings={},
                             allocation_network=NETWORK, allocation_asset=NATIVE, allocation_amount=str(ALLOCATION), created_at=start)
        s.add(session)
        s.flush()
        outcomes = {1: ("confirmed", 21_000, "2"), 2: ("reverted", 10, "3"), 3: ("rejected", None, None), 4: ("confirmed", 21_000, "0")}
        for tx_id, (status, gas, price) in outcomes.items():
            s.add(TransactionRow(id=tx_id, session_id=2, execution_id=None, request_id=f"r{tx_id}", network=NETWORK, from_address=WALLET,
                                 to_address=ELSEWHERE, value="0", nonce=tx_id, status=status, gas_used=gas, effective_gas_price=price,
                                 created_at=start, updated_at=start + timedelta(minutes=tx_id)))
        s.flush()

        def entry(tx_id: int, token: str, source: str, target: str, amount: int) -> AssetChangeRow:
            return AssetChangeRow(session_id=2, transaction_id=tx_id, network=NETWORK, tx_hash=f"0x{tx_id}", from_address=source,
                                  to_address=target, token_address=token, token_type="ERC20", amount=str(amount), occurred_at=start)
        first = [entry(1, NATIVE, WALLET, ELSEWHERE, 100), entry(1, TOKEN, ELSEWHERE, WALLET, 50)]
        fourth = [entry(4, TOKEN, ELSEWHERE, WALLET, 20)]
        s.add_all(first + fourth)
        s.flush()
        balances.apply(s, session, NETWORK, first, 21_000 * 2)
        balances.apply(s, session, NETWORK, [], 10 * 3)
        balances.apply(s, session, NETWORK, fourth, 0)
        s.commit()


def samples(reply) -> list[tuple[int, str, int]]:
    return [(s.transaction_id, s.asset_address.lower(), int(s.amount)) for s in reply.samples]


def test_the_history_steps_back_from_today_to_the_allocation(tmp_path):
    with serving(tmp_path) as api:
        _seed(api.db)
        code, details, reply = api.call("GetPositionHistory", pb.GetPositionHistoryRequest(session_id=2))
        assert code == grpc.StatusCode.OK, details
        session = api.call("GetSession", pb.GetSessionRequest(session_id=2))[2].session
    after_first = ALLOCATION - 100 - 42_000
    assert samples(reply) == [(1, TOKEN, 50), (1, NATIVE, after_first), (2, NATIVE, after_first - 30), (4, TOKEN, 70)]
    assert reply.complete and [(s.asset_address.lower(), int(s.amount)) for s in reply.start] == [(NATIVE, ALLOCATION), (TOKEN, 0)]
    # The newest sample of each asset is what GetSession says the session holds.
    newest = {s.asset_address.lower(): s.amount for s in reply.samples}
    assert newest == {p.asset_address.lower(): p.current_qty for p in session.positions}
    assert [s.at.ToDatetime() < t.at.ToDatetime() for s, t in zip(reply.samples[1:], reply.samples[2:], strict=False)] == [True, True]


def test_a_bounded_history_starts_where_it_stops_and_says_it_is_not_complete(tmp_path):
    with serving(tmp_path) as api:
        _seed(api.db)
        reply = api.call("GetPositionHistory", pb.GetPositionHistoryRequest(session_id=2, max_transactions=2))[2]
        refused = api.call("GetPositionHistory", pb.GetPositionHistoryRequest(session_id=2, max_transactions=-1))
        unknown = api.call("GetPositionHistory", pb.GetPositionHistoryRequest(session_id=99))
    after_first = ALLOCATION - 100 - 42_000
    assert samples(reply) == [(2, NATIVE, after_first - 30), (4, TOKEN, 70)] and not reply.complete
    assert [(s.asset_address.lower(), int(s.amount), s.HasField("at")) for s in reply.start] == [(NATIVE, after_first, False), (TOKEN, 50, False)]
    assert refused[0] == grpc.StatusCode.INVALID_ARGUMENT and refused[1].startswith("max_transactions must be 0")
    assert unknown[0] == grpc.StatusCode.NOT_FOUND


def test_a_transaction_with_a_flood_of_ledger_entries_ends_the_history_before_it(tmp_path, monkeypatch):
    """A contract can emit thousands of Transfer events in one receipt: the history stops
    before the transaction that would pass the bound on entries read, and says it is partial."""
    monkeypatch.setattr(position_history, "MAX_ENTRIES", 2)
    with serving(tmp_path) as api:
        _seed(api.db)  # tx 1 has two entries, tx 4 one
        reply = api.call("GetPositionHistory", pb.GetPositionHistoryRequest(session_id=2))[2]
    after_first = ALLOCATION - 100 - 42_000
    assert samples(reply) == [(2, NATIVE, after_first - 30), (4, TOKEN, 70)] and not reply.complete

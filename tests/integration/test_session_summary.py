"""GetSessionSummary: positions with token decimals and symbols read from a real chain (anvil,
deployed ERC-20s) and kept, fees per network, realised PnL in the starting asset, and USD only
from the owner's price sources."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import grpc
import pytest
from sqlalchemy import select

from corral.v1 import orchestrator_pb2 as pb
from devtools import contracts
from devtools.devstack import ANVIL_CHAIN_ID
from orchestrator.actions import balances
from orchestrator.chains.evm import EvmChain
from orchestrator.config import ChainConfig, PriceSource
from orchestrator.sessions.prices import PriceBook
from orchestrator.store import AssetChangeRow, SessionRow, TokenInfoRow, TransactionRow, utcnow
from tests.integration.api_in_process import NATIVE, WALLET, serving

NETWORK = f"ethereum:{ANVIL_CHAIN_ID}"
NO_CONTRACT = "0x" + "77" * 20
HOSTILE_SYMBOL = "\u202eDSU\x1b[31m" + "X" * 40


@pytest.fixture(scope="module")
def tokens(anvil_only):
    web3 = anvil_only.web3
    return {
        "usd": contracts.deploy(web3, "TestToken", "Test USD", "TUSD", 6).lower(),
        "hostile": contracts.deploy(web3, "TestToken", "Hostile", HOSTILE_SYMBOL, 18).lower(),
    }


class PriceServer(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body = json.dumps({"ethereum": {"usd": 3000}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def price_url():
    server = HTTPServer(("127.0.0.1", 0), PriceServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/price"
    server.shutdown()


def _seed(db, tokens) -> None:
    """Session 2 started with 1,000.000000 TUSD; one confirmed transaction brought 250.5 TUSD
    back and 7 of the hostile token, and paid 21,000 gas at 2 wei; a reverted one paid 10 x 3;
    a rejected one nothing."""
    now = utcnow()
    with db.session() as s:
        session = SessionRow(id=2, agent_id=1, wallet_address=WALLET, status="running", execution_mode="auto", settings={},
                             allocation_network=NETWORK, allocation_asset=tokens["usd"], allocation_amount="1000000000", created_at=now)
        s.add(session)
        s.flush()
        for tx_id, status, gas, price in ((1, "confirmed", 21_000, "2"), (2, "reverted", 10, "3"), (3, "rejected", None, None)):
            s.add(TransactionRow(id=tx_id, session_id=2, execution_id=None, request_id=f"r{tx_id}", network=NETWORK, from_address=WALLET,
                                 to_address=WALLET, value="0", nonce=tx_id, status=status, gas_used=gas, effective_gas_price=price,
                                 created_at=now, updated_at=now))
        s.flush()
        changes = [AssetChangeRow(session_id=2, transaction_id=1, network=NETWORK, tx_hash="0x1", from_address="0x" + "99" * 20,
                                  to_address=WALLET, token_address=token, token_type="ERC20", amount=amount, occurred_at=now)
                   for token, amount in ((tokens["usd"], "250500000"), (tokens["hostile"], "7"), (NO_CONTRACT, "5"))]
        s.add_all(changes)
        s.flush()
        balances.apply(s, session, NETWORK, changes, 21_000 * 2)
        balances.apply(s, session, NETWORK, [], 10 * 3)
        s.commit()


def test_a_summary_shows_tokens_fees_pnl_and_usd_from_the_owners_prices(tmp_path, anvil_only, tokens, price_url):
    with serving(tmp_path) as api:
        _seed(api.db, tokens)
        chain = EvmChain(NETWORK, ChainConfig(rpc_url=anvil_only.rpc_url))
        batches = []
        batch = chain.rpc.batch

        async def counted(calls):
            batches.append(len(calls))
            return await batch(calls)

        chain.rpc.batch = counted  # type: ignore[method-assign]
        api.servicer._chains = {NETWORK: chain}
        api.servicer._prices = PriceBook([
            PriceSource(network=NETWORK, asset=tokens["usd"], usd="1.00"),
            PriceSource(network=NETWORK, asset=NATIVE, url=price_url, json_path="ethereum.usd"),
        ])
        try:
            code, details, reply = api.call("GetSessionSummary", pb.GetSessionSummaryRequest(session_id=2))
            assert code == grpc.StatusCode.OK, details
            again = api.call("GetSessionSummary", pb.GetSessionSummaryRequest(session_id=2))[2]
        finally:
            api.loop.run(chain.close())
        with api.db.session() as s:
            kept = {row.token_key: (row.decimals, row.symbol) for row in s.scalars(select(TokenInfoRow))}
    summary = reply.summary
    # One batch read the three tokens' decimals and symbols; the second summary read the kept ones.
    assert batches == [6]
    assert again.summary == summary
    positions = {p.asset_address.lower(): p for p in summary.positions}
    usd = positions[tokens["usd"]]
    assert summary.positions[0].asset_address.lower() == tokens["usd"]  # the starting asset first
    assert (usd.amount, usd.token.decimals, usd.token.symbol) == ("1250500000", 6, "TUSD")
    assert (usd.usd_price, usd.usd_value) == ("1", "1250.5000")
    hostile = positions[tokens["hostile"]]
    # The contract's symbol, without its bidi override and escape, and cut to 16 characters.
    assert hostile.token.symbol == "DSU[31m" + "X" * 9 and hostile.token.decimals == 18
    assert not hostile.HasField("usd_value")  # no price source for it: not valued
    unknown = positions[NO_CONTRACT]
    assert not unknown.token.HasField("decimals") and not unknown.token.HasField("symbol")  # never guessed
    assert kept[NO_CONTRACT] == (None, None) and kept[tokens["usd"]] == (6, "TUSD")
    # The native coin's fees (confirmed and reverted; not the rejected one), valued from the HTTP source.
    [fees] = summary.fees
    assert (fees.network, fees.amount, fees.token.decimals) == (NETWORK, str(21_000 * 2 + 10 * 3), 18)
    assert fees.usd_value == "0.0000"  # 42,030 wei at $3,000 is far below a cent
    # PnL in the starting asset: 1,250.5 TUSD held less the 1,000 allocated; others held, not valued.
    assert (summary.allocation, summary.realised_pnl, summary.realised_pnl_usd) == ("1000000000", "250500000", "250.5000")
    assert not summary.HasField("positions_usd_value")


def test_without_a_price_source_there_is_no_usd_and_an_unreachable_node_leaves_tokens_bare(tmp_path, tokens):
    with serving(tmp_path) as api:
        _seed(api.db, tokens)
        chain = EvmChain(NETWORK, ChainConfig(rpc_url="http://127.0.0.1:9"))  # nothing listens
        api.servicer._chains = {NETWORK: chain}
        try:
            code, details, reply = api.call("GetSessionSummary", pb.GetSessionSummaryRequest(session_id=2))
        finally:
            api.loop.run(chain.close())
        with api.db.session() as s:
            kept = s.scalars(select(TokenInfoRow)).all()
    assert code == grpc.StatusCode.OK, details
    summary = reply.summary
    assert all(not p.HasField("usd_value") and not p.token.HasField("symbol") for p in summary.positions)
    assert not summary.HasField("realised_pnl_usd") and summary.realised_pnl == "250500000"
    assert kept == []  # nothing kept: read again when the node answers


def test_an_unknown_session_is_not_found(tmp_path):
    with serving(tmp_path) as api:
        code, details, _ = api.call("GetSessionSummary", pb.GetSessionSummaryRequest(session_id=99))
    assert code == grpc.StatusCode.NOT_FOUND and "99" in details

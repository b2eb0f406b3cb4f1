"""`corral backtest` over 200 blocks of a chain on which the tests traded (the dev stack's
anvil, its Uniswap-V2 pool's price moved by trades along the way): a DCA agent runs at every
50th block on a fork moved from block to block; each run buys at that block's price (read back
from the chain's own history), its holdings are carried from step to step, and the report's
PnL, equity curve, trades, fees and refusals are what the chain's history says they must be;
result.json and a PNG chart are written. Nothing reaches the source chain."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from eth_utils import function_signature_to_4byte_selector

from devtools import contracts
from devtools.devstack import CORRAL_COMMAND, DevStack
from tests.conftest import REPO_ROOT
from tests.helpers import SwapMarket, agent_from_template

DCA = REPO_ROOT / "tests" / "agents" / "dca"
SWAP_SELECTOR = "0x" + function_signature_to_4byte_selector("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)").hex()
PER_RUN, ALLOCATION, SPAN, EVERY = 100_000, 500_000, 200, 50


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """The chain backtested: a pool whose price the market moves over 200 blocks."""
    with DevStack(tmp_path_factory.mktemp("source"), minute_seconds=1.0, uniswap=True) as stack:
        market = SwapMarket(stack)
        w3, owner = stack.web3, stack.web3.eth.accounts[0]
        router = contracts.at(w3, "UniswapV2Router02", stack.uniswap_router)
        market.erc20[market.stable].functions.mint(owner, 10**12).transact({"from": owner})
        market.erc20[market.stable].functions.approve(router.address, 10**12).transact({"from": owner})
        start = w3.eth.block_number
        for _ in range(8):  # buyers push the token's price up, every 25 blocks
            w3.provider.make_request("anvil_mine", [hex(24)])
            router.functions.swapExactTokensForTokens(3 * 10**8, 0, [market.stable, market.token], owner, 2**40).transact({"from": owner})
        w3.provider.make_request("anvil_mine", [hex(start + SPAN + 5 - w3.eth.block_number)])
        yield stack, market, start


def pool_reserves(stack: DevStack, market: SwapMarket, block: int | str) -> tuple[int, int]:
    """(stable, token) reserves of the pool at `block`."""
    w3 = stack.web3
    factory = contracts.at(w3, "UniswapV2Factory", contracts.at(w3, "UniswapV2Router02", stack.uniswap_router).functions.factory().call())
    pair = contracts.at(w3, "UniswapV2Pair", factory.functions.getPair(market.stable, market.token).call())
    reserve0, reserve1, _ = pair.functions.getReserves().call(block_identifier=block)
    token0 = pair.functions.token0().call()
    return (reserve0, reserve1) if token0.lower() == market.stable.lower() else (reserve1, reserve0)


def amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """Uniswap V2's getAmountOut (0.3% fee)."""
    return amount_in * 997 * reserve_out // (reserve_in * 1000 + amount_in * 997)


def run_backtest(stack: DevStack, market: SwapMarket, agent_image, tmp_path: Path, start: int, approvals: bool = True):
    folder = agent_from_template(DCA, tmp_path / "dca", name="Backtested", stable=market.stable)
    agent_image(folder)  # built by the test's fixture (the CLI finds it by its content hash)
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({
        "allowed_chain_ids": [31337],
        "approvals": [{"token": market.stable, "spender": stack.uniswap_router, "max_amount": str(PER_RUN)}] if approvals else [],
        "contracts": [{"address": stack.uniswap_router, "selectors": [SWAP_SELECTOR]}],
    }))
    out = tmp_path / "out"
    done = subprocess.run([*CORRAL_COMMAND, "backtest", str(folder), "--network", "ethereum:31337", "--rpc-url", stack.rpc_url,
                           "--from-block", str(start), "--to-block", str(start + SPAN), "--every", str(EVERY),
                           "--setting", f"token={market.token}", "--allocation", str(ALLOCATION), "--policy", str(policy),
                           "--uniswap-router", stack.uniswap_router, "--out", str(out), "--timeout", "600"],
                          capture_output=True, text=True, timeout=700)
    return done, out


def test_a_dca_backtest_buys_at_each_block_s_price_and_reports_what_the_history_says(source, agent_image, tmp_path):
    stack, market, start = source
    head, nonce = stack.web3.eth.block_number, stack.web3.eth.get_transaction_count(stack.web3.eth.accounts[0])
    done, out = run_backtest(stack, market, agent_image, tmp_path, start)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "result.json").read_text())

    # What the chain's history says: each run buys PER_RUN at its block's reserves.
    blocks = list(range(start, start + SPAN + 1, EVERY))
    bought, expected_equity = [], []
    for k, block in enumerate(blocks):
        stable_reserve, token_reserve = pool_reserves(stack, market, block)
        held = sum(bought)
        expected_equity.append(ALLOCATION - k * PER_RUN + (amount_out(held, token_reserve, stable_reserve) if held else 0))
        bought.append(amount_out(PER_RUN, stable_reserve, token_reserve))
    # The last valuation: at the last block, after the run's own swap moved the pool.
    stable_reserve, token_reserve = pool_reserves(stack, market, blocks[-1])
    after = (stable_reserve + PER_RUN, token_reserve - bought[-1])
    final = amount_out(sum(bought), after[1], after[0])
    expected_equity.append(final)

    steps = report["steps"]
    assert [int(s["block"]) for s in steps] == [*blocks, blocks[-1]] and steps[-1]["after_last_run"]
    assert [int(s["equity"]) for s in steps] == expected_equity
    assert report["finished"] and report["runs"] == len(blocks) and report["trades"] == 2 * len(blocks)
    assert int(report["final_equity"]) == final and int(report["pnl"]) == final - ALLOCATION
    held = {p["asset_address"].lower(): int(p["current_qty"]) for p in steps[-1]["positions"]}
    assert held[market.token.lower()] == sum(bought)
    peak_fall = max((max(expected_equity[:i + 1]) - e) / max(expected_equity[:i + 1]) for i, e in enumerate(expected_equity))
    assert report.get("max_drawdown", 0.0) == pytest.approx(peak_fall)
    assert int(report["fees_paid"]) > 0 and "refusals_by_rule" not in report
    # The agent saw each block's time on the chain.
    for step, block in zip(steps, blocks, strict=False):
        assert step["block_time"].startswith(_utc(stack.web3.eth.get_block(block).timestamp))
    assert (out / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"PnL {final - ALLOCATION} (starting asset" in done.stdout
    # Nothing reached the source chain.
    assert (stack.web3.eth.block_number, stack.web3.eth.get_transaction_count(stack.web3.eth.accounts[0])) == (head, nonce)


def test_a_backtest_counts_the_policy_s_refusals_by_rule(source, agent_image, tmp_path):
    stack, market, start = source
    done, out = run_backtest(stack, market, agent_image, tmp_path, start, approvals=False)
    report = json.loads((out / "result.json").read_text())
    assert report["refusals_by_rule"] == {"approval-limit": len(range(start, start + SPAN + 1, EVERY))}
    assert report.get("trades", 0) == 0 and int(report["pnl"]) == 0
    assert "refusals by rule: approval-limit 5" in done.stdout and done.returncode == 0


def test_a_backtest_past_the_chain_s_head_is_refused_naming_the_field(source, agent_image, tmp_path):
    stack, market, _ = source
    head = stack.web3.eth.block_number
    done, _ = run_backtest(stack, market, agent_image, tmp_path, head - 9)
    assert done.returncode == 2 and f"backtest.to_block {head - 9 + SPAN} is past the chain's newest block {head}" in done.stderr


def _utc(timestamp: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S")

"""Quotes from a Uniswap-V2-compatible router's on-chain state (any EVM chain that has one).

The amount out is the router's own `getAmountsOut` (reserves and the 0.3% fee, as the swap
will compute it); the price impact compares it with the pair's mid price. The steps are an
`approve` of exactly the amount (only when the allowance is short: no unlimited approvals)
and `swapExactTokensForTokens` with the slippage floor and the quote's expiry as deadline.
"""

from __future__ import annotations

from decimal import Decimal

from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector

from corral.networks import NATIVE_EVM
from orchestrator.actions.swaps.model import EngineQuote, QuoteRequest, Step, SwapError
from orchestrator.chains.evm import EvmChain, SimulationFailed
from orchestrator.chains.paper_forks import session_chain
from orchestrator.store import SessionRow


def _selector(signature: str) -> bytes:
    return function_signature_to_4byte_selector(signature)


GET_AMOUNTS_OUT = _selector("getAmountsOut(uint256,address[])")
SWAP_EXACT_TOKENS = _selector("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)")
FACTORY = _selector("factory()")
GET_PAIR = _selector("getPair(address,address)")
GET_RESERVES = _selector("getReserves()")
TOKEN0 = _selector("token0()")
ALLOWANCE = _selector("allowance(address,address)")
APPROVE = _selector("approve(address,uint256)")


class UniswapV2Engine:
    name = "uniswap-v2"

    def __init__(self, chain: EvmChain, router: str) -> None:
        self._chain = chain
        self.router = router.lower()

    def for_session(self, session: SessionRow) -> UniswapV2Engine | None:
        """This engine on the chain `session` acts on: itself, the same router on a paper
        session's fork, or None when that session cannot act on this engine's chain."""
        chain = session_chain({self._chain.network: self._chain}, session, self._chain.network)
        if chain is None:
            return None
        return self if chain is self._chain else UniswapV2Engine(chain, self.router)

    def supports(self, request: QuoteRequest) -> bool:
        return (
            request.from_.network == request.to.network == self._chain.network
            and NATIVE_EVM not in (request.token_in, request.token_out)
        )

    async def quote(self, wallet: str, request: QuoteRequest, deadline: int) -> EngineQuote:
        amount_in = int(request.amount)
        path = [request.token_in, request.token_out]
        try:
            (amounts,) = decode(["uint256[]"], await self._chain.call(self.router, GET_AMOUNTS_OUT + encode(["uint256", "address[]"], [amount_in, path])))
            (factory,) = decode(["address"], await self._chain.call(self.router, FACTORY))
            (pair,) = decode(["address"], await self._chain.call(factory, GET_PAIR + encode(["address", "address"], path)))
            reserve0, reserve1, _ = decode(["uint112", "uint112", "uint32"], await self._chain.call(pair, GET_RESERVES))
            (token0,) = decode(["address"], await self._chain.call(pair, TOKEN0))
            (allowance,) = decode(["uint256"], await self._chain.call(request.token_in, ALLOWANCE + encode(["address", "address"], [wallet, self.router])))
        except SimulationFailed as exc:
            raise SwapError("NO_COMPATIBLE_ENGINES", f"uniswap-v2 has no pool for {path[0]} -> {path[1]} on {self._chain.network}: {exc}") from None
        amount_out = amounts[-1]
        reserve_in, reserve_out = (reserve0, reserve1) if token0.lower() == path[0] else (reserve1, reserve0)
        mid_out = Decimal(amount_in) * reserve_out / reserve_in
        impact = max(Decimal(0), (1 - Decimal(amount_out) / mid_out) * 100) if mid_out else Decimal(100)
        slippage_bps = int(Decimal(request.slippage) * 100)
        minimum_out = amount_out * (10_000 - slippage_bps) // 10_000
        steps = []
        if allowance < amount_in:
            steps.append(Step(f"approve {amount_in} of {path[0]} to the router", path[0],
                              "0x" + (APPROVE + encode(["address", "uint256"], [self.router, amount_in])).hex()))
        swap = SWAP_EXACT_TOKENS + encode(["uint256", "uint256", "address[]", "address", "uint256"], [amount_in, minimum_out, path, wallet, deadline])
        steps.append(Step(f"swap {amount_in} of {path[0]} for at least {minimum_out} of {path[1]}", self.router, "0x" + swap.hex()))
        return EngineQuote(self.name, amount_in, amount_out, minimum_out, impact.quantize(Decimal("0.0001")), steps)

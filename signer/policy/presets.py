"""Built-in argument rules for the contracts the platform itself uses.

A policy lists a contract with `"preset": "<name>"` to allow exactly these functions with
these argument rules. The same rules also apply wherever one of these functions is reached
through a selector-only entry (`"selectors": [...]` or `"*"`), so listing a router by
selector never lets a swap pay a stranger. A `functions` entry the owner writes for the
same function on a contract replaces the built-in rule there (e.g. to let swaps pay a
cold wallet).

Approvals (`approve`, `increaseAllowance`, `decreaseAllowance`) are not here: the policy's
`approvals` section decides them, for every token.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from signer.policy.arguments import CONTRACT, ArgumentRule, FunctionRule

# A swap must reach the chain within this long of being signed (the platform's swap
# quotes live 30 s by default; manual-mode approvals re-quote).
SWAP_DEADLINE_SECONDS = 3600


class Preset(StrEnum):
    ERC20 = "erc20"
    WETH = "weth"
    UNISWAP_V2_ROUTER = "uniswap-v2-router"


def _rule(signature: str, **arguments: dict[str, Any]) -> FunctionRule:
    return FunctionRule(signature=signature, arguments={name: ArgumentRule(**rule) for name, rule in arguments.items()})


# dict[str, Any]: ArgumentRule's fields, of several types (the router table below mixes them).
_TO_WALLET: dict[str, Any] = {"equals": "$wallet"}
_DEADLINE: dict[str, Any] = {"within_seconds": SWAP_DEADLINE_SECONDS}
_SOME_OUTPUT: dict[str, Any] = {"min": "1"}

ERC20_FUNCTIONS = (
    _rule("transfer(address to,uint256 amount)", to={"recipient": True}, amount={"spends": CONTRACT}),
    _rule("transferFrom(address from,address to,uint256 amount)", to={"recipient": True}, amount={"spends": CONTRACT}),
)

WETH_FUNCTIONS = (
    *ERC20_FUNCTIONS,
    _rule("deposit()"),  # wraps the transaction's value (counted as a native spend)
    _rule("withdraw(uint256 wad)"),  # unwraps to the caller, the wallet
    _rule("withdrawTo(address to,uint256 wad)", to=_TO_WALLET),  # some WETH variants
)

UNISWAP_V2_ROUTER_FUNCTIONS = tuple(
    _rule(signature, **rules)
    for signature, rules in [
        ("swapExactTokensForTokens(uint256 amountIn,uint256 amountOutMin,address[] path,address to,uint256 deadline)",
         {"amountIn": {"spends": "path[0]"}, "amountOutMin": _SOME_OUTPUT, "to": _TO_WALLET, "deadline": _DEADLINE}),
        ("swapTokensForExactTokens(uint256 amountOut,uint256 amountInMax,address[] path,address to,uint256 deadline)",
         {"amountInMax": {"spends": "path[0]"}, "amountOut": _SOME_OUTPUT, "to": _TO_WALLET, "deadline": _DEADLINE}),
        ("swapExactETHForTokens(uint256 amountOutMin,address[] path,address to,uint256 deadline)",
         {"amountOutMin": _SOME_OUTPUT, "to": _TO_WALLET, "deadline": _DEADLINE}),
        ("swapETHForExactTokens(uint256 amountOut,address[] path,address to,uint256 deadline)",
         {"amountOut": _SOME_OUTPUT, "to": _TO_WALLET, "deadline": _DEADLINE}),
        ("swapExactTokensForETH(uint256 amountIn,uint256 amountOutMin,address[] path,address to,uint256 deadline)",
         {"amountIn": {"spends": "path[0]"}, "amountOutMin": _SOME_OUTPUT, "to": _TO_WALLET, "deadline": _DEADLINE}),
        ("swapTokensForExactETH(uint256 amountOut,uint256 amountInMax,address[] path,address to,uint256 deadline)",
         {"amountInMax": {"spends": "path[0]"}, "amountOut": _SOME_OUTPUT, "to": _TO_WALLET, "deadline": _DEADLINE}),
        ("swapExactTokensForTokensSupportingFeeOnTransferTokens(uint256 amountIn,uint256 amountOutMin,address[] path,address to,uint256 deadline)",
         {"amountIn": {"spends": "path[0]"}, "amountOutMin": _SOME_OUTPUT, "to": _TO_WALLET, "deadline": _DEADLINE}),
        ("swapExactETHForTokensSupportingFeeOnTransferTokens(uint256 amountOutMin,address[] path,address to,uint256 deadline)",
         {"amountOutMin": _SOME_OUTPUT, "to": _TO_WALLET, "deadline": _DEADLINE}),
        ("swapExactTokensForETHSupportingFeeOnTransferTokens(uint256 amountIn,uint256 amountOutMin,address[] path,address to,uint256 deadline)",
         {"amountIn": {"spends": "path[0]"}, "amountOutMin": _SOME_OUTPUT, "to": _TO_WALLET, "deadline": _DEADLINE}),
    ]
)

PRESETS: dict[Preset, tuple[FunctionRule, ...]] = {
    Preset.ERC20: ERC20_FUNCTIONS,
    Preset.WETH: WETH_FUNCTIONS,
    Preset.UNISWAP_V2_ROUTER: UNISWAP_V2_ROUTER_FUNCTIONS,
}

# Every built-in rule by selector: applied to these functions wherever a policy allows
# them by selector alone.
KNOWN_FUNCTIONS: dict[str, FunctionRule] = {rule.selector: rule for rules in PRESETS.values() for rule in rules}

"""Chain reads for agents: a JSON-RPC endpoint per network the session may use, at
`http://rpc.corral.internal/<network>` through the egress proxy, relayed to the node the
operator configured for that network. A paper session reads its fork instead of the chain it
forks (what it holds is there, not on the real chain); a backtest reads its fork only, which
stands at the step's block: any other node's head is in the step's future (`ForkReads`).

Read-only by an allowlist of methods (anything that sends, signs, or administers a node is
refused: transactions go through `agent.sign_and_send`, where the signer's policy applies);
requests and replies bounded in size and batch length; the request re-serialized from what
was parsed, so nothing but checked JSON reaches the node. Each request is a connection of
the execution's egress budget (count, rate, bytes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote

import aiohttp

from corral import bounded_json
from corral.networks import Network

MAX_REQUEST_BYTES = 64 * 1024
MAX_REPLY_BYTES = 4 * 1024 * 1024
MAX_BATCH = 20
NODE_TIMEOUT_SECONDS = 20.0

EVM_READS = frozenset({
    "eth_chainId", "net_version", "web3_clientVersion", "eth_syncing", "eth_blockNumber", "eth_getBalance", "eth_getCode",
    "eth_getStorageAt", "eth_call", "eth_estimateGas", "eth_getTransactionCount", "eth_getBlockByNumber", "eth_getBlockByHash",
    "eth_getBlockTransactionCountByNumber", "eth_getTransactionByHash", "eth_getTransactionReceipt", "eth_getLogs", "eth_gasPrice",
    "eth_maxPriorityFeePerGas", "eth_feeHistory", "eth_blobBaseFee",
})
SOLANA_READS = frozenset({
    "getHealth", "getVersion", "getSlot", "getBlockHeight", "getEpochInfo", "getBalance", "getAccountInfo", "getMultipleAccounts",
    "getTokenAccountBalance", "getTokenAccountsByOwner", "getTokenSupply", "getLatestBlockhash", "isBlockhashValid",
    "getSignatureStatuses", "getSignaturesForAddress", "getTransaction", "getMinimumBalanceForRentExemption", "getFeeForMessage",
    "getRecentPrioritizationFees", "simulateTransaction",
})


@dataclass(frozen=True)
class ForkReads:
    """A paper session's chain reads: `network` answered by its fork at `url` (None: it has no
    fork, as a venue's paper session or one still starting); with `only`, no other network."""

    network: str
    url: str | None
    only: bool


def readable_nodes(nodes: dict[str, str], fork: ForkReads | None) -> dict[str, str]:
    """network -> the node an execution's chain reads go to, given the installation's `nodes`."""
    if fork is None:
        return dict(nodes)
    readable = {} if fork.only else {network: url for network, url in nodes.items() if network != fork.network}
    if fork.url is not None:
        readable[fork.network] = fork.url
    return readable


@dataclass(frozen=True)
class ChainReads:
    """The networks one session may read, and the nodes behind them."""

    endpoints: dict[str, str]  # network -> the node's JSON-RPC URL
    http: aiohttp.ClientSession

    def allowed_methods(self, network: str) -> frozenset[str]:
        return SOLANA_READS if Network.parse(network).is_solana else EVM_READS

    async def answer(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        """(HTTP status, JSON body) for one request from the agent."""
        network = unquote(path.split("?", 1)[0].strip("/"))
        if method != "POST":
            return 405, _error(None, -32600, "chain reads take POST with a JSON-RPC body")
        if network not in self.endpoints:
            readable = ", ".join(sorted(self.endpoints)) or "none"
            return 404, _error(None, -32601, f"no chain reads for network {network[:80]!r}; this session may read: {readable}")
        try:
            document = bounded_json.loads(body, max_bytes=MAX_REQUEST_BYTES, max_depth=8)
        except (ValueError, UnicodeDecodeError) as exc:
            return 400, _error(None, -32700, f"not a JSON-RPC request: {str(exc)[:160]}")
        calls = document if isinstance(document, list) else [document]
        if not calls or len(calls) > MAX_BATCH or not all(isinstance(call, dict) for call in calls):
            return 400, _error(None, -32600, f"a JSON-RPC request or a batch of 1 to {MAX_BATCH}")
        allowed = self.allowed_methods(network)
        refused = [call for call in calls if call.get("method") not in allowed]
        if refused:
            name = str(refused[0].get("method"))[:64]
            text = f"{name} is not a chain read; transactions go through agent.sign_and_send, where the wallet's policy applies"
            errors = [json.loads(_error(call.get("id"), -32601, text)) for call in calls]
            return 200, json.dumps(errors if isinstance(document, list) else errors[0]).encode()
        try:
            async with self.http.post(self.endpoints[network], json=document,
                                 timeout=aiohttp.ClientTimeout(total=NODE_TIMEOUT_SECONDS)) as reply:
                data = await reply.content.read(MAX_REPLY_BYTES + 1)
                if len(data) > MAX_REPLY_BYTES:
                    return 502, _error(None, -32603, f"the node's reply is over {MAX_REPLY_BYTES} bytes; ask for less (a smaller block range)")
                return reply.status, data
        except (aiohttp.ClientError, TimeoutError) as exc:
            return 502, _error(None, -32603, f"the {network} node did not answer ({type(exc).__name__})")


def _error(call_id: object, code: int, message: str) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": call_id if isinstance(call_id, int | str) else None,
                       "error": {"code": code, "message": message}}).encode()

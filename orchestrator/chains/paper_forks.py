"""Forks for paper sessions: each paper session runs on its own fork of its allocation's
chain, taken at that chain's head when the session starts: `anvil --fork-url` for an EVM
chain, Corral's Solana devchain with `--fork-url` for Solana (LiteSVM, copying each account
from the cluster when first used). The fork is a child of this orchestrator and listens on
loopback only. An anvil fork keeps its state in a file, so that a restarted orchestrator takes
it up where it was (`ensure`); a Solana fork keeps none, so a restarted one starts from the
cluster again and the session's holdings are written back onto it (`paper.PaperSupervisor`).

A fork reads the real chain (through the configured node) for anything it has not changed
itself, and changes nothing there: what a paper session does stays on its fork. Its funds
are minted on the fork (`mint`): on an EVM chain native coins by `anvil_setBalance`, tokens by
writing the holder's balance slot, found by probing as Foundry's `deal` does; on Solana by the
devchain's `surfnet_setAccount` / `surfnet_setTokenAccount`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import shutil
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from eth_abi import decode, encode
from eth_utils import keccak

from orchestrator.chains.evm import EvmChain
from orchestrator.chains.solana import SolanaChain
from orchestrator.config import ChainConfig, PaperConfig, SolanaConfig
from orchestrator.store import SessionRow

log = logging.getLogger("corral.paper")

# balanceOf(address)
_BALANCE_OF = bytes.fromhex("70a08231")
# How many storage slots a token's balances mapping is looked for in (OpenZeppelin's is 0,
# others' a few further; Foundry's `deal` searches the same way).
_SLOTS_PROBED = 32
_READY_SECONDS = 60.0
C = TypeVar("C")
# The chains a paper session can have a fork of.
ForkSource = EvmChain | SolanaChain


class ForkError(Exception):
    """A fork could not be started or funded; the message says why."""


@dataclass
class Fork:
    session_id: int
    url: str
    block: int
    process: asyncio.subprocess.Process


def _dying_with_this_process(argv: list[str]) -> list[str]:
    """`argv` run so that the kernel sends it SIGTERM when this orchestrator dies, however it
    dies (util-linux's setpriv sets the parent-death signal, then execs it): no fork outlives
    the process that answers for it. Not a preexec_fn, which is unsafe in a threaded parent."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        log.warning("setpriv (util-linux) not found: a paper fork would outlive an orchestrator killed with SIGKILL")
        return argv
    return [setpriv, "--pdeathsig", "TERM", *argv]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PaperForks:
    """The forks this orchestrator runs, by session id."""

    def __init__(self, config: PaperConfig, state_dir: Path) -> None:
        self._config = config
        self._state_dir = state_dir
        self._forks: dict[int, Fork] = {}
        self._lock = asyncio.Lock()

    async def start(self, session_id: int, source: ForkSource, block: int | None = None) -> Fork:
        """A new fork of `source` at `block` (default: its head; on Solana always its head,
        `block` being the slot), for `session_id`."""
        if block is None:
            try:
                block = (int(await source.json_rpc.call("getSlot")) if isinstance(source, SolanaChain)
                         else int(await source.rpc.call("eth_blockNumber"), 16))
            except (OSError, ValueError) as exc:
                raise ForkError(f"the node of {source.network} did not give its head to fork at: {exc}") from None
        return await self._launch(session_id, source, block, fresh=True)

    def check_room(self) -> None:
        """Raises ForkError when no fork could start now (asked before a paper session's wallet
        is made, so a start that could not run costs the signer no key)."""
        running = sum(1 for fork in self._forks.values() if fork.process.returncode is None)
        if running >= self._config.max_forks:
            raise ForkError(f"this orchestrator runs {running} paper forks, its [paper] max_forks; stop a paper session first")

    async def ensure(self, session_id: int, source: ForkSource, url: str, block: int) -> tuple[str, bool]:
        """The URL of the session's fork, started again if it is not running here (after a
        restart): from its state file (anvil), or from the cluster again (a Solana fork, which
        keeps none: True then, its holdings are to be written back). The URL changes when its
        port had to."""
        fork = self._forks.get(session_id)
        if fork is not None and fork.process.returncode is None:
            return fork.url, False
        return (await self._launch(session_id, source, block, fresh=False)).url, isinstance(source, SolanaChain)

    async def _launch(self, session_id: int, source: ForkSource, block: int, fresh: bool) -> Fork:
        # Counted and registered under the lock, waited for outside it: a slow node delays
        # only this fork, and one being started counts against max_forks.
        async with self._lock:
            self.check_room()
            previous = self._forks.pop(session_id, None)
            if previous is not None:
                await self._end(previous)
            fork = await self._spawn(session_id, source, block, fresh)
            self._forks[session_id] = fork
        try:
            await self._wait_until_ready(fork, source)
        except BaseException:  # not ready, or the caller gave up (a cancelled start): nothing left running
            if self._forks.get(session_id) is fork:
                del self._forks[session_id]
            await asyncio.shield(self._end(fork))
            raise
        log.info("paper fork of %s at block %d for session %d on %s", source.network, block, session_id, fork.url)
        return fork

    async def _spawn(self, session_id: int, source: ForkSource, block: int, fresh: bool) -> Fork:
        self._state_dir.mkdir(parents=True, exist_ok=True)
        state = self._state_dir / f"session-{session_id}.json"
        if fresh:
            state.unlink(missing_ok=True)
        port = _free_port()
        # (anvil takes the node's URL on its command line only, where local users can read it:
        # SECURITY.md, known gaps.)
        if isinstance(source, SolanaChain):
            # This orchestrator's own interpreter runs Corral's devchain, which ends itself with
            # this process (--exit-with-parent). Exec'd through /proc/PID/exe, which names the
            # running file itself: an orchestrator dropped to its service user may no longer be
            # allowed to look its interpreter up by path (e.g. under root's home). argv[0] stays
            # sys.executable, so the child finds the same virtual environment.
            argv = [sys.executable, "-P", "-m", "devtools.solana_devchain", "--host", "127.0.0.1", "--port", str(port),
                    "--fork-url", source.config.rpc_url, "--fork-slot", str(block), "--exit-with-parent", str(os.getpid())]
            own = Path(f"/proc/{os.getpid()}/exe")
            executable: str | None = str(own) if own.exists() else None
        else:
            argv = _dying_with_this_process([
                self._config.anvil_path, "--fork-url", source.config.rpc_url, "--fork-block-number", str(block),
                "--host", "127.0.0.1", "--port", str(port),
                "--chain-id", str(source.chain_id), "--state", str(state), "--state-interval", "5", "--silent"])
            executable = None
        output = (self._state_dir / f"session-{session_id}.log").open("ab")
        try:
            process = await asyncio.create_subprocess_exec(*argv, executable=executable, stdin=asyncio.subprocess.DEVNULL,
                                                           stdout=output, stderr=output)
        except OSError as exc:
            raise ForkError(f"the fork could not be started ({argv[0]}; [paper] anvil_path = {self._config.anvil_path!r}): "
                            f"{exc.strerror}") from None
        finally:
            output.close()
        return Fork(session_id, f"http://127.0.0.1:{port}", block, process)

    async def _wait_until_ready(self, fork: Fork, source: ForkSource) -> None:
        chain = fork_chain(source, fork.url)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _READY_SECONDS
        while True:
            if fork.process.returncode is not None:
                # What it printed stays in its log, for the operator: it may name the node's URL,
                # and with it a provider's key, which an API caller is never told.
                raise ForkError(f"the fork's process exited ({fork.process.returncode}) before it was ready; its output is in "
                                f"{self._state_dir / f'session-{fork.session_id}.log'} on the orchestrator's host")
            if await answers(chain):
                return
            if loop.time() > deadline:
                raise ForkError(f"the fork was not ready within {_READY_SECONDS:g}s")
            await asyncio.sleep(0.1)

    async def stop(self, session_id: int) -> None:
        """Ends the session's fork and removes its state (a stopped session runs no more)."""
        fork = self._forks.pop(session_id, None)
        if fork is not None:
            await self._end(fork)
        for leftover in (self._state_dir / f"session-{session_id}.json", self._state_dir / f"session-{session_id}.log"):
            leftover.unlink(missing_ok=True)

    def running(self) -> list[int]:
        return [session_id for session_id, fork in self._forks.items() if fork.process.returncode is None]

    async def close(self) -> None:
        """Shutdown: each fork is ended (SIGTERM: anvil writes its state first), its state kept."""
        for fork in list(self._forks.values()):
            await self._end(fork)
        self._forks.clear()

    async def _end(self, fork: Fork) -> None:
        if fork.process.returncode is None:
            fork.process.terminate()
            try:
                await asyncio.wait_for(fork.process.wait(), timeout=10)
            except TimeoutError:
                fork.process.kill()
                await fork.process.wait()


async def answers(chain: ForkSource) -> bool:
    """Whether a fork's node answers."""
    try:
        if isinstance(chain, SolanaChain):
            await chain.json_rpc.call("getHealth")
        else:
            await chain.rpc.call("eth_blockNumber")
    except (OSError, ValueError):
        return False
    return True


async def mint(chain: ForkSource, asset: str, holder: str, amount: int) -> None:
    """Gives `holder` `amount` of `asset` on a fork: the native coin, or a token (an ERC-20
    whose balances mapping is found by probing its first storage slots; an SPL mint, in the
    holder's associated token account)."""
    if isinstance(chain, SolanaChain):
        if asset == chain.native_asset:
            await chain.json_rpc.call("surfnet_setAccount", holder, {"lamports": amount})
        else:
            await chain.json_rpc.call("surfnet_setTokenAccount", holder, asset, {"amount": amount})
        return
    if asset.lower() == chain.native_asset.lower():
        await chain.rpc.call("anvil_setBalance", holder, hex(amount))
        return
    owner = encode(["address"], [holder])
    for slot in range(_SLOTS_PROBED):
        # Solidity's mapping layout keccak(key . slot), then Vyper's keccak(slot . key).
        for key in (keccak(owner + encode(["uint256"], [slot])), keccak(encode(["uint256"], [slot]) + owner)):
            where = "0x" + key.hex()
            before = await chain.rpc.call("eth_getStorageAt", asset, where, "latest")
            await chain.rpc.call("anvil_setStorageAt", asset, where, "0x" + encode(["uint256"], [amount]).hex())
            if await balance_or_none(chain, asset, holder) == amount:
                return
            await chain.rpc.call("anvil_setStorageAt", asset, where, "0x" + int(before, 16).to_bytes(32, "big").hex())
    raise ForkError(f"the balance of {asset} could not be set on the fork: its balances are not a mapping in its first "
                    f"{_SLOTS_PROBED} storage slots")


async def balance_or_none(chain: EvmChain, token: str, holder: str) -> int | None:
    """What `token` says `holder` has; None when its answer is no balance (a revert, a node
    error, bytes eth-abi cannot decode: a hostile token may answer anything)."""
    try:
        (balance,) = decode(["uint256"], await chain.call(token, _BALANCE_OF + encode(["address"], [holder])))
    except Exception:  # noqa: BLE001 — said in the docstring
        return None
    return int(balance)


def default_state_dir(socket_root: Path) -> Path:
    return socket_root.resolve().parent / "paper-forks"


@functools.lru_cache(maxsize=64)  # one chain object (one connection pool) per fork
def fork_chain(source: C, url: str) -> C:
    """The fork at `url` as a chain: the source's network (and router), no explorer (what is
    sent there exists on the fork only)."""
    if isinstance(source, SolanaChain):
        return SolanaChain(SolanaConfig(rpc_url=url, confirmation_timeout_seconds=source.config.confirmation_timeout_seconds))
    assert isinstance(source, EvmChain)
    config = ChainConfig(rpc_url=url, receipt_timeout_seconds=source.config.receipt_timeout_seconds,
                         uniswap_v2_router=source.config.uniswap_v2_router)
    fork = EvmChain(source.network, config)
    fork.rpc.hide(source.config.rpc_url)  # anvil quotes its upstream's URL when the upstream fails
    return fork


def session_chain(chains: Mapping[str, C], session: SessionRow, network: str) -> C | None:
    """The chain `session` acts on for `network`: the configured one; for a paper session its
    fork, and nothing for any other network (a paper session never reaches a real chain)."""
    source = chains.get(network)
    if not session.paper:
        return source
    if network != session.allocation_network or not isinstance(source, ForkSource) or session.paper_fork_url is None:
        return None  # (a paper session being started has no fork yet: it reaches no chain meanwhile)
    return fork_chain(source, session.paper_fork_url)

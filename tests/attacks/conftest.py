"""The attack suite: each test reproduces an attack that worked against an earlier signer, as
the party that would make it — a hostile agent through its runtime socket (a real sandboxed
agent, tests/agents/attacker), or a compromised orchestrator straight at the signer socket —
and checks that it is refused AND that nothing moved: balances, allowances and nonces are
read back from the chain (anvil with web3, the Solana devchain over JSON-RPC), never taken
from the platform's own answers."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from web3 import Web3

from corral.v1 import orchestrator_pb2 as pb
from corral.v1 import signer_pb2, signer_pb2_grpc
from devtools import contracts
from devtools.devstack import DevStack
from tests.conftest import REPO_ROOT
from tests.helpers import agent_from_template, wait_for

ATTACKER = REPO_ROOT / "tests" / "agents" / "attacker"
NATIVE_EVM = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
NATIVE_SOLANA = "11111111111111111111111111111111"
GWEI = 10**9


@pytest.fixture(scope="package")
def evm(tmp_path_factory, base_image):
    """One EVM platform for the EVM attacks: anvil with a Uniswap-V2 router, signer, orchestrator."""
    with DevStack(tmp_path_factory.mktemp("attacks-evm"), minute_seconds=1.0, uniswap=True) as stack:
        yield stack


def attacker_agent(stack: DevStack, agent_image, folder: Path, wallet_type: str = "ethereum") -> int:
    """Registers the attacker agent (one per platform and wallet type)."""
    network, asset, minimum = ("solana", NATIVE_SOLANA, "1000") if wallet_type == "solana" else ("ethereum:31337", NATIVE_EVM, "1000")
    source = agent_from_template(ATTACKER, folder, name=f"Attacker {wallet_type}", wallet_type=wallet_type, network=network,
                                 asset=asset, minimum=minimum)
    return stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(source))).agent.id


@pytest.fixture(scope="package")
def evm_attacker(evm, agent_image, tmp_path_factory) -> int:
    return attacker_agent(evm, agent_image, tmp_path_factory.mktemp("attacker") / "agent")


def attack(stack: DevStack, agent_id: int, wallet: str, plan: list, allocation: str | None = None) -> list:
    """Starts a session of the attacker on `wallet` with `plan`, waits for it to have tried
    every step, stops it, and returns each step's envelope (what the agent saw)."""
    request = pb.StartSessionRequest(agent_id=agent_id, wallet_address=wallet, settings={"plan": json.dumps(plan)})
    if allocation is not None:
        request.allocation_amount = allocation
    session = stack.api.StartSession(request).session

    def memory():
        entries = {e.key: e.value for e in stack.api.ListSessionMemory(pb.ListSessionMemoryRequest(session_id=session.id)).entries}
        return entries if "done" in entries else None

    try:
        entries = wait_for(memory, timeout=180, what=f"session {session.id}'s attacker to try its plan")
    finally:
        stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    return [json.loads(entries[f"step-{i}"]) for i in range(len(plan))]


def funded_wallet(stack: DevStack, policy: dict | None = None, wei: int = 10**17) -> str:
    """A fresh EVM wallet with `wei` on anvil (a session needs its allocation) and, when
    given, `policy` as its whole policy."""
    wallet = stack.create_wallet()
    stack.fund(wallet, wei)
    if policy is not None:
        stack.set_policy(wallet, policy)
    return wallet


def signer_stub(stack: DevStack) -> signer_pb2_grpc.SignerServiceStub:
    """The signer's socket, as the orchestrator (or whoever holds its process) reaches it."""
    return signer_pb2_grpc.SignerServiceStub(grpc.insecure_channel(f"unix:{stack.signer_socket}"))


def refused(call, request) -> grpc.RpcError:
    """The refusal `call(request)` gets (AssertionError if it was signed)."""
    try:
        call(request)
    except grpc.RpcError as error:
        return error
    raise AssertionError("the signer signed it")


def evm_tx(wallet: str, to: str, *, value: int = 0, data: bytes = b"", gas: int = 21_000, fee: int = 2 * GWEI, nonce: int = 0,
           legacy: bool = False, session_id: int = 0) -> signer_pb2.SignEvmTransactionRequest:
    tx = signer_pb2.EvmUnsignedTransaction(chain_id=31337, nonce=nonce, to=to, value=str(value), data=data, gas=gas)
    if legacy:
        tx.legacy.gas_price = str(fee)
    else:
        tx.eip1559.max_fee_per_gas, tx.eip1559.max_priority_fee_per_gas = str(fee), str(min(fee, GWEI))
    return signer_pb2.SignEvmTransactionRequest(wallet_address=wallet, transaction=tx,
                                                context=signer_pb2.SigningContext(session_id=session_id))


def audit_entries(stack: DevStack) -> list[dict]:
    return [json.loads(line) for line in (stack.signer_home / "audit.jsonl").read_text().splitlines()]


def token(stack: DevStack, *holders_and_amounts: tuple[str, int]):
    """A fresh TestToken on anvil, minted to the given holders."""
    address = contracts.deploy(stack.web3, "TestToken", "Test USD", "TUSD", 6)
    erc20 = contracts.at(stack.web3, "TestToken", address)
    for holder, amount in holders_and_amounts:
        erc20.functions.mint(Web3.to_checksum_address(holder), amount).transact({"from": stack.web3.eth.accounts[0]})
    return erc20


def balance(stack: DevStack, address: str) -> int:
    return stack.web3.eth.get_balance(Web3.to_checksum_address(address))


def nonce_of(stack: DevStack, address: str) -> int:
    return stack.web3.eth.get_transaction_count(Web3.to_checksum_address(address))

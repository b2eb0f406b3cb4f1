"""Carries out the attack plan in its `plan` setting, once, and keeps every step's envelope
in session memory (`step-0`, `step-1`, ...) for the test to read.

Steps are [kind, args]:
- ["sign_and_send", request]      agent.sign_and_send(request) as given (EVM: any gas, fees, nonce)
- ["sign_message", request]       agent.sign_message(request)
- ["solana", [instruction, ...]]  a Solana transaction built here, the wallet paying, signed and sent:
      {"transfer": [to, lamports]}, {"create_ata": [owner, mint]},
      {"mint_to": [mint, destination, amount]}, {"transfer_checked": [mint, destination, amount, decimals]},
      {"advance_nonce": [nonce_account]}
- ["venue.method", [args...]]     agent.platforms.<venue>.<method>(*args), e.g. "hyperliquid.place_order"
- ["parallel", [step, ...]]       the steps at once, from threads (their envelopes as a list)
"""

import json
import struct
from concurrent.futures import ThreadPoolExecutor

from agent_sdk import Agent, AgentContext

TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
ASSOCIATED_TOKEN_PROGRAM = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
SYSTEM_PROGRAM = "11111111111111111111111111111111"
RECENT_BLOCKHASHES = "SysvarRecentB1ockHashes11111111111111111111"


def solana_transaction(agent: AgentContext, instructions: list) -> dict:
    from solders.hash import Hash
    from solders.instruction import AccountMeta, Instruction
    from solders.message import Message
    from solders.pubkey import Pubkey
    from solders.system_program import TransferParams, transfer
    from solders.token.associated import get_associated_token_address
    from solders.transaction import Transaction

    wallet, key = Pubkey.from_string(agent.sessionWalletAddress), Pubkey.from_string
    built = []
    for spec in instructions:
        (kind, args), = spec.items()
        if kind == "transfer":
            built.append(transfer(TransferParams(from_pubkey=wallet, to_pubkey=key(args[0]), lamports=args[1])))
        elif kind == "create_ata":
            owner, mint = key(args[0]), key(args[1])
            built.append(Instruction(key(ASSOCIATED_TOKEN_PROGRAM), b"", [
                AccountMeta(wallet, True, True), AccountMeta(get_associated_token_address(owner, mint), False, True),
                AccountMeta(owner, False, False), AccountMeta(mint, False, False), AccountMeta(key(SYSTEM_PROGRAM), False, False),
                AccountMeta(key(TOKEN_PROGRAM), False, False)]))
        elif kind == "mint_to":
            built.append(Instruction(key(TOKEN_PROGRAM), bytes([7]) + struct.pack("<Q", args[2]), [
                AccountMeta(key(args[0]), False, True), AccountMeta(key(args[1]), False, True), AccountMeta(wallet, True, False)]))
        elif kind == "transfer_checked":
            mint = key(args[0])
            built.append(Instruction(key(TOKEN_PROGRAM), bytes([12]) + struct.pack("<Q", args[2]) + bytes([args[3]]), [
                AccountMeta(get_associated_token_address(wallet, mint), False, True), AccountMeta(mint, False, False),
                AccountMeta(key(args[1]), False, True), AccountMeta(wallet, True, False)]))
        elif kind == "advance_nonce":
            built.append(Instruction(key(SYSTEM_PROGRAM), struct.pack("<I", 4), [
                AccountMeta(key(args[0]), False, True), AccountMeta(key(RECENT_BLOCKHASHES), False, False),
                AccountMeta(wallet, True, False)]))
        else:
            raise ValueError(f"unknown instruction {kind}")
    unsigned = Transaction.new_unsigned(Message.new_with_blockhash(built, wallet, Hash.default()))
    return {"network": "solana", "request": {"hexTransaction": bytes(unsigned).hex()}}


def step(agent: AgentContext, kind: str, args):
    if kind == "parallel":
        with ThreadPoolExecutor(len(args)) as pool:
            return [f.result() for f in [pool.submit(step, agent, k, a) for k, a in args]]
    if kind == "sign_and_send":
        envelope = agent.sign_and_send(args)
    elif kind == "sign_message":
        envelope = agent.sign_message(args)
    elif kind == "solana":
        envelope = agent.sign_and_send(solana_transaction(agent, args))
    else:
        venue, method = kind.split(".")
        envelope = getattr(getattr(agent.platforms, venue), method)(*args)
    return envelope.model_dump(mode="json")


def run(agent: AgentContext) -> None:
    if agent.memory.get("done").data.value:
        return
    for index, (kind, args) in enumerate(json.loads(agent.settings["plan"])):
        agent.memory.set(f"step-{index}", json.dumps(step(agent, kind, args)))
    agent.memory.set("done", "yes")


agent = Agent(run_function=run)

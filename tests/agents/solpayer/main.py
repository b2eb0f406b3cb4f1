"""Each run: pays `lamports` of SOL and `tokens` of the SPL `mint` to `recipient`, in one
transaction built with solders (the base image has it; the platform sets the blockhash),
then reports the positions and the ledger the platform keeps for it."""

import json

from agent_sdk import AgentContext
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.token.associated import get_associated_token_address
from solders.transaction import Transaction

TOKEN_PROGRAM = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TRANSFER_CHECKED = 12


def transfer_checked(owner: Pubkey, recipient: Pubkey, mint: Pubkey, amount: int, decimals: int) -> Instruction:
    source, dest = get_associated_token_address(owner, mint), get_associated_token_address(recipient, mint)
    data = bytes([TRANSFER_CHECKED]) + amount.to_bytes(8, "little") + bytes([decimals])
    accounts = [AccountMeta(source, False, True), AccountMeta(mint, False, False), AccountMeta(dest, False, True),
                AccountMeta(owner, True, False)]
    return Instruction(TOKEN_PROGRAM, data, accounts)


def run(agent: AgentContext) -> None:
    wallet, recipient = Pubkey.from_string(agent.sessionWalletAddress), Pubkey.from_string(agent.settings["recipient"])
    instructions = []
    if agent.settings["lamports"]:
        instructions.append(transfer(TransferParams(from_pubkey=wallet, to_pubkey=recipient, lamports=int(agent.settings["lamports"]))))
    if agent.settings["tokens"]:
        mint = Pubkey.from_string(agent.settings["mint"])
        instructions.append(transfer_checked(wallet, recipient, mint, int(agent.settings["tokens"]), int(agent.settings["decimals"])))
    if instructions:
        unsigned = Transaction.new_unsigned(Message.new_with_blockhash(instructions, wallet, Hash.default()))
        sent = agent.sign_and_send({"network": "solana", "request": {"hexTransaction": bytes(unsigned).hex()}})
        agent.log(json.dumps({"sent": sent.success, "error": sent.error, "hash": sent.data.txHash if sent.success else None}))
    positions = agent.get_current_positions()
    held = {p.assetAddress: p.currentQty for p in positions.data.positions}
    ledger = agent.transactions()
    agent.log(json.dumps({"held": held, "ledger": [[c.tokenType, c.amount] for c in ledger.data] if ledger.success else ledger.error}))

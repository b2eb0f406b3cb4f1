"""The lean transaction path's caches against a real anvil and the real signer: the wallet's
nonce kept in memory, the fee quote kept per block, and the JSON-RPC calls batched. What must
hold: a nonce moved outside Corral (another sender on the wallet) is recovered from without
sending anything twice; a transaction that never lands leaves no gap that wedges the wallet;
a fee spike in a newer block is priced in before the next signature; and with nothing changed
the next transaction asks the chain neither for the nonce nor for fees."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from itertools import count

import grpc
import pytest
from eth_account import Account
from sqlalchemy import event
from web3 import Web3

from corral.v1 import runtime_pb2
from devtools.devstack import ANVIL_CHAIN_ID, DevStack
from orchestrator.actions.gateway import ActionGateway
from orchestrator.actions.signer_client import SignerClient
from orchestrator.actions.transactions import EvmSender, SolanaSender, TransactionSender
from orchestrator.actions.transactions.intents import Intents
from orchestrator.chains.evm import EvmChain
from orchestrator.config import ChainConfig
from orchestrator.errors import Refused
from orchestrator.store import AgentRow, Database, SessionRow, SettingRow, TransactionRow, utcnow
from orchestrator.store.audit_heads import AUDIT_HEAD_KEY, AuditHeads
from orchestrator.store.statuses import ActionKind, TransactionStatus
from tests.conftest import processes_only

NETWORK = f"ethereum:{ANVIL_CHAIN_ID}"
_request_ids = count(1)


@pytest.fixture(scope="module")
def chain_and_signer(tmp_path_factory):
    with processes_only(tmp_path_factory, "anvil", "signer") as stack:
        yield stack


class Platform:
    """The orchestrator's transaction path, in process, wired as the server wires it, for one
    fresh wallet; counts the JSON-RPC calls it makes."""

    def __init__(self, stack: DevStack, tmp_path, receipt_timeout_seconds: float = 30.0) -> None:
        self.stack = stack
        self.w3: Web3 = stack.web3
        self.db = Database(f"sqlite:///{tmp_path / 'orchestrator.db'}", "test")
        self.chain = EvmChain(NETWORK, ChainConfig(rpc_url=stack.rpc_url, receipt_timeout_seconds=receipt_timeout_seconds))
        self.signer = SignerClient(stack.signer_socket)
        heads = AuditHeads(self.db)
        self.signer.record_heads_with(heads.record, heads.write)
        self.sender = TransactionSender(self.db, EvmSender(self.db, {NETWORK: self.chain}, self.signer), SolanaSender(self.db, None, self.signer))
        self.gateway = ActionGateway(self.db, self.sender, self.signer)
        self.recipient = Account.create().address
        self.wallet = stack.create_wallet(recipients=[self.recipient])
        stack.fund(self.wallet, 10**18)
        now = utcnow()
        agent = AgentRow(id=1, name="t", version="0.0.1", image="i", image_id="i", wallet_type="ethereum", manifest_toml="", registered_at=now)
        self.session = SessionRow(id=1, agent_id=1, wallet_address=self.wallet, status="running", execution_mode="auto", settings={},
                                  allocation_network=NETWORK, allocation_asset="0x" + "ee" * 20, allocation_amount=str(10**17), created_at=now)
        with self.db.session() as db:
            db.add_all([agent, self.session])
            db.commit()
        self.session.agent = agent
        self.calls: Counter[str] = Counter()
        self.commits = 0
        event.listen(self.db.engine, "commit", self._committed)
        batch = self.chain.rpc.batch

        async def counted(calls):
            self.calls.update(method for method, _ in calls)
            return await batch(calls)

        self.chain.rpc.batch = counted  # type: ignore[method-assign]

    def _committed(self, connection) -> None:
        self.commits += 1

    async def send(self, value: int = 1) -> TransactionRow:
        request = runtime_pb2.SignAndSendRequest(request_id=f"t-{next(_request_ids)}", network=NETWORK,
                                                 evm=runtime_pb2.EvmTransactionRequest(to_address=self.recipient, value=str(value), data="0x"))
        return await self.gateway.submit(self.session, None, ActionKind.TRANSACTION, request)

    def rows(self) -> list[TransactionRow]:
        with self.db.session() as db:
            return list(db.query(TransactionRow).order_by(TransactionRow.id))

    def rpc(self, method: str, *params):
        answer = self.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
        assert "error" not in answer, answer
        return answer["result"]

    def send_outside_corral(self) -> None:
        """Another sender on the wallet (its key used elsewhere): a transfer from the wallet, mined."""
        self.rpc("anvil_impersonateAccount", self.wallet)
        try:
            tx_hash = self.w3.eth.send_transaction({"from": Web3.to_checksum_address(self.wallet), "to": self.recipient, "value": 7})
            self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        finally:
            self.rpc("anvil_stopImpersonatingAccount", self.wallet)

    async def close(self) -> None:
        await self.chain.close()
        await self.signer.close()


def run(stack: DevStack, tmp_path, scenario, **settings) -> None:
    """Runs `scenario(platform)` on one event loop (the signer's channel is bound to it)."""
    async def main() -> None:
        platform = Platform(stack, tmp_path, **settings)
        try:
            await scenario(platform)
        finally:
            await platform.close()

    asyncio.run(main())


def test_the_next_transaction_asks_the_chain_for_no_nonce_and_no_fees_while_the_head_is_unchanged(chain_and_signer, tmp_path):
    async def scenario(platform: Platform) -> None:
        first = await platform.send()
        assert first.status == TransactionStatus.CONFIRMED
        platform.calls.clear()
        second = await platform.send()
        assert second.status == TransactionStatus.CONFIRMED and second.nonce == first.nonce + 1
        assert platform.calls["eth_getTransactionCount"] == 0 and platform.calls["eth_maxPriorityFeePerGas"] == 0
        # Gas and head in one batch, the broadcast, then receipt polls, each with the head block in
        # the same batch. How many polls depends on how soon anvil mines (a busy CI machine needs
        # a second one), so only their pairing is fixed.
        polls = platform.calls.pop("eth_getTransactionReceipt", 0)
        assert polls >= 1 and platform.calls.pop("eth_getBlockByNumber", 0) == polls
        assert platform.calls == Counter({"eth_estimateGas": 1, "eth_blockNumber": 1, "eth_sendRawTransaction": 1})

    run(chain_and_signer, tmp_path, scenario)


def test_a_nonce_used_outside_corral_is_recovered_from_and_nothing_is_sent_twice(chain_and_signer, tmp_path):
    async def scenario(platform: Platform) -> None:
        assert (await platform.send()).status == TransactionStatus.CONFIRMED  # nonce 0 used; 1 cached
        platform.send_outside_corral()  # takes nonce 1 behind Corral's back
        recovered = await platform.send()
        assert recovered.status == TransactionStatus.CONFIRMED and recovered.nonce == 2
        assert (await platform.send()).nonce == 3  # and the cache goes on from there
        rows = platform.rows()
        assert [r.status for r in rows] == [TransactionStatus.CONFIRMED] * 3
        assert platform.w3.eth.get_transaction_count(Web3.to_checksum_address(platform.wallet)) == 4
        assert platform.w3.eth.get_balance(platform.recipient) == 1 + 7 + 1 + 1  # each of Corral's once, and the outside one
        assert platform.w3.eth.get_transaction(rows[1].tx_hash)["nonce"] == 2  # the stored bytes are the ones that landed

    run(chain_and_signer, tmp_path, scenario)


def test_a_nonce_taken_by_a_pending_transaction_elsewhere_is_refused_once_then_resynced(chain_and_signer, tmp_path):
    async def scenario(platform: Platform) -> None:
        assert (await platform.send()).status == TransactionStatus.CONFIRMED
        platform.rpc("evm_setAutomine", False)
        try:
            platform.rpc("anvil_impersonateAccount", platform.wallet)
            outside = platform.w3.eth.send_transaction({"from": Web3.to_checksum_address(platform.wallet), "to": platform.recipient, "value": 7,
                                                        "maxFeePerGas": 10**12, "maxPriorityFeePerGas": 10**11})
            platform.rpc("anvil_stopImpersonatingAccount", platform.wallet)
            # Nonce 1 is pending elsewhere at a higher fee: these bytes cannot replace it, and it
            # is not mined, so signing again could send twice; refused, and the nonce re-read.
            with pytest.raises(Refused) as refused:
                await platform.send()
            assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION and "the node refused the transaction" in refused.value.message
        finally:
            platform.rpc("evm_setAutomine", True)
        platform.rpc("evm_mine")
        platform.w3.eth.wait_for_transaction_receipt(outside, timeout=30)
        after = await platform.send()
        assert after.status == TransactionStatus.CONFIRMED and after.nonce == 2
        assert [r.status for r in platform.rows()] == [TransactionStatus.CONFIRMED, TransactionStatus.REJECTED, TransactionStatus.CONFIRMED]

    run(chain_and_signer, tmp_path, scenario)


def test_a_transaction_that_never_lands_leaves_no_gap_that_wedges_the_wallet(chain_and_signer, tmp_path):
    async def scenario(platform: Platform) -> None:
        assert (await platform.send()).status == TransactionStatus.CONFIRMED  # nonce 0; 1 cached
        platform.rpc("evm_setAutomine", False)
        try:
            with pytest.raises(Refused) as waited:
                await platform.send()  # nonce 1: broadcast, never mined
            assert waited.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
            lost = platform.rows()[-1]
            assert lost.status == TransactionStatus.SIGNED and lost.nonce == 1
            platform.rpc("anvil_dropTransaction", lost.tx_hash)  # gone from the mempool: it will never land
        finally:
            platform.rpc("evm_setAutomine", True)
        filled = await platform.send()
        # Re-read from the chain after the receipt did not come: the gap is filled, not skipped.
        assert filled.status == TransactionStatus.CONFIRMED and filled.nonce == 1
        assert (await platform.send()).status == TransactionStatus.CONFIRMED

    run(chain_and_signer, tmp_path, scenario, receipt_timeout_seconds=0.5)


def test_a_fee_spike_in_a_newer_block_is_priced_in_before_the_next_signature(chain_and_signer, tmp_path):
    async def scenario(platform: Platform) -> None:
        first = await platform.send()
        first_fee = platform.w3.eth.get_transaction(first.tx_hash)["maxFeePerGas"]
        base = platform.w3.eth.get_block("latest")["baseFeePerGas"]
        platform.rpc("anvil_setNextBlockBaseFeePerGas", hex(base * 50))
        platform.rpc("evm_mine")  # the spike is in the head block now; the cached quote is a block old
        spiked = platform.w3.eth.get_block("latest")["baseFeePerGas"]
        assert spiked >= base * 50
        second = await platform.send()
        sent = platform.w3.eth.get_transaction(second.tx_hash)
        assert second.status == TransactionStatus.CONFIRMED
        assert sent["maxFeePerGas"] >= 2 * spiked > first_fee


    run(chain_and_signer, tmp_path, scenario)

def test_one_commit_per_durable_step_and_the_signers_audit_head_goes_with_the_signed_bytes(chain_and_signer, tmp_path):
    async def scenario(platform: Platform) -> None:
        await platform.send()
        platform.commits = 0
        sent = await platform.send()
        # The intent before signing; the signed bytes (and the signer's audit head) before the
        # broadcast; the outcome with its ledger rows. Nothing else.
        assert platform.commits == 3
        last = json.loads((platform.stack.signer_home / "audit.jsonl").read_text().splitlines()[-1])
        assert last.get("transaction_hash") == sent.tx_hash
        with platform.db.session() as db:
            assert db.get(SettingRow, AUDIT_HEAD_KEY).value == f"{last['seq']}:{last['mac']}"

    run(chain_and_signer, tmp_path, scenario)


def test_concurrent_sends_on_one_wallet_each_get_their_own_nonce_and_a_retry_sends_nothing_again(chain_and_signer, tmp_path):
    async def scenario(platform: Platform) -> None:
        await platform.send()  # nonce 0: the cache is warm
        sent = await asyncio.gather(*(platform.send() for _ in range(6)))
        assert sorted(tx.nonce for tx in sent) == list(range(1, 7))
        assert all(tx.status == TransactionStatus.CONFIRMED for tx in sent)
        # The same request ids again, all at once: each returns its first row; nothing is signed or sent.
        again = await asyncio.gather(*(platform.gateway.submit(platform.session, None, ActionKind.TRANSACTION, runtime_pb2.SignAndSendRequest(
            request_id=tx.request_id, network=NETWORK, evm=runtime_pb2.EvmTransactionRequest(to_address=platform.recipient, value="1")))
            for tx in sent))
        assert [(tx.id, tx.tx_hash) for tx in again] == [(tx.id, tx.tx_hash) for tx in sent]
        assert platform.w3.eth.get_transaction_count(Web3.to_checksum_address(platform.wallet)) == 7
        assert platform.w3.eth.get_balance(platform.recipient) == 7

    run(chain_and_signer, tmp_path, scenario)


def test_the_hourly_breaker_refuses_a_new_intent_before_it_is_stored_but_a_retry_still_gets_its_first_result(chain_and_signer, tmp_path):
    async def scenario(platform: Platform) -> None:
        with platform.db.session() as db:
            db.get(SessionRow, platform.session.id).breakers = {"max_transactions_per_hour": 1}
            db.commit()
        platform.session.breakers = {"max_transactions_per_hour": 1}
        first = await platform.send()
        retry = await platform.gateway.submit(platform.session, None, ActionKind.TRANSACTION, runtime_pb2.SignAndSendRequest(
            request_id=first.request_id, network=NETWORK, evm=runtime_pb2.EvmTransactionRequest(to_address=platform.recipient, value="1")))
        assert (retry.id, retry.status) == (first.id, TransactionStatus.CONFIRMED)
        with pytest.raises(Refused) as refused:
            await platform.send()
        assert "max_transactions_per_hour" in refused.value.message
        assert [r.id for r in platform.rows()] == [first.id]  # the refused one was never stored, so never signed
        with platform.db.session() as db:
            assert db.get(SessionRow, platform.session.id).status == "paused"

    run(chain_and_signer, tmp_path, scenario)


def test_a_request_id_claimed_by_another_replica_between_the_read_and_the_insert_returns_that_row(chain_and_signer, tmp_path):
    """Two replicas claiming one request id at once: the unique request id decides, and the
    loser returns the winner's row instead of failing with the database's error."""
    async def scenario(platform: Platform) -> None:
        intents = Intents(platform.db)
        other_replica = Intents(Database(f"sqlite:///{tmp_path / 'orchestrator.db'}", "other"))
        request = runtime_pb2.SignAndSendRequest(request_id="raced", network=NETWORK)
        fields = {"to_address": platform.recipient, "value": "1", "data": "0x"}
        winner: list[TransactionRow] = []
        tx, new = intents.claim(platform.session, None, request, **fields,
                                admit=lambda: winner.append(other_replica.claim(platform.session, None, request, **fields)[0]))
        assert not new and tx.id == winner[0].id and tx.replica_id == "other"
        assert [r.request_id for r in platform.rows()] == ["raced"]

    run(chain_and_signer, tmp_path, scenario)

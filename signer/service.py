"""The SignerService gRPC servicer: parse; decide, reserve, sign and write the audit line
(one synchronous step); wait until that line is durable; answer.

A signature leaves this process only after an `allow` line naming its transaction hash
is durable in the audit log, so every signature ever given out is in the log. What an
allowed request commits the wallet to (spends, allowances, its nonce) is reserved in the
spend ledger in the same synchronous step as the decision, before any await, so requests
racing each other are decided one after the other against what the earlier ones reserved;
a request that fails to sign, or whose line cannot be written, gives its reservation back
in that same step. The ledger is rebuilt from the log's `allow` lines on start-up, so caps
survive restarts: from the newest checkpoint and the lines after it (signer/checkpoint.py).
A checkpoint is taken every `checkpoint_every` audit lines, in one synchronous step, so it
holds exactly the lines up to the one it names; it is written once that line is durable.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeAlias, TypeVar

import grpc
from google.protobuf.json_format import MessageToDict

from corral import bounded_json, failpoints
from corral.v1 import signer_pb2, signer_pb2_grpc
from signer import evm, hyperliquid, polymarket, solana
from signer.audit import AuditLog, bounded
from signer.checkpoint import Checkpoints, replay
from signer.halt import Halts
from signer.keystore import Keystore, canonical_address
from signer.policy import (
    Decision,
    EvmTransaction,
    PolicyStore,
    PolicyUnreadable,
    SpendLedger,
    WalletPolicy,
    decide_eip191,
    decide_eip712,
    decide_evm_transaction,
    decide_hyperliquid_action,
    decide_polymarket_auth,
    decide_polymarket_order,
    decide_session_budget,
    decide_solana_transaction,
)
from signer.policy.ledger import horizon_for

if TYPE_CHECKING:
    from google.protobuf.message import Message

    Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]

log = logging.getLogger("corral.signer")

# Each paper wallet is a key file and a policy file: a caller cannot make them without end.
MAX_PAPER_WALLETS = 1000
WALLET_TYPES = {"ethereum": signer_pb2.WALLET_TYPE_ETHEREUM, "solana": signer_pb2.WALLET_TYPE_SOLANA}


class _HeadedAnswer(Protocol):
    """A signing response: it carries the audit log's head (see with_head)."""

    @property
    def audit_head(self) -> signer_pb2.AuditHead: ...


_AnswerT = TypeVar("_AnswerT", bound=_HeadedAnswer)


class Audited:
    """One request's audit trail: every outcome of it is one durable line, and a refusal
    is also the gRPC error the caller gets."""

    def __init__(self, audit: AuditLog, context: Context, action: str, wallet: str, request: Message) -> None:
        self._audit = audit
        self._context = context
        self._base = {"action": action, "wallet": wallet, "request": bounded(MessageToDict(request, preserving_proto_field_name=True))}

    async def allow(self, decision: Decision, **extra: Any) -> dict[str, Any]:
        entry = self.write_allow(decision, **extra)
        await self._audit.durable(entry)
        return entry

    def write_allow(self, decision: Decision, **extra: Any) -> dict[str, Any]:
        """Writes the allow line (with what the decision commits the wallet to) without
        waiting for it to be durable: see SignerServicer._decide_and_sign."""
        return self._audit.write({
            **self._base, "decision": "allow", "rule": decision.rule, "reason": decision.reason, **decision.commitments.to_audit(), **extra,
        })

    async def durable(self, entry: dict[str, Any]) -> None:
        await self._audit.durable(entry)

    async def refuse(self, code: grpc.StatusCode, rule: str, reason: str, message: str | None = None) -> NoReturn:
        """Records the denial, then aborts the RPC (raises)."""
        await self._audit.commit({**self._base, "decision": "deny", "rule": rule, "reason": reason})
        await self._context.abort(code, message or reason)

    async def deny(self, decision: Decision) -> NoReturn:
        await self.refuse(
            grpc.StatusCode.PERMISSION_DENIED, decision.rule, decision.reason,
            f"denied by policy rule {decision.rule}: {decision.reason}",
        )


DEFAULT_CHECKPOINT_EVERY = 10_000
MAX_BATCH = 64


class _ItemRefused(grpc.aio.AbortError):
    """One batched request's refusal: what its own call would have aborted with."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(code, details)
        self.code, self.details = code, details


class _ItemContext:
    """The context a batched request is handled with: its refusal becomes its result."""

    async def abort(self, code: grpc.StatusCode, details: str = "") -> NoReturn:
        raise _ItemRefused(code, details)


class SignerServicer(signer_pb2_grpc.SignerServiceServicer):
    def __init__(self, keystore: Keystore, policies: PolicyStore, audit: AuditLog, audit_path: Path, halts: Halts,
                 ledger: SpendLedger | None = None, checkpoints: Checkpoints | None = None,
                 checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY) -> None:
        """`ledger`: already restored (server.py does, from a checkpoint); without it the
        whole log is replayed here."""
        self._keystore = keystore
        self._policies = policies
        self._audit = audit
        self._halts = halts
        if ledger is None:
            ledger = SpendLedger(horizon_for(policies.longest_window()))  # before replay prunes anything
            replay(ledger, audit_path)
        self._ledger = ledger
        self._checkpoints = checkpoints
        self._checkpoint_every = checkpoint_every
        self._checkpoint_seq = audit.position.seq
        self._checkpointing = False
        self._started_at = time.time()
        self._paper_lock = asyncio.Lock()

    def checkpoint_now(self) -> None:
        """A checkpoint at the log's last line, which must be durable (clean shutdown)."""
        if self._checkpoints is not None:
            self._checkpoints.write(self._ledger, self._audit.position, time.time())

    async def _maybe_checkpoint(self) -> None:
        if self._checkpoints is None or self._checkpointing or self._audit.position.seq - self._checkpoint_seq < self._checkpoint_every:
            return
        self._checkpointing = True
        try:
            position = self._audit.position
            encoded = self._checkpoints.encode(self._ledger, position, time.time())  # this step: exactly the lines so far
            await self._audit.durable({"seq": position.seq})
            await asyncio.to_thread(self._checkpoints.store, position.seq, encoded)
            self._checkpoint_seq = position.seq
        except OSError:  # a checkpoint only saves start-up time: serving goes on without it
            log.exception("could not write a ledger checkpoint")
        finally:
            self._checkpointing = False

    def _decide_and_sign(self, audited: Audited, wallet: str, decide: Callable[[], Decision],
                         sign: Callable[[], tuple[_AnswerT, dict[str, Any]]], at: float,
                         session_id: int) -> tuple[Decision, _AnswerT | None, dict[str, Any] | None]:
        """(decision, answer, audit entry). One synchronous step per wallet, on every path:
        decide; if allowed, reserve what the request commits the wallet to, sign (`sign()`
        returns the answer and the audit line's fields) and write the allow line. The next
        request for this wallet is decided against this reservation. If signing or writing
        fails, the reservation is given back in the same step, so nothing else saw it. Once
        the line is written the reservation stands, even if the answer never leaves (the log
        says allow, and a restart counts it)."""
        with self._ledger.exclusive(wallet):
            decision = decide()
            if not decision.allowed:
                return decision, None, None
            reservation = self._ledger.reserve(wallet, decision.commitments, at, session_id)
            try:
                failpoints.reach("signer.decided")
                answer, fields = sign()
                failpoints.reach("signer.signed")
                # The line's time is the decision's: a replay reserves at the same instant.
                entry = audited.write_allow(decision, time=at, **fields)
            except BaseException:
                self._ledger.release(reservation)
                raise
        return decision, answer, entry

    async def _answer(self, audited: Audited, decision: Decision, answer: _AnswerT | None, entry: dict[str, Any] | None) -> _AnswerT:
        """A refusal (audited, raises), or the answer once its allow line is durable, with the
        log's head after it."""
        if not decision.allowed:
            await audited.deny(decision)
        assert answer is not None and entry is not None  # _decide_and_sign gives both for an allowed decision
        await audited.durable(entry)
        failpoints.reach("signer.audited")
        await self._maybe_checkpoint()
        return with_head(answer, entry)

    async def ListSignerWallets(self, request: signer_pb2.ListSignerWalletsRequest, context: Context
                                ) -> signer_pb2.ListSignerWalletsResponse:
        return signer_pb2.ListSignerWalletsResponse(
            wallets=[
                signer_pb2.SignerWallet(address=address, wallet_type=WALLET_TYPES[wallet_type], paper_of=paper_of)
                for address, wallet_type, paper_of in self._keystore.listed()
            ]
        )

    async def SignEvmTransaction(self, request: signer_pb2.SignEvmTransactionRequest,
                                 context: Context) -> signer_pb2.SignEvmTransactionResponse:
        wallet = request.wallet_address
        audited = Audited(self._audit, context, "sign_evm_transaction", wallet, request)
        try:
            fields = evm.transaction_dict(request.transaction)
        except evm.MalformedTransaction as exc:
            await audited.refuse(grpc.StatusCode.INVALID_ARGUMENT, "malformed-request", str(exc), f"malformed transaction: {exc}")
        if not self._keystore.has(wallet):
            await audited.refuse(grpc.StatusCode.NOT_FOUND, "unknown-wallet", f"this signer holds no key for wallet {wallet!r}")

        tx = EvmTransaction(
            chain_id=fields["chainId"], nonce=fields["nonce"], to=fields["to"], value=fields["value"], data=fields["data"],
            gas=fields["gas"], fee_per_gas=fields.get("maxFeePerGas", fields.get("gasPrice", 0)),
        )
        now, session_id = time.time(), request.context.session_id
        policy = self._policies.get(wallet)

        def sign() -> tuple[signer_pb2.SignEvmTransactionResponse, dict[str, Any]]:
            signed = evm.sign(self._keystore.evm_key(wallet), fields)
            answer = signer_pb2.SignEvmTransactionResponse(raw_transaction=signed.raw, transaction_hash=signed.tx_hash)
            return answer, {"transaction_hash": signed.tx_hash}

        outcome = self._decide_and_sign(
            audited, wallet, lambda: decide_evm_transaction(policy, wallet, tx, self._ledger, now, self._halts.halted, session_id),
            sign, now, session_id)
        return await self._answer(audited, *outcome)

    async def SignEvmTransactions(self, request: signer_pb2.SignEvmTransactionsRequest,
                                  context: Context) -> signer_pb2.SignEvmTransactionsResponse:
        """Each request handled as SignEvmTransaction handles it. They start in order and each
        is decided, reserved, signed and written in its first synchronous step, so the order
        of decisions is the batch's; their lines then share the fsyncs (group commit)."""
        if len(request.requests) > MAX_BATCH:
            # Audited like every refusal, but summarised: the items themselves are not decided,
            # and copying thousands of them into one line would let a caller bloat the log.
            wallets = sorted({item.wallet_address[:64] for item in request.requests})
            reason = f"requests: at most {MAX_BATCH} per call, got {len(request.requests)}; split the batch"
            await self._audit.commit({"action": "sign_evm_transactions", "wallet": wallets[0] if len(wallets) == 1 else "",
                                      "request": {"count": len(request.requests), "wallets": wallets[:8]},
                                      "decision": "deny", "rule": "malformed-request", "reason": reason})
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, reason)
        outcomes = await asyncio.gather(*(self.SignEvmTransaction(item, _ItemContext())  # type: ignore[arg-type]
                                          for item in request.requests), return_exceptions=True)
        results = []
        for outcome in outcomes:
            if isinstance(outcome, _ItemRefused):
                refusal = signer_pb2.SigningRefusal(code=outcome.code.value[0], message=outcome.details)
                results.append(signer_pb2.SignEvmTransactionResult(refused=refusal))
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                results.append(signer_pb2.SignEvmTransactionResult(signed=outcome))
        return signer_pb2.SignEvmTransactionsResponse(results=results)

    async def SignSolanaTransaction(self, request: signer_pb2.SignSolanaTransactionRequest,
                                    context: Context) -> signer_pb2.SignSolanaTransactionResponse:
        wallet = request.wallet_address
        audited = Audited(self._audit, context, "sign_solana_transaction", wallet, request)
        if not solana.is_solana_address(wallet) or not self._keystore.has(wallet):
            await audited.refuse(grpc.StatusCode.NOT_FOUND, "unknown-wallet", f"this signer holds no Solana key for wallet {wallet!r}")
        try:
            tx = solana.parse_transaction(request.transaction)
            index = solana.signer_index(tx, wallet)
            effects = solana.decode(tx, wallet)
        except solana.MalformedSolanaTransaction as exc:
            await audited.refuse(grpc.StatusCode.INVALID_ARGUMENT, "malformed-request", str(exc), f"malformed Solana transaction: {exc}")

        now, session_id = time.time(), request.context.session_id
        policy = self._policies.get(wallet)

        def sign() -> tuple[signer_pb2.SignSolanaTransactionResponse, dict[str, Any]]:
            signed = solana.sign(self._keystore.solana_keypair(wallet), tx, index)
            answer = signer_pb2.SignSolanaTransactionResponse(
                signed_transaction=signed.raw, signature=signed.signature, transaction_id=signed.transaction_id)
            return answer, {"signature": signed.signature}

        outcome = self._decide_and_sign(
            audited, wallet, lambda: decide_solana_transaction(policy, wallet, effects, self._ledger, now, self._halts.halted, session_id),
            sign, now, session_id)
        return await self._answer(audited, *outcome)

    async def SignEvmMessage(self, request: signer_pb2.SignEvmMessageRequest, context: Context) -> signer_pb2.SignEvmMessageResponse:
        wallet = request.wallet_address
        audited = Audited(self._audit, context, "sign_evm_message", wallet, request)
        kind = request.WhichOneof("message")
        typed_data: dict[str, Any] | None = None
        if kind == "eip712":
            try:
                parsed = bounded_json.loads(request.eip712.typed_data_json)
                if not isinstance(parsed, dict):
                    raise ValueError("not a JSON object")
                typed_data = parsed
            except ValueError as exc:
                await audited.refuse(grpc.StatusCode.INVALID_ARGUMENT, "malformed-request",
                                     f"eip712.typed_data_json must be a JSON object: {exc}")
        elif kind != "eip191":
            await audited.refuse(grpc.StatusCode.INVALID_ARGUMENT, "malformed-request", "give eip191 or eip712")
        if not self._keystore.has(wallet) or not wallet.startswith("0x"):
            await audited.refuse(grpc.StatusCode.NOT_FOUND, "unknown-wallet", f"this signer holds no Ethereum key for wallet {wallet!r}")

        now, session_id = time.time(), request.context.session_id
        policy = self._policies.get(wallet)

        def decide() -> Decision:
            if typed_data is None:
                return decide_eip191(policy, request.eip191.message, self._halts.halted)
            return decide_eip712(policy, wallet, typed_data, self._ledger, now, self._halts.halted, session_id)

        def sign() -> tuple[signer_pb2.SignEvmMessageResponse, dict[str, Any]]:
            signed = evm.sign_message(
                self._keystore.evm_key(wallet), eip191=request.eip191.message if kind == "eip191" else None, typed_data=typed_data
            )
            answer = signer_pb2.SignEvmMessageResponse(v=signed.v, r=signed.r, s=signed.s, signature=signed.signature,
                                                       message_hash=signed.message_hash)
            return answer, {"message_hash": signed.message_hash}

        try:
            outcome = self._decide_and_sign(audited, wallet, decide, sign, now, session_id)
        except evm.MalformedTransaction as exc:  # typed data eth-account cannot encode; nothing was signed
            await audited.refuse(grpc.StatusCode.INVALID_ARGUMENT, "malformed-request", str(exc))
        return await self._answer(audited, *outcome)

    async def SignHyperliquidAction(self, request: signer_pb2.SignHyperliquidActionRequest,
                                    context: Context) -> signer_pb2.SignHyperliquidActionResponse:
        wallet = request.wallet_address
        audited = Audited(self._audit, context, "sign_hyperliquid_action", wallet, request)
        if not self._keystore.has(wallet) or not wallet.startswith("0x"):
            await audited.refuse(grpc.StatusCode.NOT_FOUND, "unknown-wallet", f"this signer holds no Ethereum key for wallet {wallet!r}")
        vault = request.vault_address if request.HasField("vault_address") else None
        try:
            action = hyperliquid.parse_action(request.action_json)
            effects = hyperliquid.decode(action)
            if vault is not None and not re.fullmatch(r"0x[0-9a-fA-F]{40}", vault):
                raise hyperliquid.MalformedAction(f"vault_address {vault!r} is not a 0x-prefixed 20-byte address")
            user_signed = hyperliquid.is_user_signed(action)
            if user_signed and action["nonce"] != request.nonce:
                raise hyperliquid.MalformedAction(f"the action's nonce {action['nonce']} is not the request's nonce {request.nonce}")
        except hyperliquid.MalformedAction as exc:
            await audited.refuse(grpc.StatusCode.INVALID_ARGUMENT, "malformed-request", str(exc))
        # A user-signed action names its chain itself; that is what the signature covers.
        mainnet = hyperliquid.user_signed_chain_is_mainnet(action) if user_signed else request.mainnet
        now = time.time()
        policy = self._policies.get(wallet)
        expires = request.expires_after if request.HasField("expires_after") else None

        def sign() -> tuple[signer_pb2.SignHyperliquidActionResponse, dict[str, Any]]:
            signed, digest = hyperliquid.sign(self._keystore.evm_key(wallet), action, vault, request.nonce, expires, request.mainnet)
            answer = signer_pb2.SignHyperliquidActionResponse(r=signed.r, s=signed.s, v=signed.v, action_hash="0x" + digest.hex())
            return answer, {"action_hash": "0x" + digest.hex()}

        outcome = self._decide_and_sign(
            audited, wallet,
            lambda: decide_hyperliquid_action(policy, wallet, effects, mainnet, request.nonce, self._ledger, now, self._halts.halted,
                                              expires_after=None if user_signed else expires),
            sign, now, request.context.session_id)
        return await self._answer(audited, *outcome)

    async def SignPolymarketOrder(self, request: signer_pb2.SignPolymarketOrderRequest,
                                  context: Context) -> signer_pb2.SignPolymarketOrderResponse:
        wallet = request.wallet_address
        audited = Audited(self._audit, context, "sign_polymarket_order", wallet, request)
        if not self._keystore.has(wallet) or not wallet.startswith("0x"):
            await audited.refuse(grpc.StatusCode.NOT_FOUND, "unknown-wallet", f"this signer holds no Ethereum key for wallet {wallet!r}")
        try:
            order = polymarket.parse(request)
        except polymarket.MalformedOrder as exc:
            await audited.refuse(grpc.StatusCode.INVALID_ARGUMENT, "malformed-request", str(exc))
        now = time.time()
        policy = self._policies.get(wallet)

        def sign() -> tuple[signer_pb2.SignPolymarketOrderResponse, dict[str, Any]]:
            signed = polymarket.sign(self._keystore.evm_key(wallet), order)
            answer = signer_pb2.SignPolymarketOrderResponse(signature=signed.signature, order_hash=signed.message_hash)
            return answer, {"order_hash": signed.message_hash}

        outcome = self._decide_and_sign(
            audited, wallet, lambda: decide_polymarket_order(policy, wallet, order, self._ledger, now, self._halts.halted),
            sign, now, request.context.session_id)
        return await self._answer(audited, *outcome)

    async def SignPolymarketAuth(self, request: signer_pb2.SignPolymarketAuthRequest,
                                 context: Context) -> signer_pb2.SignPolymarketAuthResponse:
        wallet = request.wallet_address
        audited = Audited(self._audit, context, "sign_polymarket_auth", wallet, request)
        if not self._keystore.has(wallet) or not wallet.startswith("0x"):
            await audited.refuse(grpc.StatusCode.NOT_FOUND, "unknown-wallet", f"this signer holds no Ethereum key for wallet {wallet!r}")
        decision = decide_polymarket_auth(self._policies.get(wallet), request.chain_id, halted=self._halts.halted)
        if not decision.allowed:
            await audited.deny(decision)
        signed = polymarket.sign_auth(self._keystore.evm_key(wallet), wallet, request.chain_id, request.timestamp, request.nonce)
        entry = await audited.allow(decision, message_hash=signed.message_hash)
        return with_head(signer_pb2.SignPolymarketAuthResponse(signature=signed.signature), entry)

    async def OpenSessionBudget(self, request: signer_pb2.OpenSessionBudgetRequest,
                                context: Context) -> signer_pb2.OpenSessionBudgetResponse:
        wallet = request.wallet_address
        asset = request.asset.lower() if request.asset != "native" else "native"
        audited = Audited(self._audit, context, "open_session_budget", wallet, request)
        if not re.fullmatch(r"[0-9]{1,78}", request.amount) or request.session_id <= 0:
            await audited.refuse(grpc.StatusCode.INVALID_ARGUMENT, "malformed-request",
                                 "amount must be a non-negative integer string and session_id positive")
        if not self._keystore.has(wallet):
            await audited.refuse(grpc.StatusCode.NOT_FOUND, "unknown-wallet", f"this signer holds no key for wallet {wallet!r}")
        policy = self._policies.get(wallet)
        decision = decide_session_budget(policy, request.chain_id, asset, int(request.amount), halted=self._halts.halted)
        if not decision.allowed:
            await audited.deny(decision)
        assert policy is not None and not isinstance(policy, PolicyUnreadable)  # the decision's guard refused both
        opened = any(c.chain_id == request.chain_id and c.asset == asset for c in policy.session_budgets)
        # Written and applied in one step (a checkpoint between them would miss the budget).
        entry = audited.write_allow(decision, opened=opened, asset=asset)
        if opened:
            self._ledger.open_budget(wallet, request.session_id, request.chain_id, asset, int(request.amount))
        await audited.durable(entry)
        return with_head(signer_pb2.OpenSessionBudgetResponse(opened=opened), entry)

    async def HaltSigning(self, request: signer_pb2.HaltSigningRequest, context: Context) -> signer_pb2.HaltSigningResponse:
        self._halts.halt_for_platform(request.reason)
        await Audited(self._audit, context, "halt_signing", "", request).allow(Decision(True, "kill-switch", request.reason or "halted"))
        return signer_pb2.HaltSigningResponse()

    async def ResumeSigning(self, request: signer_pb2.ResumeSigningRequest, context: Context) -> signer_pb2.ResumeSigningResponse:
        self._halts.resume_for_platform()
        owner = self._halts.halted_by_owner
        reason = "the wallet owner's halt still holds" if owner else "signing resumed"
        await Audited(self._audit, context, "resume_signing", "", request).allow(Decision(True, "kill-switch", reason))
        return signer_pb2.ResumeSigningResponse(halted_by_owner=owner)

    async def CreatePaperWallet(self, request: signer_pb2.CreatePaperWalletRequest,
                                context: Context) -> signer_pb2.CreatePaperWalletResponse:
        """A new key for a paper session, with a copy of the source wallet's policy. What it
        gives a caller is a key that holds nothing on any real chain, so the checks are about
        keeping it apart: a readable policy to copy, never a paper wallet's own, a bound on
        how many exist (each is a file), and a line in the audit log."""
        source = request.source_wallet_address
        audited = Audited(self._audit, context, "create_paper_wallet", source, request)
        if not self._keystore.has(source):
            await audited.refuse(grpc.StatusCode.NOT_FOUND, "unknown-wallet", f"this signer holds no key for wallet {source!r}")
        if self._halts.halted:  # a halt stops new keys too: nothing new starts until someone looks
            await audited.refuse(grpc.StatusCode.FAILED_PRECONDITION, "kill-switch", "signing is halted: no paper wallet is made until it resumes")
        async with self._paper_lock:  # the count and the creation in one step: no two calls pass the bound together
            return await self._create_paper_wallet(audited, source)

    async def _create_paper_wallet(self, audited: Audited, source: str) -> signer_pb2.CreatePaperWalletResponse:
        listed = await asyncio.to_thread(self._keystore.listed)
        papers = {address: of for address, _, of in listed if of}
        # The keystore's own spelling (checksummed EVM, exact base58), compared exactly from here.
        source = canonical_address(source)
        wallet_type = next(kind for address, kind, _ in listed if address == source)
        if source in papers:
            await audited.refuse(grpc.StatusCode.FAILED_PRECONDITION, "paper-wallet", f"{source} is itself a paper wallet")
        if len(papers) >= MAX_PAPER_WALLETS:
            await audited.refuse(grpc.StatusCode.RESOURCE_EXHAUSTED, "paper-wallet",
                                 f"this signer holds {len(papers)} paper wallets, its most; stop paper sessions and backtests "
                                 "(a stopped session's paper wallet is removed once its runs have ended)")
        policy = self._policies.get(source)
        if not isinstance(policy, WalletPolicy):
            await audited.refuse(grpc.StatusCode.FAILED_PRECONDITION, "default-deny" if policy is None else "policy-invalid",
                                 f"wallet {source} has no readable policy to copy: a paper session would be refused everything")
        # The standard key derivation cost, as every wallet here: the file is encrypted under
        # the owner's passphrase, which a cheaper file would make cheaper to guess.
        address = await asyncio.to_thread(self._keystore.create_wallet, wallet_type, False, source)
        # The copy starts its nonces at 0: the real wallet's `next_nonces` are the real wallet's.
        self._policies.set(address, policy.model_copy(update={"next_nonces": {}}))
        entry = audited.write_allow(Decision(True, "paper-wallet", f"paper wallet {address} made with a copy of {source}'s policy"),
                                    paper_wallet=address)
        await audited.durable(entry)
        return with_head(signer_pb2.CreatePaperWalletResponse(address=address), entry)

    async def RemovePaperWallet(self, request: signer_pb2.RemovePaperWalletRequest,
                                context: Context) -> signer_pb2.RemovePaperWalletResponse:
        """Deletes a paper wallet whose session has stopped: its key file (its key forgotten)
        and its policy copy. Only a wallet marked as a paper wallet is ever removed; what is
        asked of any other is refused and audited, so a caller can delete nothing of value."""
        wallet = request.wallet_address
        audited = Audited(self._audit, context, "remove_paper_wallet", wallet, request)
        if not self._keystore.has(wallet):
            await audited.refuse(grpc.StatusCode.NOT_FOUND, "unknown-wallet", f"this signer holds no key for wallet {wallet!r}")
        async with self._paper_lock:
            wallet = canonical_address(wallet)
            if wallet not in await asyncio.to_thread(self._keystore.paper_of):
                await audited.refuse(grpc.StatusCode.FAILED_PRECONDITION, "paper-wallet", f"{wallet} is not a paper wallet: it is not removed")
            await asyncio.to_thread(self._keystore.remove_paper_wallet, wallet)
            self._policies.remove(wallet)
        entry = audited.write_allow(Decision(True, "paper-wallet", f"paper wallet {wallet} removed"), paper_wallet=wallet)
        await audited.durable(entry)
        return with_head(signer_pb2.RemovePaperWalletResponse(), entry)

    async def GetDecisionCounts(self, request: signer_pb2.GetDecisionCountsRequest,
                                context: Context) -> signer_pb2.GetDecisionCountsResponse:
        """Counts of the decision lines this process wrote; no wallet, request or key."""
        counts = [signer_pb2.DecisionCount(action=action, decision=decision, rule=rule, count=count)
                  for (action, decision, rule), count in sorted(self._audit.decisions.items())]
        return signer_pb2.GetDecisionCountsResponse(counts=counts, started_at=self._started_at)


def with_head(answer: _AnswerT, entry: dict[str, Any]) -> _AnswerT:
    """`answer` carrying the audit log's head after `entry`, for the orchestrator to record."""
    answer.audit_head.seq, answer.audit_head.mac = entry["seq"], entry["mac"]
    return answer


def audits_failures(method: Callable[[SignerServicer, Any, Context], Awaitable[Any]]
                    ) -> Callable[[SignerServicer, Any, Context], Awaitable[Any]]:
    """A request that ends in an unexpected error is audited as undecided, then refused as
    INTERNAL: every request ends in one line, whatever went wrong."""

    async def wrapper(self: SignerServicer, request: Message, context: Context) -> Any:
        try:
            return await method(self, request, context)
        except (grpc.aio.AbortError, asyncio.CancelledError):
            raise
        except Exception as exc:  # noqa: BLE001 - any failure, audited then answered
            log.exception("%s failed", method.__name__)
            self._audit.append({"action": method.__name__, "decision": "error", "rule": "internal-error",
                                "reason": str(exc)[:300], "request": bounded(MessageToDict(request, preserving_proto_field_name=True))})
            await context.abort(grpc.StatusCode.INTERNAL, f"the signer could not decide this request ({str(exc)[:200]}); it is audited as undecided")

    wrapper.__name__, wrapper.__doc__ = method.__name__, method.__doc__
    return wrapper


for _name in ("SignEvmTransaction", "SignEvmTransactions", "SignSolanaTransaction", "SignEvmMessage", "SignHyperliquidAction", "SignPolymarketOrder",
              "SignPolymarketAuth", "OpenSessionBudget", "HaltSigning", "ResumeSigning", "CreatePaperWallet", "RemovePaperWallet"):
    setattr(SignerServicer, _name, audits_failures(getattr(SignerServicer, _name)))

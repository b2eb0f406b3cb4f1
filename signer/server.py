"""The signer process: no network, one public Unix socket that checks its peers, and the
gRPC server behind it on a socket only the signer's user can reach."""

from __future__ import annotations

import asyncio
import ctypes
import fcntl
import json
import logging
import os
import pwd
import resource
import signal
import time

import grpc
from eth_abi.abi import encode
from eth_account import Account
from eth_keys.datatypes import PrivateKey
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from corral import bounded_json
from corral.v1 import signer_pb2_grpc
from signer import evm, hyperliquid, polymarket, solana
from signer.audit import START, STOP, AuditLog, Position, audit_key, verify
from signer.checkpoint import Checkpoints, replay
from signer.config import SignerPaths
from signer.halt import Halts
from signer.keystore import Keystore
from signer.no_network import forbid_network
from signer.peer import PeerCheckingProxy
from signer.policy import EvmTransaction, PolicyStore, SolanaPolicy, SpendLedger, WalletPolicy, decide_eip712, decide_evm_transaction
from signer.policy.ledger import horizon_for
from signer.policy.messages import PERMIT_SCHEMAS
from signer.policy.presets import UNISWAP_V2_ROUTER_FUNCTIONS
from signer.privileges import drop_to
from signer.service import SignerServicer

log = logging.getLogger("corral.signer")


async def serve(
    paths: SignerPaths, passphrase: str, allowed_uids: set[int] | None = None, run_as: pwd.struct_passwd | None = None
) -> None:
    forbid_network()
    keep_memory_private()
    if run_as is not None:
        await load_every_code_path()
        drop_to(run_as)
        keep_memory_private()  # changing uid resets the flag to the system default
    paths.ensure()
    home_lock = hold_home_lock(paths)
    allowed_uids = allowed_uids or {os.geteuid()}
    policies, halts = PolicyStore(paths.policy_dir), Halts(paths)
    checkpoints = Checkpoints(paths.checkpoint_dir, audit_key(passphrase))
    audit, ledger, prefix_unverified = open_verified_audit_log(paths, passphrase, checkpoints, horizon_for(policies.longest_window()))
    keystore = Keystore(paths.keystore_dir, passphrase)
    servicer = SignerServicer(keystore, policies, audit, paths.audit_log, halts, ledger, checkpoints)
    server = grpc.aio.server()
    signer_pb2_grpc.add_SignerServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]  # generated code, unannotated

    internal_dir = paths.home / "internal"
    internal_dir.mkdir(mode=0o700, exist_ok=True)
    internal_dir.chmod(0o700)
    internal = internal_dir / "grpc.sock"
    internal.unlink(missing_ok=True)
    server.add_insecure_port(f"unix:{internal}")
    await server.start()

    def refused(pid: int, uid: int, gid: int) -> None:
        audit.append({
            "action": "connect", "decision": "deny", "rule": "peer-uid",
            "reason": f"uid {uid} is not allowed to use the signer (allowed: {sorted(allowed_uids)})",
            "peer": {"pid": pid, "uid": uid, "gid": gid},
        })

    proxy = PeerCheckingProxy(paths.socket_path, internal, allowed_uids, refused)
    await proxy.start()
    log.info("signer listening on unix:%s for uids %s", paths.socket_path, sorted(allowed_uids))
    print(f"signer listening on unix:{paths.socket_path}", flush=True)
    prefix_check = None
    if prefix_unverified is not None:
        prefix_check = asyncio.create_task(verify_prefix_or_halt(paths, passphrase, prefix_unverified, audit, halts))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await proxy.close()
    await server.stop(grace=1)
    keystore.lock()
    if prefix_check is not None:
        prefix_check.cancel()
    audit.append({"action": STOP})
    try:
        servicer.checkpoint_now()  # the next start replays nothing
    except OSError:
        log.exception("could not write the ledger checkpoint at shutdown")
    audit.close()
    os.close(home_lock)


def open_verified_audit_log(paths: SignerPaths, passphrase: str, checkpoints: Checkpoints, horizon: float
                            ) -> tuple[AuditLog, SpendLedger, Position | None]:
    """The audit log and the spend ledger rebuilt from it, verified before anything is
    served: spend caps are rebuilt from it, so a log that was edited, cut or re-chained must
    not be trusted. With a usable checkpoint (signer/checkpoint.py) only the lines after its
    line are verified and replayed here, chained from that line's MAC; the lines up to it
    (returned as the third value) are verified once serving has begun (`verify_prefix_or_halt`):
    the ledger does not depend on them. Notes in a start line whether the previous run
    ended cleanly."""
    key = audit_key(passphrase)
    restored = checkpoints.newest_usable(paths.audit_log, horizon)
    result = verify(paths.audit_log, key, after=restored[1] if restored is not None else None)
    if not result.ok:
        raise SystemExit(f"the audit log {paths.audit_log} is broken at line {result.bad_line}: {result.problem} (or the passphrase "
                         "is not the one it was written with). The signer does not serve on a log it cannot trust: its spend caps "
                         "are rebuilt from it. `corral signer audit verify` shows the same.")
    if restored is None:
        log.info("no usable ledger checkpoint: replaying the whole audit log")
        ledger, after = SpendLedger(horizon), None
    else:
        ledger, after = restored
    replayed = replay(ledger, paths.audit_log, after)
    log.info("spend ledger rebuilt: %d audit lines replayed", replayed)
    audit = AuditLog(paths.audit_log, key)
    previous = "clean" if audit.ended_cleanly else "unclean: requests in flight when it stopped were never decided"
    audit.append({"action": START, "previous_stop": previous})
    return audit, ledger, after


async def verify_prefix_or_halt(paths: SignerPaths, passphrase: str, upto: Position, audit: AuditLog, halts: Halts) -> None:
    """The lines a checkpoint covered, verified in the background: the ledger was not built
    from them, but the log is evidence, and one that was edited stops signing (the owner's
    halt, which only the owner lifts) as a log broken at start-up would."""
    result = await asyncio.to_thread(verify, paths.audit_log, audit_key(passphrase), (upto.seq, upto.mac), None, upto.seq)
    if result.ok:
        log.info("audit log verified up to the checkpoint's line %d", upto.seq)
        return
    reason = (f"the audit log is broken at line {result.bad_line}: {result.problem}. Signing is halted until the owner has looked "
              "(`corral signer audit verify`, then `corral signer resume`).")
    log.error(reason)
    halts.halt_for_owner(reason)
    audit.append({"action": "audit_verify", "decision": "deny", "rule": "audit-broken", "reason": reason[:300]})


def hold_home_lock(paths: SignerPaths) -> int:
    """One signer per home: a second one would keep a spend ledger of its own, and every cap
    would hold per process instead of per wallet. The lock goes with the process."""
    fd = os.open(paths.home / "signer.lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise SystemExit(f"another signer is serving {paths.home}; one signer per home (its spend ledger is the caps' bound)") from None
    return fd


async def load_every_code_path() -> None:
    """Runs each signing path once with a throwaway key, so every module it imports is
    loaded while the interpreter's own files are still readable: after dropping root
    they may not be (an interpreter installed under /root, for instance)."""
    throwaway = PrivateKey(os.urandom(32))
    Account.decrypt(Account.encrypt(throwaway.to_bytes(), "warm-up", iterations=2), "warm-up")
    for fees in ({"maxFeePerGas": 2, "maxPriorityFeePerGas": 1}, {"gasPrice": 1}):
        evm.sign(throwaway, {"chainId": 1, "nonce": 0, "to": "0x" + "00" * 20, "value": 0, "data": b"", "gas": 21000, **fees})
    evm.sign_message(throwaway, eip191=b"warm-up")
    evm.sign_message(throwaway, typed_data={
        "types": {"EIP712Domain": [{"name": "name", "type": "string"}], "Mail": [{"name": "body", "type": "string"}]},
        "primaryType": "Mail", "domain": {"name": "warm-up"}, "message": {"body": "x"},
    })
    keypair = Keypair()
    message = Message.new_with_blockhash(
        [transfer(TransferParams(from_pubkey=keypair.pubkey(), to_pubkey=keypair.pubkey(), lamports=1))], keypair.pubkey(), Hash.default()
    )
    tx = solana.parse_transaction(bytes(VersionedTransaction.populate(message, [Signature.default()])))
    solana.decode(tx, str(keypair.pubkey()))
    order = {"type": "order", "orders": [{"a": 0, "b": True, "p": "1", "s": "1", "r": False, "t": {"limit": {"tif": "Gtc"}}}], "grouping": "na"}
    hyperliquid.decode(hyperliquid.parse_action(json.dumps(order)))
    hyperliquid.sign(throwaway, order, None, 0, None, True)
    polymarket.sign(throwaway, polymarket.PolymarketOrder(137, "0x" + "00" * 20, {
        "salt": 1, "maker": "0x" + "00" * 20, "signer": "0x" + "00" * 20, "taker": "0x" + "00" * 20, "tokenId": 1, "makerAmount": 1,
        "takerAmount": 1, "expiration": 0, "nonce": 0, "feeRateBps": 0, "side": 0, "signatureType": 0}))
    solana.sign(keypair, tx, 0)
    WalletPolicy.model_validate_json(WalletPolicy(solana=SolanaPolicy()).model_dump_json())
    warm_up_policy_decisions()
    await asyncio.to_thread(lambda: None)  # the default executor (the audit log's fsyncs)


def warm_up_policy_decisions() -> None:
    """The policy paths that decode: argument rules (eth-abi), typed data, Solana accounts."""
    wallet, router = "0x" + "11" * 20, "0x" + "22" * 20
    policy = WalletPolicy.model_validate({
        "allowed_chain_ids": [1], "contracts": [{"address": router, "preset": "uniswap-v2-router"}],
        "eip712": [{"chain_id": 1, "verifying_contract": router, "primary_types": ["Permit"],
                    "permit": {"spenders": [wallet], "max_amount": "1"}}],
    })
    swap = UNISWAP_V2_ROUTER_FUNCTIONS[0]
    data = bytes.fromhex(swap.selector[2:]) + encode([p.type for p in swap.parameters], [1, 1, [router, wallet], wallet, 0])
    transaction = EvmTransaction(chain_id=1, nonce=0, to=router, value=0, data=data, gas=21_000, fee_per_gas=1)
    decide_evm_transaction(policy, wallet, transaction, SpendLedger(), time.time())
    permit = {"types": {"Permit": [{"name": n, "type": t} for n, t in PERMIT_SCHEMAS["Permit"]["Permit"]]}, "primaryType": "Permit",
              "domain": {"chainId": 1, "verifyingContract": router},
              "message": {"owner": wallet, "spender": wallet, "value": 1, "nonce": 0, "deadline": 0}}
    decide_eip712(policy, wallet, permit, SpendLedger(), time.time())
    bounded_json.loads(json.dumps(permit))


def keep_memory_private() -> None:
    """No core file, and no ptrace or /proc/<pid>/mem by other processes of the same uid:
    decrypted keys live in this process's memory."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    PR_SET_DUMPABLE = 4
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)

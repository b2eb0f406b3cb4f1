"""The signer process: no network, one public Unix socket that checks its peers, and the
gRPC server behind it on a socket only the signer's user can reach."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import grpc

from corral.v1 import signer_pb2_grpc
from signer.audit import AuditLog
from signer.config import SignerPaths
from signer.keystore import Keystore
from signer.no_network import forbid_network
from signer.peer import PeerCheckingProxy
from signer.policy import PolicyStore
from signer.service import SignerServicer

log = logging.getLogger("corral.signer")


async def serve(paths: SignerPaths, passphrase: str, allowed_uids: set[int] | None = None) -> None:
    forbid_network()
    paths.ensure()
    allowed_uids = allowed_uids or {os.geteuid()}
    audit = AuditLog(paths.audit_log)
    servicer = SignerServicer(
        Keystore(paths.keystore_dir, passphrase), PolicyStore(paths.policy_dir), audit, paths.audit_log, paths.halt_file
    )
    server = grpc.aio.server()
    signer_pb2_grpc.add_SignerServiceServicer_to_server(servicer, server)

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

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await proxy.close()
    await server.stop(grace=1)

"""The signer process: a gRPC server on a Unix socket, mode 0600, and nothing else."""

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
from signer.policy import PolicyStore
from signer.service import SignerServicer

log = logging.getLogger("corral.signer")


async def serve(paths: SignerPaths, passphrase: str) -> None:
    paths.ensure()
    servicer = SignerServicer(
        Keystore(paths.keystore_dir, passphrase), PolicyStore(paths.policy_dir), AuditLog(paths.audit_log), paths.audit_log, paths.halt_file
    )
    server = grpc.aio.server()
    signer_pb2_grpc.add_SignerServiceServicer_to_server(servicer, server)

    socket_path = paths.socket_path
    if socket_path.exists() or socket_path.is_symlink():
        socket_path.unlink()
    # The socket is created by bind(); a restrictive umask makes it 0600 from birth,
    # so there is no window in which another user could connect.
    old_umask = os.umask(0o177)
    try:
        server.add_insecure_port(f"unix:{socket_path}")
        await server.start()
    finally:
        os.umask(old_umask)
    os.chmod(socket_path, 0o600)
    log.info("signer listening on unix:%s", socket_path)
    print(f"signer listening on unix:{socket_path}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(grace=1)

"""One execution's runtime API served by a process of its own, as the orchestrator serves it
(`start_runtime_server` on a Unix socket, over the orchestrator's database), until the process
is killed: for tests that kill it.

    python -m tests.standins.runtime_process DATABASE_URL SOCKET_PATH SESSION_ID   (token: $CORRAL_TOKEN)

Prints "serving" once the socket answers.
"""

from __future__ import annotations

import asyncio
import os
import sys

from orchestrator.executions.runtime_service import ExecutionTicket, start_runtime_server
from orchestrator.store import Database, SessionRow


async def serve(url: str, socket_path: str, session_id: int, token: str) -> None:
    db = Database(url)
    with db.session() as s:
        session = s.get(SessionRow, session_id)
        if session is None:
            raise SystemExit(f"no session {session_id} in the database")
    ticket = ExecutionTicket(execution_id=session_id, session=session, command=1, token=token, settings={}, positions_snapshot=[])
    server = await start_runtime_server(socket_path, ticket, db, gateway=None)
    print("serving", flush=True)
    await server.wait_for_termination()  # until killed


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2], int(sys.argv[3]), os.environ["CORRAL_TOKEN"]))

"""What an execution's sandbox is told about its run: the GetExecutionContextResponse, built
once from the execution's ticket. The runtime API's GetExecutionContext answers with it, and a
pre-started sandbox is handed it, serialized, with the doorbell's ring (runner.py), so that it
enters `run()` without that round trip."""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

from google.protobuf.struct_pb2 import Struct

from corral.v1 import common_pb2, runtime_pb2
from orchestrator.store.statuses import ExecutionMode

if TYPE_CHECKING:
    from orchestrator.executions.runtime_service import ExecutionTicket


def execution_context(ticket: ExecutionTicket) -> runtime_pb2.GetExecutionContextResponse:
    session = ticket.session
    mode = common_pb2.EXECUTION_MODE_MANUAL if session.execution_mode == ExecutionMode.MANUAL else common_pb2.EXECUTION_MODE_AUTO
    settings = Struct()
    settings.update(ticket.settings)
    context = runtime_pb2.GetExecutionContextResponse(
        session_id=session.id,
        session_wallet_address=session.wallet_address,
        execution_mode=mode,
        command=ticket.command,
        settings=settings,
        current_positions=ticket.positions_snapshot,
        unwind_positions=ticket.unwind_positions,
        execution_id=ticket.execution_id,
        environment={name: str(value) for name, value in (session.environment or {}).items()},
    )
    if ticket.agent_clock is not None:
        context.agent_clock.FromDatetime(ticket.agent_clock.replace(tzinfo=UTC))
    return context

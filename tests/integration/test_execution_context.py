"""A pre-started sandbox is handed its execution's context with the doorbell's ring, built by
`execution_context`; a cold one asks GetExecutionContext. Both say the same."""

from __future__ import annotations

from datetime import datetime

from corral.v1 import common_pb2, runtime_pb2
from orchestrator.executions.execution_context import execution_context
from orchestrator.executions.runtime_service import ExecutionTicket
from orchestrator.store import AgentRow, Database, SessionRow
from tests.helpers import with_runtime

TOKEN = "t" * 43


def test_the_context_handed_over_with_the_ring_is_what_get_execution_context_answers(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'o.db'}")
    agent = AgentRow(id=1, name="a", version="0.0.1", image="i", image_id="i", wallet_type="ethereum", manifest_toml="")
    session = SessionRow(id=3, agent_id=1, wallet_address="0x" + "22" * 20, execution_mode="manual", settings={},
                         environment={"SESSION_SETTING": "on", "LEVEL": 2},
                         allocation_network="ethereum:31337", allocation_asset="0x" + "ee" * 20, allocation_amount="0")
    session.agent = agent
    position = common_pb2.Position(network="ethereum:1", asset_address="0x" + "e" * 40, avg_unit_cost="2", current_qty="5")
    ticket = ExecutionTicket(execution_id=9, session=session, command=common_pb2.EXECUTION_COMMAND_UNWIND, token=TOKEN,
                             settings={"count": 3, "ratio": 0.25, "nested": {"a": [1, "b"]}}, positions_snapshot=[position],
                             unwind_positions=[position], agent_clock=datetime(2019, 5, 4, 3, 2, 1))

    async def ask(runtime) -> runtime_pb2.GetExecutionContextResponse:
        return await runtime.GetExecutionContext(runtime_pb2.GetExecutionContextRequest())

    asked = with_runtime(tmp_path / "r.sock", ticket, db, ask)
    handed = runtime_pb2.GetExecutionContextResponse.FromString(execution_context(ticket).SerializeToString())
    assert handed == asked
    assert handed.execution_mode == common_pb2.EXECUTION_MODE_MANUAL and dict(handed.environment) == {"SESSION_SETTING": "on", "LEVEL": "2"}
    # A backtest's run: its agent's clock reads the block's time (UTC).
    assert handed.agent_clock.ToJsonString() == "2019-05-04T03:02:01Z"

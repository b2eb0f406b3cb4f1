"""UpdateSession's request as the change it asks for: the update mask's paths, each one a
field of the session that may change while it keeps its memory (AIP-134: a path in the mask
with the field unset resets it to what StartSession would have used)."""

from __future__ import annotations

from collections.abc import Mapping

from corral.v1 import orchestrator_pb2
from orchestrator.actions.breakers import settings_from_request
from orchestrator.errors import invalid
from orchestrator.sessions.lifecycle import SessionChanges

UPDATABLE_PATHS = ("settings", "breakers", "execution_mode", "record_executions", "shadow_agent_id")


def requested_changes(request: orchestrator_pb2.UpdateSessionRequest, mode_names: Mapping[int, str]) -> SessionChanges:
    """`mode_names`: the store's mode by the wire's number. INVALID_ARGUMENT naming update_mask when it is empty or names a path that cannot change."""
    paths = list(request.update_mask.paths)
    if not paths:
        raise invalid(f"update_mask names no field; give one or more of {', '.join(UPDATABLE_PATHS)}", field="update_mask")
    for path in paths:
        if path not in UPDATABLE_PATHS:
            raise invalid(f"update_mask path {path[:64]!r} cannot be updated; give one or more of {', '.join(UPDATABLE_PATHS)} "
                          "(to change anything else, stop the session and start another)", field="update_mask")
    session = request.session
    return SessionChanges(
        mode=mode_names.get(session.execution_mode, "") if "execution_mode" in paths else None,
        settings=dict(session.settings) if "settings" in paths else None,
        breakers=settings_from_request(session.breakers, path="session.breakers") if "breakers" in paths else None,
        record_executions=session.record_executions if "record_executions" in paths else None,
        shadow_agent_id=session.shadow_agent_id if "shadow_agent_id" in paths else None,
    )

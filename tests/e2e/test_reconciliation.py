"""Reconciliation against the chain: when a wallet holds less than its sessions are owed
(funds left it some other way: here anvil_setBalance), a drift event is announced and the
wallet's running sessions are paused; a session on another wallet runs on."""

from __future__ import annotations

import pytest

from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from tests.conftest import REPO_ROOT
from tests.helpers import finished, start_session, wait_for

LIFECYCLE = REPO_ROOT / "tests" / "agents" / "lifecycle"
ALLOCATION = 10**17


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    settings = {"interval_seconds": 0.5, "pause_above_fraction": 0.01}
    with DevStack(tmp_path_factory.mktemp("reconcile"), minute_seconds=1.0, reconciliation=settings) as stack:
        yield stack


def status(stack, session_id: int) -> int:
    return stack.api.GetSession(pb.GetSessionRequest(session_id=session_id)).session.status


def test_a_shortfall_pauses_the_wallets_sessions_and_is_announced(stack, agent_image):
    image = agent_image(LIFECYCLE)
    drained, healthy = stack.create_wallets(2)
    for wallet in (drained, healthy):
        stack.fund(wallet, 10**18)
    _, victim = start_session(stack, image, drained, allocation=str(ALLOCATION))
    _, bystander = start_session(stack, image, healthy, allocation=str(ALLOCATION))
    wait_for(lambda: finished(stack, victim.id) and finished(stack, bystander.id), what="a run of each")
    events = stack.api.WatchEvents(pb.WatchEventsRequest(session_id=victim.id), timeout=120)
    # Half the allocation leaves the wallet outside the platform.
    stack.web3.provider.make_request("anvil_setBalance", [drained, hex(ALLOCATION // 2)])

    drift = next(e for e in events if e.kind == pb.EVENT_KIND_DRIFT)
    events.cancel()
    assert drift.drift.wallet_address == drained.lower() and drift.drift.network == "ethereum:31337"
    assert int(drift.drift.on_chain) == ALLOCATION // 2 and int(drift.drift.expected) <= ALLOCATION
    assert drift.drift.paused_sessions
    wait_for(lambda: status(stack, victim.id) == pb.SESSION_STATUS_PAUSED, what="the drained wallet's session to pause")
    assert status(stack, bystander.id) == pb.SESSION_STATUS_RUNNING
    runs = len(finished(stack, bystander.id))
    wait_for(lambda: len(finished(stack, bystander.id)) > runs, what="the other wallet's session to run on")

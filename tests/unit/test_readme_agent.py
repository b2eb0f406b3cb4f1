"""The agent the README shows runs as written: unit-tested the way docs/agents.md tells authors
to, with `sdk.testing` and no platform."""

from __future__ import annotations

import re
from pathlib import Path

from corral.v1 import runtime_pb2
from sdk.testing import MockRuntime, mock_context

README = Path(__file__).resolve().parents[2] / "README.md"
RECIPIENT = "0x000000000000000000000000000000000000dEaD"


def readme_agent() -> dict:
    source = re.search(r"```python\n(# main\.py.*?)```", README.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(compile(source, "README.md", "exec"), namespace)  # our own README's snippet
    return namespace


def test_the_readme_agent_counts_its_runs_and_sends_its_tip():
    import tests.unit.test_sdk_fakes  # noqa: F401  (puts sdk/compat, where agent_sdk lives, on the path)

    agent = readme_agent()
    runtime = MockRuntime(SignAndSend=runtime_pb2.SignAndSendResponse(tx_hash="0xabc", internal_transaction_id=1))
    for _ in range(2):
        agent["run"](mock_context(runtime, settings={"recipient": RECIPIENT}))
    assert runtime.memory == {"runs": "2"}
    assert runtime.logs == ["run 1 for session 7", "tip sent: 0xabc", "run 2 for session 7", "tip sent: 0xabc"]
    [first, _] = runtime.requests("SignAndSend")
    assert (first.network, first.evm.to_address, first.evm.value) == ("ethereum:1", RECIPIENT, "1000")

    runtime.responses["SignAndSend"] = runtime_pb2.SignAndSendResponse()
    agent["unwind"](mock_context(runtime), [])
    assert runtime.logs[-1] == "0 positions: nothing to close"

"""Times each kind of SDK call from inside the sandbox and logs `name p50_ms` per kind."""

import time

from corral.v1 import runtime_pb2
from sdk.transport import RuntimeTransport

CALLS = 200


def median_ms(call):
    times = []
    for _ in range(CALLS):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2] * 1000


def run(agent):
    transport = RuntimeTransport()  # the same socket and token the SDK uses, without its envelope
    agent.memory.set("k", "v" * 100)
    timings = {
        "context": median_ms(lambda: transport.call("GetExecutionContext", runtime_pb2.GetExecutionContextRequest())),
        "memory.get": median_ms(lambda: agent.memory.get("k")),
        "memory.set": median_ms(lambda: agent.memory.set("k", "v" * 100)),
        "positions": median_ms(lambda: agent.get_current_positions()),
    }
    agent.log(" ".join(f"{name}={ms:.3f}" for name, ms in timings.items()))

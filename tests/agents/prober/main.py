"""Hostile test agent: every probe logs `probe <name>: blocked (<why>)` or `probe <name>: OPEN`."""

import os
import socket

import grpc

from corral.v1 import runtime_pb2, runtime_pb2_grpc


def attempt(agent, name, action):
    try:
        action()
    except Exception as exc:  # any failure means the way out is closed
        agent.log(f"probe {name}: blocked ({type(exc).__name__}: {exc})"[:240])
    else:
        agent.log(f"probe {name}: OPEN")


def tcp(host, port):
    def go():
        with socket.create_connection((host, port), timeout=3):
            pass
    return go


def dns():
    socket.getaddrinfo("example.com", 443)


def forged_token():
    channel = grpc.insecure_channel(f"unix:{os.environ['CORRAL_SOCKET']}")
    stub = runtime_pb2_grpc.AgentRuntimeStub(channel)
    stub.SetMemory(
        runtime_pb2.SetMemoryRequest(key="forged", value="x"),
        metadata=(("authorization", "Bearer " + "A" * 43),),
        timeout=5,
    )


def run(agent):
    interfaces = sorted(line.split(":")[0].strip() for line in open("/proc/net/dev").readlines()[2:])
    agent.log(f"interfaces: {','.join(interfaces)}")
    attempt(agent, "tcp-public", tcp("1.1.1.1", 53))
    attempt(agent, "dns", dns)
    for setting in ("orchestrator_port", "anvil_port"):
        port = int(agent.settings.get(setting) or 0)
        if port:
            attempt(agent, f"tcp-host-{setting}", tcp("127.0.0.1", port))
    attempt(agent, "forged-token", forged_token)
    agent.log(f"forged memory visible: {agent.memory.get('forged').data.value is not None}")

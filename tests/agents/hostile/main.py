"""Tries every agent-made string a console shows: log lines, a suggestion's message."""

from agent_sdk import AgentContext

HOSTILE = [
    "<script>window.__pwned = 'script'</script>",
    '<img src=x onerror="window.__pwned = \'img\'">',
    "javascript:window.__pwned='link'",
    "pay \u202etxt.exe\u202c to the \u2066reviewer\u2069",
    "\x1b[31mred\x1b[0m \x1b]8;;https://evil.example\x07click\x1b]8;;\x07",
]


def run(agent: AgentContext) -> None:
    for line in HOSTILE:
        agent.log(line)
    agent.sign_and_send({
        "network": "ethereum:31337",
        "message": " | ".join(HOSTILE),
        "request": {"to_address": agent.settings["recipient"], "data": "0x", "value": "1000"},
    })

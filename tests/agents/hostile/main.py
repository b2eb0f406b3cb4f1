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
    # An ERC-20 transfer with four bytes appended after its arguments: the preview decodes it
    # and says the bytes are there.
    recipient = agent.settings["recipient"].lower().removeprefix("0x").rjust(64, "0")
    agent.sign_and_send({
        "network": "ethereum:31337",
        "message": "just a transfer",
        "request": {"to_address": agent.settings["recipient"], "value": "0",
                    "data": "0xa9059cbb" + recipient + f"{5:064x}" + "deadbeef"},
    })

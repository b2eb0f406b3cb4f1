"""The egress path: the only way an agent's traffic leaves a sandbox.

- `proxy`      one asyncio proxy per execution, on a Unix socket in the sandbox's socket
               directory: CONNECT (and plain HTTP where declared) to declared hosts only
- `sni`        reads the server name out of a TLS ClientHello, so a tunnel opened for one
               host cannot be used to talk TLS to another
- `addresses`  resolves names itself and refuses addresses an agent must never reach
               (loopback, private, link-local, metadata, multicast)

It knows nothing of sessions, tokens or the signer: the runner hands it the execution's
rules and limits and stores what it records.
"""

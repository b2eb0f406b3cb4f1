"""The orchestrator: sessions, scheduling, the database, memory, transactions and the
frontend API. It holds no keys: every signature is asked of the signer.

Its sub-packages stack; each imports only those below it (an import contract checks):

- `app`         the composition root: wires everything into one process (`server`)
- `api`         the OrchestratorService frontend API
- `sessions`    a session's life (`lifecycle`), the `scheduler`, the kill switch, replicas,
                recovery after a crash, reconciliation against the chain
- `executions`  one execution (`runner`), the runtime API its sandbox calls, the warm pool,
                schedules, agent memory
- `actions`     what an agent asks for that moves value or signs: transactions, swaps, venue
                orders, messages, manual mode (`suggestions`), breakers, positions, the
                signer's client
- `agents`      registered agents: `registry`, `manifest` (circuit.toml), `settings`, `images`
- `chains`      chain access (EVM JSON-RPC with web3.py, Solana JSON-RPC with solana-py)
- `store`       SQLAlchemy models and the database, events, audit heads

Beside them, imported by all and importing none: `config` (settings from a TOML file),
`errors` (refusals with a gRPC status and a fix) and `wire_errors`.
"""

"""The orchestrator: sessions, scheduling, the database, memory, transactions and the
frontend API. It holds no keys: every signature is asked of the signer.

- `config`          settings (pydantic), from a TOML file
- `manifest`        circuit.toml parsing and validation
- `store`           SQLAlchemy models and database set-up
- `agents`          registering agent images
- `sessions`        starting and stopping sessions
- `scheduler`       finding due sessions and dispatching executions
- `executions`      one execution: socket, runtime server, sandbox, outcome
- `runtime_service` the AgentRuntime API an execution's sandbox calls
- `transactions`    the sign-and-send paths, EVM and Solana (validate, fill, sign, broadcast, confirm)
- `chains`          chain access (EVM JSON-RPC with web3.py, Solana JSON-RPC with solana-py)
- `positions`       a session's positions from its allocation and its transactions
- `recovery`        at start-up, closing or finishing what a previous process left half-done
- `kill_switch`     the platform-wide halt (`corral halt` / `corral resume`)
- `breakers`        per-session circuit breakers (transactions per hour, loss in a window)
- `signer_client`   the client side of the signer socket
- `api`             the OrchestratorService frontend API
- `server`          wiring it all into one process
"""

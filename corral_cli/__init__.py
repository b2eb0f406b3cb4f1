"""The `corral` command: one entry point that dispatches to each side.

- `main`      argument parsing; `serve`, `signer`, `launcher`, `build`, `new`, `demo`, `dev`
              and the client commands
- `client`    the client commands (sessions, executions, suggestions, halt) over the API
- `scaffold`  `corral new`: a new agent directory
- `demo`      `corral demo`: the platform with the example agent on the dev stack
- `dev_run`   `corral dev run`: one agent on a throwaway local chain

Each side is imported only by the command that needs it, so `corral signer` loads no
orchestrator code and `corral serve` no signer code.
"""

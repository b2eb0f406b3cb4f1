"""The development harness: what tests, benchmarks, `corral demo` and `corral dev run` use
to stand up a whole platform on one machine. No platform package imports it (an import
contract checks).

- `devstack`         signer, launcher and orchestrator as separate processes, as deployed
- `devpostgres`      a private PostgreSQL cluster (primary and replicas) per test
- `solana_devchain`  a local Solana JSON-RPC node on LiteSVM
- `contracts`        the test ERC-20 and the contracts the attack tests deploy
- `protogen`         regenerates `corral/v1` from `protos/`
"""

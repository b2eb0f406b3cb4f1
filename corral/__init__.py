"""Corral: distribution-level glue.

`corral.v1` holds the Python code generated from `protos/corral/v1/*.proto`
(regenerate with `python -m corral.protogen`); `corral.cli` is the `corral`
command, which dispatches to the orchestrator, signer and sandbox packages.
"""

"""The composition root: `server.serve` builds every piece from the config and runs them
in one process. Nothing imports it but the `corral serve` command."""

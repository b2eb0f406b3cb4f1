"""Chain access. The orchestrator reads state and broadcasts; it never signs."""

"""The frontend API (`service`: OrchestratorService over gRPC), converting between the wire
and the layers below; every refusal becomes a status whose message says what to fix."""

from sdk.context import AgentContext
from sdk.envelopes import CurrentPosition

__all__ = ["AgentContext", "CurrentPosition"]

from sdk.context import AgentContext
from sdk.envelopes import CurrentPosition, EnrichedPosition, SessionBalance, SessionPortfolio, SessionPosition

__all__ = ["AgentContext", "CurrentPosition", "EnrichedPosition", "SessionBalance", "SessionPortfolio", "SessionPosition"]

"""The newest Circuit docs' import name: `from circuit_sdk import AgentContext, SessionPortfolio`.
The same objects as `agent_sdk`."""

from agent_sdk import *  # noqa: F403
from agent_sdk import __all__  # noqa: F401

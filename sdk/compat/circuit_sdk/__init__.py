"""The newest Circuit docs' import name: `from circuit_sdk import AgentContext, SessionPortfolio`.
The same objects as `agent_sdk`."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the type checker runs from the repository root, where agent_sdk is sdk.compat.agent_sdk
    from sdk.compat.agent_sdk import *  # noqa: F403
    from sdk.compat.agent_sdk import __all__  # noqa: F401
else:
    from agent_sdk import *  # noqa: F403
    from agent_sdk import __all__  # noqa: F401

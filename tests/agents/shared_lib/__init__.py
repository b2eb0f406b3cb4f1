"""Code shared by agents, outside any one agent's directory (see tests/agents/modern)."""

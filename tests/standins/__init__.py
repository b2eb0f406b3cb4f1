"""Stand-ins for third-party venues' HTTP APIs, for tests only."""

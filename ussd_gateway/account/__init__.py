"""The self-service account's front door: registration, login, sessions, roles (issue 4)."""

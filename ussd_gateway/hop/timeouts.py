"""How long a USSD session may idle and last: the figures, defined here and nowhere else.

Past either limit the next hop is answered "session expired", and the sweeper ends a
session nobody came back to, dropping what it held (a pending password hash, the pages of
a long screen). The configuration's ``[sessions]`` defaults are these figures.
"""

from __future__ import annotations

from dataclasses import dataclass

IDLE_SECONDS = 60.0
"""Seconds one screen may stay unanswered: enough to read it and type an answer."""
TOTAL_SECONDS = 180.0
"""Seconds from the first hop to the last: a whole dialogue of a few screens."""


@dataclass(frozen=True, slots=True)
class SessionTimeouts:
    """How long a USSD session may idle and last (seconds)."""

    idle: float = IDLE_SECONDS
    total: float = TOTAL_SECONDS


HOP_BUDGET = 4.0
"""Seconds a hop may spend on its back-end calls, all of them together: a USSD centre
waits about 10 s for an answer (MAP's guard timer is longer, the handset gives up near
20 s), and the hop's own work and a conflict retry need room besides."""

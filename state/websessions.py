"""Self-service account sessions (seed 001 §1.9): 10 minutes idle, 30 minutes in all.

A session belongs to one subscriber (the principal) and remembers the principal's password
epoch at login; it is over once it has been idle or open too long, once either password
of the principal changes (whatever the channel: the web, ``*141*0#``, an e-mailed
temporary password) and once access to the account is closed by anyone. Every change
made in a session is committed together with a versioned write of the session row, so a
request still running when its session ends is annulled, not applied.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from state.models import Client, Subscriber, WebSession

IDLE_SECONDS = 600.0
TOTAL_SECONDS = 1800.0


class EndReason(enum.StrEnum):
    """Why a session is over."""

    LOGOUT = "logout"
    IDLE = "idle"
    TOTAL = "total"
    EXPIRED = "expired"
    """Ended by the sweeper (idle or total) before anyone asked."""
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a reason, not a secret
    ACCESS_CLOSED = "access_closed"
    GONE = "gone"
    """The subscriber no longer exists."""


@dataclass(frozen=True, slots=True)
class SessionTimes:
    """Idle and total limits, in seconds."""

    idle: float = IDLE_SECONDS
    total: float = TOTAL_SECONDS


def credential_epoch(sub: Subscriber, client: Client | None) -> float | None:
    """The latest password change of the principal (its own or its account's)."""
    stamps = [sub.password_changed_at, client.account_password_changed_at if client else None]
    known = [s for s in stamps if s is not None]
    return max(known) if known else None


def why_over(
    session: WebSession,
    sub: Subscriber | None,
    client: Client | None,
    now: float,
    times: SessionTimes,
) -> EndReason | None:
    """Why the session can't be used at ``now``, or None if it can."""
    if session.ended_at is not None:
        return EndReason(session.end_reason) if session.end_reason in _REASONS else EndReason.LOGOUT
    if sub is None:
        return EndReason.GONE
    if now - session.last_seen_at >= times.idle:
        return EndReason.IDLE
    if now - session.created_at >= times.total:
        return EndReason.TOTAL
    if credential_epoch(sub, client) != session.credential_at:
        return EndReason.PASSWORD_CHANGED
    if not sub.access_open:
        return EndReason.ACCESS_CLOSED
    return None


_REASONS = {r.value for r in EndReason}


def touched(session: WebSession, now: float) -> WebSession:
    """The session after a request in it (idle time restarts)."""
    return replace(session, last_seen_at=now, version=session.version + 1)


def ended(session: WebSession, reason: EndReason, now: float) -> WebSession:
    """The session, over."""
    return replace(session, ended_at=now, end_reason=str(reason), version=session.version + 1)

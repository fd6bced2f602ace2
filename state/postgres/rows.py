"""Rows and values: the shared mappers (``state/rowmap.py``; jsonb comes decoded by the
pool's codec) and what only this backend reads (guards and codes of a joined row).

Column lists are constants, joined into SQL by the modules that query; values always travel
as parameters. A mapper takes the position of its first column, so one joined row
(``load_hop``, ``load_codes``) can carry two models.
"""

from __future__ import annotations

from typing import Any

from state import rowmap
from state.models import AuditEntry, OtpCode, OtpGuard, UssdSession
from state.postgres.pool import Row
from state.rowmap import (
    AUDIT_COLUMNS,
    CHALLENGE_COLUMNS,
    CLIENT_COLUMNS,
    OUTBOX_COLUMNS,
    SUBSCRIBER_COLUMNS,
    WEB_SESSION_COLUMNS,
    challenge,
    client,
    subscriber,
    web_session,
)
from state.store import OutboxRow

__all__ = [
    "AUDIT_COLUMNS",
    "CHALLENGE_COLUMNS",
    "CLIENT_COLUMNS",
    "OUTBOX_COLUMNS",
    "SUBSCRIBER_COLUMNS",
    "WEB_SESSION_COLUMNS",
    "challenge",
    "client",
    "subscriber",
    "web_session",
]

SUBSCRIBER_FROM = "subscribers s JOIN clients c ON c.id = s.client_id"
SESSION_COLUMNS = ", ".join(f"u.{name}" for name in rowmap.SESSION_NAMES)
"""Of ``ussd_sessions u``."""
SESSION_WIDTH = len(rowmap.SESSION_NAMES)
GUARD_COLUMNS = "failures, locked_until, version"
CODE_COLUMNS = "digest, created_at, expires_at, attempts, used_at"


def text(value: object | None) -> str | None:
    """An enum (or any value) as the text its column holds; None stays None."""
    return None if value is None else str(value)


def session(row: Row, at: int = 0) -> UssdSession:
    """A :data:`SESSION_COLUMNS` row (``last_reply`` and ``data`` decoded by the codec)."""
    return rowmap.session(row, _as_is, at)


def audit_entry(row: Row) -> AuditEntry:
    """An :data:`AUDIT_COLUMNS` row (``detail`` decoded by the codec)."""
    return rowmap.audit_entry(row, _as_is)


def _as_is(value: Any) -> Any:
    return value


def outbox_row(row: Row) -> OutboxRow:
    """An :data:`OUTBOX_COLUMNS` row."""
    return OutboxRow(*row)


def guard(key: str, row: Row | None, at: int = 0) -> OtpGuard:
    """A :data:`GUARD_COLUMNS` row; a fresh guard (version 0) when the key has none."""
    if row is None or row[at + 2] is None:
        return OtpGuard(key)
    return OtpGuard(key, row[at], row[at + 1], row[at + 2])


def code(msisdn: str, purpose: str, row: Row, at: int = 0) -> OtpCode | None:
    """A :data:`CODE_COLUMNS` row, or None when its columns are empty (no code)."""
    if row[at] is None:
        return None
    r: tuple[Any, ...] = tuple(row[at : at + 5])
    return OtpCode(msisdn, purpose, bytes(r[0]), r[1], r[2], r[3], r[4])

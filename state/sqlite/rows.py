"""Rows of the SQLite schema: the shared mappers (``state/rowmap.py``) with SQLite's JSON
text decoded, and the statements only this backend reads with.

Column lists are constants; values always travel as parameters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from state import rowmap
from state.models import AuditEntry, OtpGuard, UssdSession
from state.rowmap import (
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

__all__ = [
    "CHALLENGE_COLUMNS",
    "CLIENT_COLUMNS",
    "OUTBOX_COLUMNS",
    "SELECT_SUBSCRIBER",
    "SELECT_SUBSCRIBERS_OF_CLIENT",
    "SESSION_COLUMNS",
    "WEB_SESSION_COLUMNS",
    "audit_entry",
    "challenge",
    "client",
    "flag",
    "guard",
    "session",
    "subscriber",
    "web_session",
]

SELECT_SUBSCRIBER = (
    f"SELECT {SUBSCRIBER_COLUMNS} FROM subscribers s"  # noqa: S608
    " JOIN clients c ON c.id = s.client_id WHERE s.msisdn = ?"
)
SELECT_SUBSCRIBERS_OF_CLIENT = (
    f"SELECT {SUBSCRIBER_COLUMNS} FROM subscribers s"  # noqa: S608
    " JOIN clients c ON c.id = s.client_id WHERE s.client_id = ? ORDER BY s.msisdn"
)
SESSION_COLUMNS = ", ".join(rowmap.SESSION_NAMES)


def session(row: Sequence[Any]) -> UssdSession:
    """A :data:`SESSION_COLUMNS` row (its JSON is text)."""
    return rowmap.session(row, json.loads)


def audit_entry(row: Sequence[Any]) -> AuditEntry:
    """An audit row (msisdn, action, actor, channel, at, detail as JSON text)."""
    return rowmap.audit_entry(row, json.loads)


def guard(key: str, row: Sequence[Any] | None) -> OtpGuard:
    """A guard row (failures, locked_until, version); a fresh guard if there is none."""
    return OtpGuard(key, *row) if row else OtpGuard(key)


def flag(value: bool | None) -> int | None:
    """A boolean as SQLite stores it; None stays None (an import that leaves it as it is)."""
    return None if value is None else int(value)

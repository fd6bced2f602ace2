"""Rows and values: the column lists the store selects and how a row becomes a model.

Column lists are constants of this module, joined into SQL by the modules that query;
values always travel as parameters. Every function takes a row and the position of its
first column, so one joined row (``load_hop``) can carry two models.
"""

from __future__ import annotations

from typing import Any

from state.models import (
    Activity,
    AuditEntry,
    Channel,
    Client,
    ClientKind,
    ClosedBy,
    LoginChallenge,
    OtpCode,
    OtpGuard,
    Role,
    Subscriber,
    UssdSession,
    WebSession,
)
from state.postgres.pool import Row
from state.store import OutboxRow

SUBSCRIBER_COLUMNS = (
    "s.msisdn, s.client_id, c.kind, s.lang, s.closed_by, s.closed_reason, s.closed_at,"
    " s.puk_failures, s.puk_locked_at, s.password_changed_at, s.version, s.puk_digest,"
    " s.password_hash, s.role, s.puk_registration, s.temp_password_expires_at,"
    " s.temp_password_hash"
)
"""Of ``subscribers s JOIN clients c``."""
SUBSCRIBER_FROM = "subscribers s JOIN clients c ON c.id = s.client_id"

CLIENT_COLUMNS = (
    "id, kind, name, account, email, contact_msisdn, activity, subscription_fee,"
    " account_password_changed_at, version, identity_digest, account_password_hash"
)
SESSION_COLUMNS = (
    "u.id, u.msisdn, u.service, u.state, u.lang, u.started_at, u.updated_at, u.hop,"
    " u.last_hop_key, u.last_reply, u.data, u.ended_at, u.end_reason"
)
"""Of ``ussd_sessions u``."""
SESSION_WIDTH = 13
OUTBOX_COLUMNS = (
    "id, msisdn, kind, body, status, created_at, attempts, next_attempt_at, provider_ref,"
    " delivery, result, expires_at"
)
WEB_SESSION_COLUMNS = (
    "digest, msisdn, method, created_at, last_seen_at, must_change, credential_at, ended_at,"
    " end_reason, version"
)
CHALLENGE_COLUMNS = "digest, msisdn, method, created_at, expires_at, must_change, used_at"
AUDIT_COLUMNS = "msisdn, action, actor, channel, at, detail"
GUARD_COLUMNS = "failures, locked_until, version"
CODE_COLUMNS = "digest, created_at, expires_at, attempts, used_at"


def text(value: object | None) -> str | None:
    """An enum (or any value) as the text its column holds; None stays None."""
    return None if value is None else str(value)


def subscriber(row: Row, at: int = 0) -> Subscriber:
    """A :data:`SUBSCRIBER_COLUMNS` row."""
    r = row[at : at + 17]
    return Subscriber(
        msisdn=r[0],
        client_id=r[1],
        client_kind=ClientKind(r[2]),
        lang=r[3],
        closed_by=ClosedBy(r[4]) if r[4] else None,
        closed_reason=r[5],
        closed_at=r[6],
        puk_failures=r[7],
        puk_locked_at=r[8],
        password_changed_at=r[9],
        version=r[10],
        puk_digest=bytes(r[11]),
        password_hash=r[12],
        role=Role(r[13]) if r[13] else None,
        puk_registration=r[14],
        temp_password_expires_at=r[15],
        temp_password_hash=r[16],
    )


def client(row: Row) -> Client:
    """A :data:`CLIENT_COLUMNS` row."""
    return Client(
        id=row[0],
        kind=ClientKind(row[1]),
        name=row[2],
        account=row[3],
        email=row[4],
        contact_msisdn=row[5],
        activity=Activity(row[6]) if row[6] else None,
        subscription_fee=row[7],
        account_password_changed_at=row[8],
        version=row[9],
        identity_digest=bytes(row[10]) if row[10] is not None else None,
        account_password_hash=row[11],
    )


def session(row: Row, at: int = 0) -> UssdSession:
    """A :data:`SESSION_COLUMNS` row (``last_reply`` and ``data`` decoded by the codec)."""
    r = row[at : at + SESSION_WIDTH]
    return UssdSession(
        id=r[0],
        msisdn=r[1],
        service=r[2],
        state=r[3],
        lang=r[4],
        started_at=r[5],
        updated_at=r[6],
        hop=r[7],
        last_hop_key=r[8],
        last_reply=r[9],
        data=r[10],
        ended_at=r[11],
        end_reason=r[12],
    )


def web_session(row: Row) -> WebSession:
    """A :data:`WEB_SESSION_COLUMNS` row."""
    return WebSession(bytes(row[0]), *row[1:])


def challenge(row: Row) -> LoginChallenge:
    """A :data:`CHALLENGE_COLUMNS` row."""
    return LoginChallenge(bytes(row[0]), *row[1:])


def audit_entry(row: Row) -> AuditEntry:
    """An :data:`AUDIT_COLUMNS` row."""
    return AuditEntry(row[0], row[1], row[2], Channel(row[3]), row[4], row[5])


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

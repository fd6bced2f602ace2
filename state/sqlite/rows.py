"""Rows of the SQLite schema and the values of the core they become.

Column lists are constants of this module; values always travel as parameters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from state.models import (
    Activity,
    AuditEntry,
    Channel,
    Client,
    ClientKind,
    ClosedBy,
    LoginChallenge,
    OtpGuard,
    Role,
    Subscriber,
    UssdSession,
    WebSession,
)

SUBSCRIBER_COLUMNS = (
    "s.msisdn, s.client_id, c.kind, s.lang, s.closed_by, s.closed_reason, s.closed_at,"
    " s.puk_failures, s.puk_locked_at, s.password_changed_at, s.version, s.puk_digest,"
    " s.password_hash, s.role, s.puk_registration, s.temp_password_expires_at,"
    " s.temp_password_hash"
)
SELECT_SUBSCRIBER = (
    f"SELECT {SUBSCRIBER_COLUMNS} FROM subscribers s"  # noqa: S608
    " JOIN clients c ON c.id = s.client_id WHERE s.msisdn = ?"
)
SELECT_SUBSCRIBERS_OF_CLIENT = (
    f"SELECT {SUBSCRIBER_COLUMNS} FROM subscribers s"  # noqa: S608
    " JOIN clients c ON c.id = s.client_id WHERE s.client_id = ? ORDER BY s.msisdn"
)
OUTBOX_COLUMNS = (
    "id, msisdn, kind, body, status, created_at, attempts, next_attempt_at, provider_ref,"
    " delivery, result, expires_at"
)
SESSION_COLUMNS = (
    "id, msisdn, service, state, lang, started_at, updated_at, hop, last_hop_key,"
    " last_reply, data, ended_at, end_reason"
)

CLIENT_COLUMNS = (
    "id, kind, name, account, email, contact_msisdn, activity, subscription_fee,"
    " account_password_changed_at, version, identity_digest, account_password_hash"
)
WEB_SESSION_COLUMNS = (
    "digest, msisdn, method, created_at, last_seen_at, must_change, credential_at, ended_at,"
    " end_reason, version"
)
CHALLENGE_COLUMNS = "digest, msisdn, method, created_at, expires_at, must_change, used_at"


def subscriber(row: Sequence[Any]) -> Subscriber:
    return Subscriber(
        msisdn=row[0],
        client_id=row[1],
        client_kind=ClientKind(row[2]),
        lang=row[3],
        closed_by=ClosedBy(row[4]) if row[4] else None,
        closed_reason=row[5],
        closed_at=row[6],
        puk_failures=row[7],
        puk_locked_at=row[8],
        password_changed_at=row[9],
        version=row[10],
        puk_digest=bytes(row[11]),
        password_hash=row[12],
        role=Role(row[13]) if row[13] else None,
        puk_registration=bool(row[14]),
        temp_password_expires_at=row[15],
        temp_password_hash=row[16],
    )


def client(row: Sequence[Any]) -> Client:
    return Client(
        id=row[0],
        kind=ClientKind(row[1]),
        name=row[2],
        account=row[3],
        email=row[4],
        contact_msisdn=row[5],
        activity=Activity(row[6]) if row[6] else None,
        subscription_fee=bool(row[7]),
        account_password_changed_at=row[8],
        version=row[9],
        identity_digest=bytes(row[10]) if row[10] is not None else None,
        account_password_hash=row[11],
    )


def web_session(row: Sequence[Any]) -> WebSession:
    return WebSession(bytes(row[0]), row[1], row[2], row[3], row[4], bool(row[5]), *row[6:])


def challenge(row: Sequence[Any]) -> LoginChallenge:
    return LoginChallenge(bytes(row[0]), row[1], row[2], row[3], row[4], bool(row[5]), row[6])


def session(row: Sequence[Any]) -> UssdSession:
    return UssdSession(
        id=row[0],
        msisdn=row[1],
        service=row[2],
        state=row[3],
        lang=row[4],
        started_at=row[5],
        updated_at=row[6],
        hop=row[7],
        last_hop_key=row[8],
        last_reply=json.loads(row[9]),
        data=json.loads(row[10]),
        ended_at=row[11],
        end_reason=row[12],
    )


def guard(key: str, row: Sequence[Any] | None) -> OtpGuard:
    """A guard row (failures, locked_until, version); a fresh guard if there is none."""
    return OtpGuard(key, *row) if row else OtpGuard(key)


def audit_entry(r: Sequence[Any]) -> AuditEntry:
    """An audit row (msisdn, action, actor, channel, at, detail)."""
    return AuditEntry(r[0], r[1], r[2], Channel(r[3]), r[4], json.loads(r[5]))


def flag(value: bool | None) -> int | None:
    """A boolean as SQLite stores it; None stays None (an import that leaves it as it is)."""
    return None if value is None else int(value)

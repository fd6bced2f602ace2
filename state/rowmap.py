"""How a row of the core's tables becomes a model, the same for every backend.

Both schemas (``state/sqlite/migrations``, ``state/postgres/migrations``) have the same
tables and columns; they differ in types only (0/1 or boolean, JSON text or jsonb). The
column lists here are what both select, and each mapper takes a row in that order, from
the position ``at`` (one joined row can carry two models) — booleans are made ``bool``
whichever way the driver returns them, and JSON columns are decoded by the ``decode`` a
backend passes (SQLite: ``json.loads``; PostgreSQL's jsonb codec already decodes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from state.models import (
    Activity,
    AuditEntry,
    Channel,
    Client,
    ClientKind,
    ClosedBy,
    LoginChallenge,
    Role,
    Subscriber,
    UssdSession,
    WebSession,
)

Row = Sequence[Any]
Decode = Callable[[Any], Any]

SUBSCRIBER_COLUMNS = (
    "s.msisdn, s.client_id, c.kind, s.lang, s.closed_by, s.closed_reason, s.closed_at,"
    " s.puk_failures, s.puk_locked_at, s.password_changed_at, s.version, s.puk_digest,"
    " s.password_hash, s.role, s.puk_registration, s.temp_password_expires_at,"
    " s.temp_password_hash"
)
"""Of ``subscribers s JOIN clients c`` (the client's kind is the subscriber's)."""
SUBSCRIBER_WIDTH = 17
CLIENT_COLUMNS = (
    "id, kind, name, account, email, contact_msisdn, activity, subscription_fee,"
    " account_password_changed_at, version, identity_digest, account_password_hash"
)
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
SESSION_NAMES = (
    "id",
    "msisdn",
    "service",
    "state",
    "lang",
    "started_at",
    "updated_at",
    "hop",
    "last_hop_length",
    "last_hop_tag",
    "last_reply",
    "data",
    "pages",
    "page",
    "ended_at",
    "end_reason",
)
"""The USSD session's columns, in the order :func:`session` reads them."""


def subscriber(row: Row, at: int = 0) -> Subscriber:
    """A :data:`SUBSCRIBER_COLUMNS` row."""
    r = row[at : at + SUBSCRIBER_WIDTH]
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
        puk_registration=bool(r[14]),
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
        subscription_fee=bool(row[7]),
        account_password_changed_at=row[8],
        version=row[9],
        identity_digest=bytes(row[10]) if row[10] is not None else None,
        account_password_hash=row[11],
    )


def web_session(row: Row) -> WebSession:
    """A :data:`WEB_SESSION_COLUMNS` row."""
    return WebSession(bytes(row[0]), row[1], row[2], row[3], row[4], bool(row[5]), *row[6:])


def challenge(row: Row) -> LoginChallenge:
    """A :data:`CHALLENGE_COLUMNS` row."""
    return LoginChallenge(bytes(row[0]), row[1], row[2], row[3], row[4], bool(row[5]), row[6])


def session(row: Row, decode: Decode, at: int = 0) -> UssdSession:
    """A row of :data:`SESSION_NAMES` (``last_reply``, ``data`` and ``pages`` through
    ``decode``; ``pages`` is NULL while a screen fits one page, so most hops decode two)."""
    r = row[at : at + len(SESSION_NAMES)]
    return UssdSession(
        id=r[0],
        msisdn=r[1],
        service=r[2],
        state=r[3],
        lang=r[4],
        started_at=r[5],
        updated_at=r[6],
        hop=r[7],
        last_hop_length=r[8],
        last_hop_tag=r[9],
        last_reply=decode(r[10]),
        data=decode(r[11]),
        pages=tuple(decode(r[12])) if r[12] is not None else (),
        page=r[13],
        ended_at=r[14],
        end_reason=r[15],
    )


def audit_entry(row: Row, decode: Decode) -> AuditEntry:
    """An :data:`AUDIT_COLUMNS` row (``detail`` through ``decode``)."""
    return AuditEntry(row[0], row[1], row[2], Channel(row[3]), row[4], decode(row[5]))

"""Work that runs beside the hops: the outbox worker's statements, the sweeps, the import.

Each function is one unit of work on a :class:`~state.postgres.pool.Link`. Everything that
several instances may run at once takes its rows with ``FOR UPDATE SKIP LOCKED`` inside
one statement: a row another instance (or a hop's commit) holds is left to it and looked at
again next time, so no two instances ever act on one row, nobody waits on anybody, and
sweeps cannot deadlock with commits.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from state.models import ClientKind
from state.postgres.pool import Link, Row, transaction
from state.postgres.rows import OUTBOX_COLUMNS, outbox_row, text
from state.store import (
    ImportSummary,
    OutboxRow,
    SubscriberRecord,
    SweepResult,
    client_changes,
    refuse_client_changes,
)

# Rule 12: the subquery leases due messages nobody else is leasing right now; RETURNING
# gives them with their new lease and attempts (returned rows have no order: sort by id).
_CLAIM = (
    "WITH claimed AS ("  # noqa: S608 - constant columns
    " UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, updated_at = $1"
    " WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1"
    " ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)"
    f" RETURNING {OUTBOX_COLUMNS})"
    " SELECT * FROM claimed ORDER BY id"
)
_FINISH = (
    "UPDATE outbox SET status = $1::text, result = $2,"
    " provider_ref = coalesce($3, provider_ref),"
    " sent_at = CASE WHEN $1::text = 'sent' THEN $4 ELSE sent_at END,"
    " next_attempt_at = $5, updated_at = $4 WHERE id = $6"
)
_DELIVERY_BY_ID = "UPDATE outbox SET delivery = $1, updated_at = $2 WHERE id = $3"
_DELIVERY_BY_REF = "UPDATE outbox SET delivery = $1, updated_at = $2 WHERE provider_ref = $3"

# Rule 11, in one statement (so one round trip and atomic): the CTEs see one snapshot, and
# the rows they end (live ones) and purge (ended ones) are disjoint.
_SWEEP_SESSIONS = (
    "WITH expired AS ("
    " UPDATE ussd_sessions SET ended_at = $1, end_reason = 'expired', data = '{}'::jsonb,"
    " pages = NULL, page = 0"
    " WHERE id IN (SELECT id FROM ussd_sessions WHERE ended_at IS NULL"
    " AND (updated_at < $2 OR started_at < $3) FOR UPDATE SKIP LOCKED) RETURNING 1),"
    " purged AS ("
    " DELETE FROM ussd_sessions WHERE id IN (SELECT id FROM ussd_sessions"
    " WHERE ended_at IS NOT NULL AND ended_at < $4 FOR UPDATE SKIP LOCKED) RETURNING 1)"
    " SELECT (SELECT count(*) FROM expired), (SELECT count(*) FROM purged)"
)
_SWEEP_WEB = (
    "WITH expired AS ("
    " UPDATE web_sessions SET ended_at = $1, end_reason = 'expired', version = version + 1"
    " WHERE digest IN (SELECT digest FROM web_sessions WHERE ended_at IS NULL"
    " AND (last_seen_at < $2 OR created_at < $3) FOR UPDATE SKIP LOCKED) RETURNING 1),"
    " purged AS ("
    " DELETE FROM web_sessions WHERE digest IN (SELECT digest FROM web_sessions"
    " WHERE ended_at IS NOT NULL AND ended_at < $4 FOR UPDATE SKIP LOCKED) RETURNING 1),"
    " challenges AS ("
    " DELETE FROM login_challenges WHERE digest IN (SELECT digest FROM login_challenges"
    " WHERE expires_at < $4 FOR UPDATE SKIP LOCKED) RETURNING 1)"
    " SELECT (SELECT count(*) FROM expired),"
    " (SELECT count(*) FROM purged) + (SELECT count(*) FROM challenges)"
)

# Rule 13, one statement per record: the client by reference (a field given as None keeps
# its value), then the subscriber under it. Access, passwords, failures and locks are not
# named, so never touched. A new subscriber starts at version 0 and an updated one advances
# from there, so the returned version says which happened.
_IMPORT = (
    "WITH client AS ("
    " INSERT INTO clients (ref, kind, name, account, identity_digest, email, contact_msisdn,"
    " activity, subscription_fee)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9::boolean, false))"
    " ON CONFLICT (ref) DO UPDATE SET kind = excluded.kind, name = excluded.name,"
    " account = coalesce(excluded.account, clients.account),"
    " identity_digest = coalesce(excluded.identity_digest, clients.identity_digest),"
    " email = coalesce(excluded.email, clients.email),"
    " contact_msisdn = coalesce(excluded.contact_msisdn, clients.contact_msisdn),"
    " activity = coalesce(excluded.activity, clients.activity),"
    " subscription_fee = coalesce($9::boolean, clients.subscription_fee)"
    " RETURNING id)"
    " INSERT INTO subscribers (msisdn, client_id, lang, puk_digest, puk_registration, role)"
    " SELECT $10, client.id, $11, $12, coalesce($13::boolean, false), $14::text FROM client"
    " ON CONFLICT (msisdn) DO UPDATE SET client_id = excluded.client_id,"
    " lang = excluded.lang, puk_digest = excluded.puk_digest,"
    " version = subscribers.version + 1,"
    " puk_registration = coalesce($13::boolean, subscribers.puk_registration),"
    " role = coalesce($14::text, subscribers.role)"
    " RETURNING version"
)


# Rule 13's check: the kind and name of every client the import names, locked until it
# commits (a concurrent import of the same clients waits, then sees these changes).
_IMPORT_CLIENTS = "SELECT ref, kind, name FROM clients WHERE ref = ANY($1::text[]) FOR UPDATE"
_IMPORT_AUDIT = (
    "INSERT INTO audit (at, msisdn, action, actor, channel, detail) VALUES ($1, $2, $3, $4, $5, $6)"
)


async def claim_outbox(link: Link, now: float, limit: int, lease: float) -> list[OutboxRow]:
    """Lease up to ``limit`` due messages (one statement)."""
    rows = await link.fetch(_CLAIM, now, now + lease, limit)
    return [outbox_row(r) for r in rows]


async def finish_outbox(
    link: Link,
    message_id: int,
    status: str,
    now: float,
    result: str | None,
    provider_ref: str | None,
    retry_at: float | None,
) -> None:
    """Record a send's result (one statement)."""
    await link.execute(_FINISH, status, result, provider_ref, now, retry_at, message_id)


async def record_delivery(
    link: Link, delivery: str, now: float, message_id: int | None, provider_ref: str | None
) -> bool:
    """Store a delivery report; whether a message matched (one statement)."""
    if message_id is not None:
        tag = await link.execute(_DELIVERY_BY_ID, delivery, now, message_id)
    else:
        tag = await link.execute(_DELIVERY_BY_REF, delivery, now, provider_ref)
    return tag.split()[-1] != "0"


async def sweep_sessions(
    link: Link, now: float, idle: float, total: float, keep: float
) -> SweepResult:
    """End timed-out USSD sessions (their data dropped) and purge old ended ones."""
    row = await link.fetchrow(_SWEEP_SESSIONS, now, now - idle, now - total, now - keep)
    assert row is not None  # an aggregate always returns its row
    return SweepResult(row[0], row[1])


async def sweep_web(link: Link, now: float, idle: float, total: float, keep: float) -> SweepResult:
    """End web sessions past their time; purge old ended ones and old login challenges."""
    row = await link.fetchrow(_SWEEP_WEB, now, now - idle, now - total, now - keep)
    assert row is not None
    return SweepResult(row[0], row[1])


async def import_subscribers(
    link: Link, records: Sequence[SubscriberRecord], update_clients: bool
) -> ImportSummary:
    """Create or update every record in one transaction (``BEGIN``, the clients it names
    read and locked, one pipelined batch, the audit of client changes, ``COMMIT``): each
    record sees the ones before it, as if imported one by one."""
    if not records:
        return ImportSummary(0, 0)
    args = [
        (
            r.client_ref,
            str(r.client_kind),
            r.client_name,
            r.account,
            r.identity_digest,
            r.email,
            r.contact_msisdn,
            text(r.activity),
            r.subscription_fee,
            r.msisdn,
            r.lang,
            r.puk_digest,
            r.puk_registration,
            text(r.role),
        )
        for r in records
    ]

    refs = sorted({r.client_ref for r in records})

    async def body() -> tuple[list[Row], int]:
        found = await link.fetch(_IMPORT_CLIENTS, refs)
        changes = client_changes(records, {r[0]: (ClientKind(r[1]), r[2]) for r in found})
        if not update_clients:
            refuse_client_changes(changes)  # raised inside: the transaction rolls back
        written = await link.fetchmany(_IMPORT, args)
        if changes:
            at = time.time()
            entries = [c.audit(at) for c in changes]
            await link.executemany(
                _IMPORT_AUDIT,
                [(e.at, e.msisdn, e.action, e.actor, str(e.channel), e.detail) for e in entries],
            )
        return written, len(changes)

    rows, clients_updated = await transaction(link, body)
    created = sum(1 for r in rows if r[0] == 0)
    return ImportSummary(created, len(rows) - created, clients_updated)

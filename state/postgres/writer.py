"""The change-set writer: a :class:`~state.models.ChangeSet` (and a session) as SQL steps.

:func:`plan` turns a change set into :class:`Step` s in SQLite's order (the order rules 2–8
of ``state/store.py`` depend on); :func:`apply` runs them. A step that must touch one row
per execution (a version check, a create that must not collide) returns one row per
success — ``RETURNING 1`` with ``ON CONFLICT DO NOTHING`` or a ``WHERE version = $n`` — and
fewer rows than executions is :class:`~state.errors.ConcurrentUpdate`. Conflicts are found
without the statement failing (and under READ COMMITTED a writer that waited on a row lock
re-checks its ``WHERE`` against the row as committed, so the checks are exact however many
instances race).

Round trips: a plan of one step runs as one autocommitted statement (a hop that only moves
its session: one round trip), unless it checks several executions (then a miss could come
after a hit had committed). Any other plan is ``BEGIN``, one round trip per step (an
``executemany`` per batch), ``COMMIT``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from state.errors import ConcurrentUpdate
from state.models import ChangeSet, UssdSession, WebSession
from state.postgres.pool import Link, transaction
from state.postgres.rows import CHALLENGE_COLUMNS, text


@dataclass(frozen=True, slots=True)
class Step:
    """One statement, run once per argument tuple in ``rows``."""

    sql: str
    rows: Sequence[tuple[Any, ...]]
    conflict: str | None = None
    """If set, every execution must return one row; otherwise this is the conflict."""

    @property
    def checked(self) -> bool:
        """Whether a missing row is a conflict."""
        return self.conflict is not None


_UPDATE_SUBSCRIBER = (
    "UPDATE subscribers SET lang = $1, closed_by = $2, closed_reason = $3, closed_at = $4,"
    " puk_failures = $5, puk_locked_at = $6, password_hash = $7, password_changed_at = $8,"
    " role = $9, puk_registration = $10, temp_password_hash = $11,"
    " temp_password_expires_at = $12, version = $13 WHERE msisdn = $14 AND version = $15"
    " RETURNING 1"
)
_INSERT_AUDIT = (
    "INSERT INTO audit (at, msisdn, action, actor, channel, detail) VALUES ($1, $2, $3, $4, $5, $6)"
)
_INSERT_OUTBOX = (
    "INSERT INTO outbox (created_at, msisdn, kind, body, next_attempt_at, expires_at)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)
_UPDATE_GUARD = (
    "UPDATE otp_guards SET failures = $2, locked_until = $3, version = $4"
    " WHERE msisdn = $1 AND version = $5 RETURNING 1"
)
# Rule 3: read at version 0 means "create". A row another writer created meanwhile has moved
# past 0, so the update arm finds nothing and the statement returns no row: a conflict.
_CREATE_GUARD = (
    "INSERT INTO otp_guards (msisdn, failures, locked_until, version) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (msisdn) DO UPDATE SET failures = excluded.failures,"
    " locked_until = excluded.locked_until, version = excluded.version"
    " WHERE otp_guards.version = 0 RETURNING 1"
)
_UPSERT_CODE = (
    "INSERT INTO otp_codes (msisdn, purpose, digest, created_at, expires_at, attempts, used_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (msisdn, purpose) DO UPDATE SET"
    " digest = excluded.digest, created_at = excluded.created_at,"
    " expires_at = excluded.expires_at, attempts = excluded.attempts, used_at = excluded.used_at"
)
_INSERT_RECEIPT = (
    "INSERT INTO mo_receipts (source, message_id, at) VALUES ($1, $2, $3)"
    " ON CONFLICT DO NOTHING RETURNING 1"
)
_INSERT_CODE_SEND = "INSERT INTO code_sends (msisdn, purpose, channel, at) VALUES ($1, $2, $3, $4)"
_UPDATE_CLIENT = (
    "UPDATE clients SET account_password_hash = $1, account_password_changed_at = $2,"
    " version = $3 WHERE id = $4 AND version = $5 RETURNING 1"
)
_WEB_VALUES = (
    "msisdn = $1, method = $2, created_at = $3, last_seen_at = $4, must_change = $5,"
    " credential_at = $6, ended_at = $7, end_reason = $8, version = $9"
)
# A write to a web session that ended (or moved) since it was read finds nothing: whatever
# the request was doing in that session is annulled with it (seed 001 §1.9).
_UPDATE_WEB_SESSION = (
    f"UPDATE web_sessions SET {_WEB_VALUES}"  # noqa: S608 - constant text
    " WHERE digest = $10 AND version = $11 AND ended_at IS NULL RETURNING 1"
)
_END_WEB_SESSIONS = (
    "UPDATE web_sessions SET ended_at = $1, end_reason = $2, version = version + 1"
    " WHERE msisdn = $3 AND ended_at IS NULL"
)
_INSERT_WEB_SESSION = (
    "INSERT INTO web_sessions (msisdn, method, created_at, last_seen_at, must_change,"
    " credential_at, ended_at, end_reason, version, digest)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING 1"
)
_UPSERT_CHALLENGE = (
    f"INSERT INTO login_challenges ({CHALLENGE_COLUMNS})"  # noqa: S608 - constant columns
    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (digest) DO UPDATE SET"
    " msisdn = excluded.msisdn, method = excluded.method, created_at = excluded.created_at,"
    " expires_at = excluded.expires_at, must_change = excluded.must_change,"
    " used_at = excluded.used_at"
)
_INSERT_SESSION = (
    "INSERT INTO ussd_sessions (msisdn, service, state, lang, data, started_at, updated_at,"
    " hop, last_hop_key, last_reply, ended_at, end_reason, id)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    " ON CONFLICT DO NOTHING RETURNING 1"
)
# A later hop moves a live session: its number, service, language and start never change,
# so only what moves is SET. A session the sweeper ended since it was read (ended_at set,
# hop unchanged) is not brought back: the hop is rerun.
_MOVE_SESSION = (
    "UPDATE ussd_sessions SET state = $1, data = $2, updated_at = $3, hop = $4,"
    " last_hop_key = $5, last_reply = $6 WHERE id = $7 AND hop = $8 AND ended_at IS NULL"
    " RETURNING 1"
)
_END_SESSION = (
    "UPDATE ussd_sessions SET state = $1, data = $2, updated_at = $3, hop = $4,"
    " last_hop_key = $5, last_reply = $6, ended_at = $9, end_reason = $10"
    " WHERE id = $7 AND hop = $8 AND ended_at IS NULL RETURNING 1"
)


def plan(
    changes: ChangeSet, session: UssdSession | None = None, hop_read: int | None = None
) -> list[Step]:
    """The steps that apply ``changes`` and write ``session``, in order."""
    steps: list[Step] = []

    def add(sql: str, rows: Sequence[tuple[Any, ...]], conflict: str | None = None) -> None:
        # Most change sets touch two or three tables: a step runs only when it has rows.
        if rows:
            steps.append(Step(sql, rows, conflict))

    # Versioned rows are written in key order (stable, so two writes of one row keep their
    # order): concurrent commits then take their row locks in one order and cannot deadlock.
    subscribers = sorted(changes.subscribers, key=lambda pair: pair[1].msisdn)
    add(
        _UPDATE_SUBSCRIBER,
        [
            (
                s.lang,
                text(s.closed_by),
                s.closed_reason,
                s.closed_at,
                s.puk_failures,
                s.puk_locked_at,
                s.password_hash,
                s.password_changed_at,
                text(s.role),
                bool(s.puk_registration),
                s.temp_password_hash,
                s.temp_password_expires_at,
                s.version,
                s.msisdn,
                read,
            )
            for read, s in subscribers
        ],
        "subscriber changed since it was read",
    )
    add(
        _INSERT_AUDIT,
        [(e.at, e.msisdn, e.action, e.actor, str(e.channel), e.detail) for e in changes.audit],
    )
    add(
        _INSERT_OUTBOX,
        [
            (m.created_at, m.msisdn, m.kind, m.body, m.created_at, m.expires_at)
            for m in changes.outbox
        ],
    )
    guards = sorted(changes.guards, key=lambda pair: pair[1].msisdn)
    for read, g in guards:
        values = (g.msisdn, g.failures, g.locked_until, g.version)
        if read == 0:
            add(_CREATE_GUARD, [values], "code guard was created by another writer")
        else:
            add(_UPDATE_GUARD, [(*values, read)], f"code guard changed since version {read}")
    add(
        _UPSERT_CODE,
        [
            (c.msisdn, c.purpose, c.digest, c.created_at, c.expires_at, c.attempts, c.used_at)
            for c in changes.codes
        ],
    )
    add(
        _INSERT_RECEIPT,
        [(r.source, r.message_id, r.at) for r in changes.mo_receipts],
        "this MO was answered by another delivery",
    )
    add(
        _INSERT_CODE_SEND,
        [(s.msisdn, s.purpose, str(s.channel), s.at) for s in changes.code_sends],
    )
    clients = sorted(changes.clients, key=lambda pair: pair[1].id)
    add(
        _UPDATE_CLIENT,
        [
            (c.account_password_hash, c.account_password_changed_at, c.version, c.id, read)
            for read, c in clients
        ],
        "client changed since it was read",
    )
    # Rule 7: the request's own session is checked (and written) first, then sessions are
    # ended, then new ones start: a password change ends every session and hands out a new one.
    add(
        _UPDATE_WEB_SESSION,
        [(*_web_values(w), read) for read, w in changes.web_sessions if read is not None],
        "the session ended or moved since it was read",
    )
    add(_END_WEB_SESSIONS, [(e.at, e.reason, e.msisdn) for e in changes.sessions_ended])
    add(
        _INSERT_WEB_SESSION,
        [_web_values(w) for read, w in changes.web_sessions if read is None],
        "session token collision",
    )
    add(
        _UPSERT_CHALLENGE,
        [
            (c.digest, c.msisdn, c.method, c.created_at, c.expires_at, c.must_change, c.used_at)
            for c in changes.challenges
        ],
    )
    if session is not None:
        steps.append(_session_step(session, hop_read))
    return steps


def _web_values(w: WebSession) -> tuple[Any, ...]:
    return (
        w.msisdn,
        w.method,
        w.created_at,
        w.last_seen_at,
        bool(w.must_change),
        w.credential_at,
        w.ended_at,
        w.end_reason,
        w.version,
        w.digest,
    )


def _session_step(s: UssdSession, hop_read: int | None) -> Step:
    if hop_read is None:
        values = (
            s.msisdn,
            s.service,
            s.state,
            s.lang,
            s.data,
            s.started_at,
            s.updated_at,
            s.hop,
            s.last_hop_key,
            s.last_reply,
            s.ended_at,
            s.end_reason,
            s.id,
        )
        return Step(_INSERT_SESSION, [values], "session was created by another hop")
    moved = (s.state, s.data, s.updated_at, s.hop, s.last_hop_key, s.last_reply, s.id, hop_read)
    if s.ended_at is None:
        return Step(_MOVE_SESSION, [moved], "session moved since it was read")
    return Step(
        _END_SESSION, [(*moved, s.ended_at, s.end_reason)], "session moved since it was read"
    )


async def apply(link: Link, steps: Sequence[Step]) -> None:
    """Run ``steps`` atomically: one autocommitted statement if that is enough, else one
    transaction (:func:`~state.postgres.pool.transaction`)."""
    if not steps:
        return
    if len(steps) == 1 and (not steps[0].checked or len(steps[0].rows) == 1):
        await _run(link, steps[0])
        return

    async def body() -> None:
        for step in steps:
            await _run(link, step)

    await transaction(link, body)


async def _run(link: Link, step: Step) -> None:
    try:
        if not step.checked:
            if len(step.rows) == 1:
                await link.execute(step.sql, *step.rows[0])
            else:
                await link.executemany(step.sql, step.rows)
            return
        if len(step.rows) == 1:
            touched = len(await link.fetch(step.sql, *step.rows[0]))
        else:
            touched = len(await link.fetchmany(step.sql, step.rows))
    except asyncpg.UniqueViolationError:
        # ON CONFLICT already answers every collision a checked step can meet; a unique
        # violation there would still be the same conflict, never a database failure.
        if step.conflict is None:
            raise
        raise ConcurrentUpdate(step.conflict) from None
    if touched != len(step.rows):
        raise ConcurrentUpdate(step.conflict)

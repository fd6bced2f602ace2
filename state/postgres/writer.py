"""The change-set writer: a :class:`~state.models.ChangeSet` (and a session) as SQL steps.

:func:`plan` turns a change set into :class:`~state.postgres.statement.Step` s in SQLite's
order (the order rules 2–8 of ``state/store.py`` depend on); :func:`apply` runs them. A
step that must touch one row per execution (a version check, a create that must not
collide) returns one row per success — ``RETURNING 1`` with ``ON CONFLICT DO NOTHING`` or a
``WHERE version = $n`` — and fewer rows than executions is
:class:`~state.errors.ConcurrentUpdate`. Under READ COMMITTED a writer that waited on a row
lock re-checks its ``WHERE`` against the row as committed, so the checks are exact however
many instances race.

Round trips: every commit is one autocommitted statement — a single step by itself (a hop
that only moves its session), anything else as one statement of CTEs
(:func:`~state.postgres.statement.run_as_one`: a close-confirm hop went from 6 round trips
to 1) — except two rare shapes, which keep ``BEGIN``, one round trip per step (an
``executemany`` per batch), ``COMMIT``:

* two writes that may touch one row (a subscriber, guard, client, code, challenge or web
  session written twice; the request's own web session with ``sessions_ended``): CTEs see
  one snapshot, so only writing them in turn gives rule 7's order and the second write's
  version check;
* more than :data:`ONE_STATEMENT_MAX` executions (an operator's batch): each execution is
  a CTE, and a statement per batch size would crowd asyncpg's statement cache.

Over 300 lines: one statement builder per kind of change a change set holds, kept in
one file so the order of a commit (rules 1-14 of ``state/store.py``) reads top to bottom.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from state.errors import ConcurrentUpdate
from state.models import ChangeSet, UssdSession, WebSession
from state.postgres.pool import Link, transaction
from state.postgres.rows import CHALLENGE_COLUMNS, text
from state.postgres.statement import Sql, Step, run_as_one

ONE_STATEMENT_MAX = 16
"""Executions a one-statement commit may hold; a hop has 1 to 5."""


# Every statement is an Sql: its {gate} is TRUE alone (statement.py says what it is inside a
# one-statement commit), and every one returns a row per row it wrote, for that statement's
# checks. An insert is INSERT … SELECT so that it can be gated (a VALUES list has no WHERE).
_UPDATE_SUBSCRIBER = Sql(
    "UPDATE subscribers SET lang = $1, closed_by = $2, closed_reason = $3, closed_at = $4,"
    " puk_failures = $5, puk_locked_at = $6, password_hash = $7, password_changed_at = $8,"
    " role = $9, puk_registration = $10, temp_password_hash = $11,"
    " temp_password_expires_at = $12, version = $13 WHERE msisdn = $14 AND version = $15"
    " AND {gate} RETURNING 1"
)
_INSERT_AUDIT = Sql(
    "INSERT INTO audit (at, msisdn, action, actor, channel, detail)"
    " SELECT $1, $2, $3, $4, $5, $6 WHERE {gate} RETURNING 1"
)
_INSERT_OUTBOX = Sql(
    "INSERT INTO outbox (created_at, msisdn, kind, body, next_attempt_at, expires_at)"
    " SELECT $1, $2, $3, $4, $5, $6 WHERE {gate} RETURNING 1"
)
_UPDATE_GUARD = Sql(
    "UPDATE otp_guards SET failures = $2, locked_until = $3, version = $4"
    " WHERE msisdn = $1 AND version = $5 AND {gate} RETURNING 1"
)
# Rule 3: read at version 0 means "create". A row another writer created meanwhile has moved
# past 0, so the update arm finds nothing and the statement returns no row: a conflict.
_CREATE_GUARD = Sql(
    "INSERT INTO otp_guards (msisdn, failures, locked_until, version)"
    " SELECT $1, $2, $3, $4 WHERE {gate}"
    " ON CONFLICT (msisdn) DO UPDATE SET failures = excluded.failures,"
    " locked_until = excluded.locked_until, version = excluded.version"
    " WHERE otp_guards.version = 0 RETURNING 1"
)
_UPSERT_CODE = Sql(
    "INSERT INTO otp_codes (msisdn, purpose, digest, created_at, expires_at, attempts, used_at)"
    " SELECT $1, $2, $3, $4, $5, $6, $7 WHERE {gate} ON CONFLICT (msisdn, purpose) DO UPDATE SET"
    " digest = excluded.digest, created_at = excluded.created_at,"
    " expires_at = excluded.expires_at, attempts = excluded.attempts, used_at = excluded.used_at"
    " RETURNING 1"
)
_INSERT_RECEIPT = Sql(
    "INSERT INTO mo_receipts (source, message_id, at) SELECT $1, $2, $3 WHERE {gate}"
    " ON CONFLICT DO NOTHING RETURNING 1"
)
_INSERT_CODE_SEND = Sql(
    "INSERT INTO code_sends (msisdn, purpose, channel, at) SELECT $1, $2, $3, $4"
    " WHERE {gate} RETURNING 1"
)
_UPDATE_CLIENT = Sql(
    "UPDATE clients SET account_password_hash = $1, account_password_changed_at = $2,"
    " version = $3 WHERE id = $4 AND version = $5 AND {gate} RETURNING 1"
)
_WEB_VALUES = (
    "msisdn = $1, method = $2, created_at = $3, last_seen_at = $4, must_change = $5,"
    " credential_at = $6, ended_at = $7, end_reason = $8, version = $9"
)
# A write to a web session that ended (or moved) since it was read finds nothing: whatever
# the request was doing in that session is annulled with it (seed 001 §1.9).
_UPDATE_WEB_SESSION = Sql(
    f"UPDATE web_sessions SET {_WEB_VALUES}"  # noqa: S608 - constant text
    " WHERE digest = $10 AND version = $11 AND ended_at IS NULL AND {gate} RETURNING 1"
)
_END_WEB_SESSIONS = Sql(
    "UPDATE web_sessions SET ended_at = $1, end_reason = $2, version = version + 1"
    " WHERE msisdn = $3 AND ended_at IS NULL AND {gate} RETURNING 1",
    many=True,
)
_INSERT_WEB_SESSION = Sql(
    "INSERT INTO web_sessions (msisdn, method, created_at, last_seen_at, must_change,"
    " credential_at, ended_at, end_reason, version, digest)"
    " SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 WHERE {gate}"
    " ON CONFLICT DO NOTHING RETURNING 1"
)
_UPSERT_CHALLENGE = Sql(
    f"INSERT INTO login_challenges ({CHALLENGE_COLUMNS})"
    " SELECT $1, $2, $3, $4, $5, $6, $7 WHERE {gate} ON CONFLICT (digest) DO UPDATE SET"
    " msisdn = excluded.msisdn, method = excluded.method, created_at = excluded.created_at,"
    " expires_at = excluded.expires_at, must_change = excluded.must_change,"
    " used_at = excluded.used_at RETURNING 1"
)
_INSERT_SESSION = Sql(
    "INSERT INTO ussd_sessions (msisdn, service, state, lang, data, pages, page, started_at,"
    " updated_at, hop, last_hop_length, last_hop_tag, last_reply, ended_at, end_reason, id)"
    " SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16"
    " WHERE {gate} ON CONFLICT DO NOTHING RETURNING 1"
)
# A later hop moves a live session: its number, service, language and start never change,
# so only what moves is SET. A session the sweeper ended since it was read (ended_at set,
# hop unchanged) is not brought back: the hop is rerun.
_MOVE_SESSION = Sql(
    "UPDATE ussd_sessions SET state = $1, data = $2, pages = $3, page = $4, updated_at = $5,"
    " hop = $6, last_hop_length = $7, last_hop_tag = $8, last_reply = $9"
    " WHERE id = $10 AND hop = $11 AND ended_at IS NULL AND {gate} RETURNING 1"
)
_END_SESSION = Sql(
    "UPDATE ussd_sessions SET state = $1, data = $2, pages = $3, page = $4, updated_at = $5,"
    " hop = $6, last_hop_length = $7, last_hop_tag = $8, last_reply = $9, ended_at = $12,"
    " end_reason = $13 WHERE id = $10 AND hop = $11 AND ended_at IS NULL AND {gate} RETURNING 1"
)


@dataclass(frozen=True, slots=True)
class Plan:
    """A commit's steps, in order, and whether they may run as one statement."""

    steps: list[Step]
    one_statement: bool


def plan(
    changes: ChangeSet, session: UssdSession | None = None, hop_read: int | None = None
) -> Plan:
    """The steps that apply ``changes`` and write ``session``, in order."""
    steps: list[Step] = []

    def add(sql: Sql, rows: Sequence[tuple[Any, ...]], conflict: str | None = None) -> None:
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
    executions = sum(len(step.rows) for step in steps)
    return Plan(steps, executions <= ONE_STATEMENT_MAX and not _rows_shared(changes))


def _rows_shared(changes: ChangeSet) -> bool:
    """Whether two writes of ``changes`` may touch one row (see the module docstring)."""
    if changes.sessions_ended and any(read is not None for read, _ in changes.web_sessions):
        return True
    keyed: list[list[Hashable]] = [
        [s.msisdn for _, s in changes.subscribers],
        [g.msisdn for _, g in changes.guards],
        [(c.msisdn, c.purpose) for c in changes.codes],
        [(r.source, r.message_id) for r in changes.mo_receipts],
        [c.id for _, c in changes.clients],
        [w.digest for _, w in changes.web_sessions],
        [c.digest for c in changes.challenges],
    ]
    return any(len(set(keys)) < len(keys) for keys in keyed if len(keys) > 1)


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
    pages = s.pages or None  # NULL while the screen fits one page: nothing for the codec
    if hop_read is None:
        values = (
            s.msisdn,
            s.service,
            s.state,
            s.lang,
            s.data,
            pages,
            s.page,
            s.started_at,
            s.updated_at,
            s.hop,
            s.last_hop_length,
            s.last_hop_tag,
            s.last_reply,
            s.ended_at,
            s.end_reason,
            s.id,
        )
        return Step(_INSERT_SESSION, [values], "session was created by another hop")
    moved = (
        s.state,
        s.data,
        pages,
        s.page,
        s.updated_at,
        s.hop,
        s.last_hop_length,
        s.last_hop_tag,
        s.last_reply,
        s.id,
        hop_read,
    )
    if s.ended_at is None:
        return Step(_MOVE_SESSION, [moved], "session moved since it was read")
    return Step(
        _END_SESSION, [(*moved, s.ended_at, s.end_reason)], "session moved since it was read"
    )


async def apply(link: Link, planned: Plan) -> None:
    """Run the plan atomically: one autocommitted statement, unless it is one of the rare
    shapes (module docstring) that need a transaction
    (:func:`~state.postgres.pool.transaction`)."""
    steps = planned.steps
    if not steps:
        return
    if len(steps) == 1 and (not steps[0].checked or len(steps[0].rows) == 1):
        await _run(link, steps[0])  # the plain statement: no CTE to plan or gate
    elif planned.one_statement:
        await run_as_one(link, steps)
    else:

        async def body() -> None:
            for step in steps:
                await _run(link, step)

        await transaction(link, body)


async def _run(link: Link, step: Step) -> None:
    sql = step.sql.text
    try:
        if not step.checked:
            if len(step.rows) == 1:
                await link.execute(sql, *step.rows[0])
            else:
                await link.executemany(sql, step.rows)
            return
        if len(step.rows) == 1:
            touched = len(await link.fetch(sql, *step.rows[0]))
        else:
            touched = len(await link.fetchmany(sql, step.rows))
    except asyncpg.UniqueViolationError:
        # ON CONFLICT already answers every collision a checked step can meet; a unique
        # violation there would still be the same conflict, never a database failure.
        if step.conflict is None:
            raise
        raise ConcurrentUpdate(step.conflict) from None
    if touched != len(step.rows):
        raise ConcurrentUpdate(step.conflict)

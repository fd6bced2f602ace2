"""The store on one SQLite file: :class:`SqliteStore`, every role of ``state/store.py``.

WAL with ``synchronous=FULL`` (``connection.py``), numbered migrations (``schema.py``), a
hop's change set written by ``writer.py`` inside a group commit shared with the commits
queued meanwhile (``group_commit.py``).

Over 300 lines: the contract's forty-odd methods, each a short query on the loop's reader
or a unit on the writer thread; split by table they would scatter the one transaction
discipline this file shows.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from state.models import (
    AuditEntry,
    ChangeSet,
    Client,
    ClientKind,
    LoginChallenge,
    OtpCode,
    OtpGuard,
    Subscriber,
    UssdSession,
    WebSession,
)
from state.sqlite import rows
from state.sqlite.connection import Connection, immediate
from state.sqlite.group_commit import GroupCommit
from state.sqlite.schema import migrate
from state.sqlite.writer import apply_changes, write_session
from state.store import (
    CodeSnapshot,
    ImportSummary,
    OutboxBacklog,
    OutboxRow,
    SubscriberRecord,
    SweepResult,
    client_changes,
    refuse_client_changes,
)


class SqliteStore:
    """:class:`state.store.Store` on one SQLite file."""

    def __init__(self, db: Connection, path: str) -> None:
        self._db = db
        self.path = path
        self._group = GroupCommit(db.run)

    @classmethod
    async def open(cls, path: str | Path, *, create: bool = True) -> SqliteStore:
        """Open and migrate the database at ``path``: created if needed, or with ``create``
        False only an existing file (else :class:`~state.errors.StoreUnavailable`)."""
        db = await Connection.open(str(path), create=create)
        try:
            await db.run(migrate)
            db.open_reader(str(path))
        except BaseException:
            await db.close()
            raise
        return cls(db, str(path))

    async def ping(self) -> None:
        """Raise StoreError if the database cannot answer."""
        await self._db.run(lambda db: db.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        """Close the connections (the writer's thread ends with it)."""
        await self._db.close()

    async def get_subscriber(self, msisdn: str) -> Subscriber | None:
        """The subscriber's current row, or None."""

        def read(db: sqlite3.Connection) -> Subscriber | None:
            row = db.execute(rows.SELECT_SUBSCRIBER, (msisdn,)).fetchone()
            return rows.subscriber(row) if row else None

        return await self._db.peek(read)

    async def get_client(self, client_id: int) -> Client | None:
        """A client by id, or None."""

        return await self._one_client("id", client_id)

    async def client_by(
        self, *, account: str | None = None, email: str | None = None
    ) -> Client | None:
        """A client by its account number or its e-mail (case-insensitive), or None."""
        if account is not None:
            return await self._one_client("account", account)
        if email is not None:
            # lower() on both sides, as PostgreSQL's store does: the stored and the asked
            # address fold the same way.
            return await self._one_client("lower(email)", email, placeholder="lower(?)")
        raise ValueError("client_by needs an account or an e-mail")

    async def _one_client(
        self, column: str, value: object, *, placeholder: str = "?"
    ) -> Client | None:
        # `column` is one of this module's constants, never a caller's text.
        sql = f"SELECT {rows.CLIENT_COLUMNS} FROM clients WHERE {column} = {placeholder}"  # noqa: S608

        def read(db: sqlite3.Connection) -> Client | None:
            row = db.execute(sql, (value,)).fetchone()
            return rows.client(row) if row else None

        return await self._db.peek(read)

    async def client_subscribers(self, client_id: int) -> list[Subscriber]:
        """The subscribers of a client, by number."""

        def read(db: sqlite3.Connection) -> list[Subscriber]:
            found = db.execute(rows.SELECT_SUBSCRIBERS_OF_CLIENT, (client_id,)).fetchall()
            return [rows.subscriber(r) for r in found]

        return await self._db.run(read)

    async def get_guard(self, key: str) -> OtpGuard:
        """The failure guard of ``key`` (a number, or ``password:<number>`` …); a fresh one
        (version 0) if there is none yet."""

        def read(db: sqlite3.Connection) -> OtpGuard:
            row = db.execute(
                "SELECT failures, locked_until, version FROM otp_guards WHERE msisdn = ?", (key,)
            ).fetchone()
            return rows.guard(key, row)

        return await self._db.peek(read)

    async def get_web_session(self, digest: bytes) -> WebSession | None:
        """A web session by its token's digest, or None."""

        def read(db: sqlite3.Connection) -> WebSession | None:
            row = db.execute(
                f"SELECT {rows.WEB_SESSION_COLUMNS} FROM web_sessions WHERE digest = ?",  # noqa: S608
                (digest,),
            ).fetchone()
            return rows.web_session(row) if row else None

        return await self._db.peek(read)

    async def get_challenge(self, digest: bytes) -> LoginChallenge | None:
        """A login challenge by its digest, or None."""

        def read(db: sqlite3.Connection) -> LoginChallenge | None:
            row = db.execute(
                f"SELECT {rows.CHALLENGE_COLUMNS} FROM login_challenges WHERE digest = ?",  # noqa: S608
                (digest,),
            ).fetchone()
            return rows.challenge(row) if row else None

        return await self._db.peek(read)

    async def audit_log(
        self, *, msisdn: str | None = None, since: float | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Audit entries, newest first, optionally of one subscriber and after ``since``."""

        def read(db: sqlite3.Connection) -> list[AuditEntry]:
            found = db.execute(
                "SELECT msisdn, action, actor, channel, at, detail FROM audit"
                " WHERE (?1 IS NULL OR msisdn = ?1) AND (?2 IS NULL OR at >= ?2)"
                " ORDER BY id DESC LIMIT ?3",
                (msisdn, since, limit),
            ).fetchall()
            return [rows.audit_entry(r) for r in found]

        return await self._db.run(read)

    async def load_hop(
        self, session_id: str, msisdn: str
    ) -> tuple[UssdSession | None, Subscriber | None]:
        """A USSD session and its subscriber, read in one thread hop."""

        def read(db: sqlite3.Connection) -> tuple[UssdSession | None, Subscriber | None]:
            srow = db.execute(
                f"SELECT {rows.SESSION_COLUMNS} FROM ussd_sessions WHERE id = ?",  # noqa: S608
                (session_id,),
            ).fetchone()
            row = db.execute(rows.SELECT_SUBSCRIBER, (msisdn,)).fetchone()
            return (rows.session(srow) if srow else None), (rows.subscriber(row) if row else None)

        return await self._db.peek(read)

    async def commit(
        self,
        changes: ChangeSet,
        *,
        session: UssdSession | None = None,
        session_hop_read: int | None = None,
    ) -> None:
        """Apply ``changes`` and write ``session`` in one durable transaction."""

        def write(db: sqlite3.Connection) -> None:
            apply_changes(db, changes)
            if session is not None:
                write_session(db, session, session_hop_read)

        # Concurrent commits share one transaction and one fsync (group_commit.py).
        await self._group.submit(write)

    async def import_subscribers(
        self, records: Sequence[SubscriberRecord], *, update_clients: bool = False
    ) -> ImportSummary:
        """Create or update subscribers and their clients; access and password untouched.
        A change of an existing client's kind or name needs ``update_clients`` (rule 13)."""

        def write(db: sqlite3.Connection) -> ImportSummary:
            created = updated = 0
            with immediate(db):
                stored = {}
                for ref in {rec.client_ref for rec in records}:
                    row = db.execute("SELECT kind, name FROM clients WHERE ref = ?", (ref,))
                    for kind, name in row:
                        stored[ref] = (ClientKind(kind), name)
                changes = client_changes(records, stored)
                if not update_clients:
                    refuse_client_changes(changes)
                for rec in records:
                    db.execute(
                        "INSERT INTO clients (ref, kind, name, account, identity_digest, email,"
                        " contact_msisdn, activity, subscription_fee)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, coalesce(?, 0))"
                        " ON CONFLICT (ref) DO UPDATE SET kind = excluded.kind,"
                        " name = excluded.name,"
                        " account = coalesce(excluded.account, account),"
                        " identity_digest = coalesce(excluded.identity_digest, identity_digest),"
                        " email = coalesce(excluded.email, email),"
                        " contact_msisdn = coalesce(excluded.contact_msisdn, contact_msisdn),"
                        " activity = coalesce(excluded.activity, activity),"
                        " subscription_fee = CASE WHEN ? IS NULL THEN subscription_fee"
                        " ELSE excluded.subscription_fee END",
                        (
                            rec.client_ref,
                            str(rec.client_kind),
                            rec.client_name,
                            rec.account,
                            rec.identity_digest,
                            rec.email,
                            rec.contact_msisdn,
                            str(rec.activity) if rec.activity else None,
                            rows.flag(rec.subscription_fee),
                            rows.flag(rec.subscription_fee),
                        ),
                    )
                    client_id = db.execute(
                        "SELECT id FROM clients WHERE ref = ?", (rec.client_ref,)
                    ).fetchone()[0]
                    cur = db.execute(
                        "UPDATE subscribers SET client_id = ?, lang = ?, puk_digest = ?,"
                        " version = version + 1 WHERE msisdn = ?",
                        (client_id, rec.lang, rec.puk_digest, rec.msisdn),
                    )
                    if cur.rowcount:
                        updated += 1
                    else:
                        db.execute(
                            "INSERT INTO subscribers (msisdn, client_id, lang, puk_digest)"
                            " VALUES (?, ?, ?, ?)",
                            (rec.msisdn, client_id, rec.lang, rec.puk_digest),
                        )
                        created += 1
                    db.execute(
                        "UPDATE subscribers SET"
                        " puk_registration = coalesce(?, puk_registration),"
                        " role = coalesce(?, role) WHERE msisdn = ?",
                        (
                            rows.flag(rec.puk_registration),
                            str(rec.role) if rec.role else None,
                            rec.msisdn,
                        ),
                    )
                if changes:
                    at = time.time()
                    apply_changes(db, ChangeSet(audit=tuple(c.audit(at) for c in changes)))
            return ImportSummary(created, updated, len(changes))

        return await self._db.run(write)

    async def outbox(self, msisdn: str | None = None) -> list[OutboxRow]:
        """Outbox messages, oldest first, optionally of one subscriber."""

        def read(db: sqlite3.Connection) -> list[OutboxRow]:
            sql = f"SELECT {rows.OUTBOX_COLUMNS} FROM outbox"  # noqa: S608 - constant columns
            args: tuple[Any, ...] = ()
            if msisdn is not None:
                sql += " WHERE msisdn = ?"
                args = (msisdn,)
            return [OutboxRow(*r) for r in db.execute(sql + " ORDER BY id", args).fetchall()]

        return await self._db.run(read)

    async def outbox_backlog(self, now: float) -> OutboxBacklog:
        """Pending messages and the oldest one's age (the ``outbox_pending`` index)."""

        def read(db: sqlite3.Connection) -> OutboxBacklog:
            pending, oldest = db.execute(
                "SELECT count(*), min(created_at) FROM outbox WHERE status = 'pending'"
            ).fetchone()
            return OutboxBacklog(pending, max(0.0, now - oldest) if oldest is not None else 0.0)

        return await self._db.peek(read)

    async def mo_received(self, source: str, message_id: str) -> bool:
        """Whether an MO with this SMSC id has been answered already."""

        def read(db: sqlite3.Connection) -> bool:
            row = db.execute(
                "SELECT 1 FROM mo_receipts WHERE source = ? AND message_id = ?",
                (source, message_id),
            ).fetchone()
            return row is not None

        return await self._db.peek(read)

    async def load_codes(self, msisdn: str, purpose: str, now: float) -> CodeSnapshot:
        """The code, guard and send counts of a number (and the global count), in one read."""

        def read(db: sqlite3.Connection) -> CodeSnapshot:
            guard_row = db.execute(
                "SELECT failures, locked_until, version FROM otp_guards WHERE msisdn = ?",
                (msisdn,),
            ).fetchone()
            guard = rows.guard(msisdn, guard_row)
            code_row = db.execute(
                "SELECT digest, created_at, expires_at, attempts, used_at FROM otp_codes"
                " WHERE msisdn = ? AND purpose = ?",
                (msisdn, purpose),
            ).fetchone()
            code = None
            if code_row:
                code = OtpCode(msisdn, purpose, bytes(code_row[0]), *code_row[1:])
            minute, ten, oldest, last = db.execute(
                "SELECT count(*) FILTER (WHERE at > ?), count(*), min(at), max(at)"
                " FROM code_sends WHERE msisdn = ? AND at > ?",
                (now - 60, msisdn, now - 600),
            ).fetchone()
            (hour,) = db.execute(
                "SELECT count(*) FROM code_sends WHERE at > ?", (now - 3600,)
            ).fetchone()
            if last is None:
                (last,) = db.execute(
                    "SELECT max(at) FROM code_sends WHERE msisdn = ?", (msisdn,)
                ).fetchone()
            return CodeSnapshot(guard, code, minute, ten, hour, oldest, last)

        return await self._db.run(read)

    async def claim_outbox(self, now: float, *, limit: int, lease: float) -> list[OutboxRow]:
        """Lease up to ``limit`` due messages to this sender, atomically."""

        def write(db: sqlite3.Connection) -> list[OutboxRow]:
            with immediate(db):
                due = db.execute(
                    f"SELECT {rows.OUTBOX_COLUMNS} FROM outbox"  # noqa: S608 - constant columns
                    " WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?",
                    (now, limit),
                ).fetchall()
                db.executemany(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?,"
                    " updated_at = ? WHERE id = ?",
                    [(now + lease, now, r[0]) for r in due],
                )
            return [
                replace(OutboxRow(*r), attempts=r[6] + 1, next_attempt_at=now + lease) for r in due
            ]

        return await self._db.run(write)

    async def finish_outbox(
        self,
        message_id: int,
        *,
        status: str,
        now: float,
        result: str | None = None,
        provider_ref: str | None = None,
        retry_at: float | None = None,
    ) -> None:
        """Record a send's result."""
        if status not in ("sent", "failed", "pending"):
            raise ValueError(f"unknown outbox status {status!r}")

        def write(db: sqlite3.Connection) -> None:
            with immediate(db):
                db.execute(
                    "UPDATE outbox SET status = ?, result = ?, provider_ref = coalesce(?,"
                    " provider_ref), sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END,"
                    " next_attempt_at = ?, updated_at = ? WHERE id = ?",
                    (status, result, provider_ref, status, now, retry_at, now, message_id),
                )

        await self._db.run(write)

    async def record_delivery(
        self,
        *,
        delivery: str,
        now: float,
        message_id: int | None = None,
        provider_ref: str | None = None,
    ) -> bool:
        """Store a delivery report; False if no message matches."""
        if message_id is None and provider_ref is None:
            raise ValueError("a delivery report needs a message id or a provider reference")

        def write(db: sqlite3.Connection) -> bool:
            with immediate(db):
                if message_id is not None:
                    cur = db.execute(
                        "UPDATE outbox SET delivery = ?, updated_at = ? WHERE id = ?",
                        (delivery, now, message_id),
                    )
                else:
                    cur = db.execute(
                        "UPDATE outbox SET delivery = ?, updated_at = ? WHERE provider_ref = ?",
                        (delivery, now, provider_ref),
                    )
            return bool(cur.rowcount)

        return await self._db.run(write)

    async def sweep_sessions(
        self, now: float, *, idle: float, total: float, keep: float
    ) -> SweepResult:
        """End timed-out sessions (annulling their pending data) and purge old ended ones."""

        def write(db: sqlite3.Connection) -> SweepResult:
            with immediate(db):
                expired = db.execute(
                    "UPDATE ussd_sessions SET ended_at = ?, end_reason = 'expired', data = '{}',"
                    " pages = NULL, page = 0"
                    " WHERE ended_at IS NULL AND (updated_at < ? OR started_at < ?)",
                    (now, now - idle, now - total),
                ).rowcount
                purged = db.execute(
                    "DELETE FROM ussd_sessions WHERE ended_at IS NOT NULL AND ended_at < ?",
                    (now - keep,),
                ).rowcount
            return SweepResult(expired, purged)

        return await self._db.run(write)

    async def sweep_web(self, now: float, *, idle: float, total: float, keep: float) -> SweepResult:
        """End web sessions past their idle or total time; purge old sessions and challenges."""

        def write(db: sqlite3.Connection) -> SweepResult:
            with immediate(db):
                expired = db.execute(
                    "UPDATE web_sessions SET ended_at = ?, end_reason = 'expired',"
                    " version = version + 1"
                    " WHERE ended_at IS NULL AND (last_seen_at < ? OR created_at < ?)",
                    (now, now - idle, now - total),
                ).rowcount
                purged = db.execute(
                    "DELETE FROM web_sessions WHERE ended_at IS NOT NULL AND ended_at < ?",
                    (now - keep,),
                ).rowcount
                purged += db.execute(
                    "DELETE FROM login_challenges WHERE expires_at < ?", (now - keep,)
                ).rowcount
            return SweepResult(expired, purged)

        return await self._db.run(write)

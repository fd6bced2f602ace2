"""The store on SQLite through aiosqlite: WAL, ``synchronous=FULL``, one connection.

Each unit of work (a hop's reads; a hop's whole commit) runs as one synchronous function
on aiosqlite's connection thread, so it costs one thread hop instead of one per statement,
and no other coroutine's statements can interleave inside its transaction. Several
processes may share the file: ``BEGIN IMMEDIATE`` with a busy timeout serialises their
writers, and version checks on every subscriber and session write catch a row that moved
between a hop's read and its commit.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from state._group_commit import GroupCommit
from state.errors import ConcurrentUpdate, MigrationError, StoreError
from state.models import (
    Activity,
    AuditEntry,
    ChangeSet,
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
from state.store import CodeSnapshot, ImportSummary, OutboxRow, SubscriberRecord, SweepResult

T = TypeVar("T")

_SUBSCRIBER_COLUMNS = (
    "s.msisdn, s.client_id, c.kind, s.lang, s.closed_by, s.closed_reason, s.closed_at,"
    " s.puk_failures, s.puk_locked_at, s.password_changed_at, s.version, s.puk_digest,"
    " s.password_hash, s.role, s.puk_registration, s.temp_password_expires_at,"
    " s.temp_password_hash"
)
# Column lists are constants of this module; values always travel as parameters.
_SELECT_SUBSCRIBER = (
    f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers s"  # noqa: S608
    " JOIN clients c ON c.id = s.client_id WHERE s.msisdn = ?"
)
_SELECT_SUBSCRIBERS_OF_CLIENT = (
    f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers s"  # noqa: S608
    " JOIN clients c ON c.id = s.client_id WHERE s.client_id = ? ORDER BY s.msisdn"
)
_OUTBOX_COLUMNS = (
    "id, msisdn, kind, body, status, created_at, attempts, next_attempt_at, provider_ref,"
    " delivery, result, expires_at"
)
_SESSION_COLUMNS = (
    "id, msisdn, service, state, lang, started_at, updated_at, hop, last_hop_key,"
    " last_reply, data, ended_at, end_reason"
)


def _migrations() -> list[tuple[int, str]]:
    folder = files("state").joinpath("migrations")
    found = []
    for item in folder.iterdir():
        name = item.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), item.read_text(encoding="utf-8")))
    return sorted(found)


def _subscriber(row: Sequence[Any]) -> Subscriber:
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


_CLIENT_COLUMNS = (
    "id, kind, name, account, email, contact_msisdn, activity, subscription_fee,"
    " account_password_changed_at, version, identity_digest, account_password_hash"
)
_WEB_SESSION_COLUMNS = (
    "digest, msisdn, method, created_at, last_seen_at, must_change, credential_at, ended_at,"
    " end_reason, version"
)
_CHALLENGE_COLUMNS = "digest, msisdn, method, created_at, expires_at, must_change, used_at"


def _client(row: Sequence[Any]) -> Client:
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


def _web_session(row: Sequence[Any]) -> WebSession:
    return WebSession(bytes(row[0]), row[1], row[2], row[3], row[4], bool(row[5]), *row[6:])


def _challenge(row: Sequence[Any]) -> LoginChallenge:
    return LoginChallenge(bytes(row[0]), row[1], row[2], row[3], row[4], bool(row[5]), row[6])


def _session(row: Sequence[Any]) -> UssdSession:
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


class SqliteStore:
    """:class:`state.store.Store` on one SQLite file."""

    def __init__(
        self, conn: aiosqlite.Connection, path: str, reader: sqlite3.Connection | None = None
    ) -> None:
        self._conn = conn
        self.path = path
        self._group = GroupCommit(self._run)
        self._reader = reader

    @classmethod
    async def open(cls, path: str | Path) -> SqliteStore:
        """Open (creating if needed) and migrate the database at ``path``."""
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        store = cls(conn, str(path))
        try:
            await store._run(_configure)
            await store._run(_migrate)
            store._reader = _open_reader(str(path))
        except BaseException:
            await conn.close()
            raise
        return store

    async def ping(self) -> None:
        """Raise StoreError if the database cannot answer."""
        await self._run(lambda db: db.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        """Close the connections (the writer's thread ends with it)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        await self._conn.close()

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        # aiosqlite runs queued callables in order on the connection's own thread;
        # `_execute` is how its public methods do it, used here so a unit of work is
        # one thread hop and one uninterrupted transaction.
        try:
            result: T = await self._conn._execute(fn, self._conn._conn)  # type: ignore[no-untyped-call]
            return result
        except sqlite3.Error as exc:
            raise StoreError(f"database error: {exc.__class__.__name__}") from exc

    async def _peek(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a small indexed read on the event loop's own thread.

        A hop's read costs ~13 µs in SQLite but ~30 µs of loop CPU and a wait behind the
        writer's fsyncs when handed to the writer's thread. Under WAL a reader never waits
        for a writer; the rare moment the read would (a WAL reset, a lock held by a
        checkpoint) it answers busy at once (``busy_timeout`` 0) and the read is queued
        on the writer's thread instead, which may wait.
        """
        reader = self._reader
        if reader is None:
            return await self._run(fn)
        try:
            reader.execute("BEGIN")  # one snapshot for every statement of ``fn``
            try:
                return fn(reader)
            finally:
                reader.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF not in _BUSY:  # BUSY_RECOVERY, BUSY_SNAPSHOT …
                raise StoreError(f"database error: {exc.__class__.__name__}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"database error: {exc.__class__.__name__}") from exc
        return await self._run(fn)

    async def get_subscriber(self, msisdn: str) -> Subscriber | None:
        """The subscriber's current row, or None."""

        def read(db: sqlite3.Connection) -> Subscriber | None:
            row = db.execute(_SELECT_SUBSCRIBER, (msisdn,)).fetchone()
            return _subscriber(row) if row else None

        return await self._peek(read)

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
            return await self._one_client("lower(email)", email.lower())
        raise ValueError("client_by needs an account or an e-mail")

    async def _one_client(self, column: str, value: object) -> Client | None:
        # `column` is one of this module's constants, never a caller's text.
        sql = f"SELECT {_CLIENT_COLUMNS} FROM clients WHERE {column} = ?"  # noqa: S608

        def read(db: sqlite3.Connection) -> Client | None:
            row = db.execute(sql, (value,)).fetchone()
            return _client(row) if row else None

        return await self._peek(read)

    async def client_subscribers(self, client_id: int) -> list[Subscriber]:
        """The subscribers of a client, by number."""

        def read(db: sqlite3.Connection) -> list[Subscriber]:
            rows = db.execute(_SELECT_SUBSCRIBERS_OF_CLIENT, (client_id,)).fetchall()
            return [_subscriber(r) for r in rows]

        return await self._run(read)

    async def get_guard(self, key: str) -> OtpGuard:
        """The failure guard of ``key`` (a number, or ``password:<number>`` …); a fresh one
        (version 0) if there is none yet."""

        def read(db: sqlite3.Connection) -> OtpGuard:
            row = db.execute(
                "SELECT failures, locked_until, version FROM otp_guards WHERE msisdn = ?", (key,)
            ).fetchone()
            return OtpGuard(key, *row) if row else OtpGuard(key)

        return await self._peek(read)

    async def get_web_session(self, digest: bytes) -> WebSession | None:
        """A web session by its token's digest, or None."""

        def read(db: sqlite3.Connection) -> WebSession | None:
            row = db.execute(
                f"SELECT {_WEB_SESSION_COLUMNS} FROM web_sessions WHERE digest = ?",  # noqa: S608
                (digest,),
            ).fetchone()
            return _web_session(row) if row else None

        return await self._peek(read)

    async def get_challenge(self, digest: bytes) -> LoginChallenge | None:
        """A login challenge by its digest, or None."""

        def read(db: sqlite3.Connection) -> LoginChallenge | None:
            row = db.execute(
                f"SELECT {_CHALLENGE_COLUMNS} FROM login_challenges WHERE digest = ?",  # noqa: S608
                (digest,),
            ).fetchone()
            return _challenge(row) if row else None

        return await self._peek(read)

    async def audit_log(
        self, *, msisdn: str | None = None, since: float | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Audit entries, newest first, optionally of one subscriber and after ``since``."""

        def read(db: sqlite3.Connection) -> list[AuditEntry]:
            rows = db.execute(
                "SELECT msisdn, action, actor, channel, at, detail FROM audit"
                " WHERE (?1 IS NULL OR msisdn = ?1) AND (?2 IS NULL OR at >= ?2)"
                " ORDER BY id DESC LIMIT ?3",
                (msisdn, since, limit),
            ).fetchall()
            return [
                AuditEntry(r[0], r[1], r[2], Channel(r[3]), r[4], json.loads(r[5])) for r in rows
            ]

        return await self._run(read)

    async def load_hop(
        self, session_id: str, msisdn: str
    ) -> tuple[UssdSession | None, Subscriber | None]:
        """A USSD session and its subscriber, read in one thread hop."""

        def read(db: sqlite3.Connection) -> tuple[UssdSession | None, Subscriber | None]:
            srow = db.execute(
                f"SELECT {_SESSION_COLUMNS} FROM ussd_sessions WHERE id = ?",  # noqa: S608
                (session_id,),
            ).fetchone()
            row = db.execute(_SELECT_SUBSCRIBER, (msisdn,)).fetchone()
            return (_session(srow) if srow else None), (_subscriber(row) if row else None)

        return await self._peek(read)

    async def commit(
        self,
        changes: ChangeSet,
        *,
        session: UssdSession | None = None,
        session_hop_read: int | None = None,
    ) -> None:
        """Apply ``changes`` and write ``session`` in one durable transaction."""

        def write(db: sqlite3.Connection) -> None:
            _apply(db, changes)
            if session is not None:
                _write_session(db, session, session_hop_read)

        # Concurrent commits share one transaction and one fsync (_group_commit.py).
        await self._group.submit(write)

    async def import_subscribers(self, records: Sequence[SubscriberRecord]) -> ImportSummary:
        """Create or update subscribers and their clients; access and password untouched."""

        def write(db: sqlite3.Connection) -> ImportSummary:
            created = updated = 0
            with _immediate(db):
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
                            _flag(rec.subscription_fee),
                            _flag(rec.subscription_fee),
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
                            _flag(rec.puk_registration),
                            str(rec.role) if rec.role else None,
                            rec.msisdn,
                        ),
                    )
            return ImportSummary(created, updated)

        return await self._run(write)

    async def audit_for(self, msisdn: str, limit: int = 50) -> list[AuditEntry]:
        """The latest audit entries of a subscriber, newest first."""

        def read(db: sqlite3.Connection) -> list[AuditEntry]:
            rows = db.execute(
                "SELECT msisdn, action, actor, channel, at, detail FROM audit"
                " WHERE msisdn = ? ORDER BY id DESC LIMIT ?",
                (msisdn, limit),
            ).fetchall()
            return [
                AuditEntry(r[0], r[1], r[2], Channel(r[3]), r[4], json.loads(r[5])) for r in rows
            ]

        return await self._run(read)

    async def outbox(self, msisdn: str | None = None) -> list[OutboxRow]:
        """Outbox messages, oldest first, optionally of one subscriber."""

        def read(db: sqlite3.Connection) -> list[OutboxRow]:
            sql = f"SELECT {_OUTBOX_COLUMNS} FROM outbox"  # noqa: S608 - constant columns
            args: tuple[Any, ...] = ()
            if msisdn is not None:
                sql += " WHERE msisdn = ?"
                args = (msisdn,)
            return [OutboxRow(*r) for r in db.execute(sql + " ORDER BY id", args).fetchall()]

        return await self._run(read)

    async def mo_received(self, source: str, message_id: str) -> bool:
        """Whether an MO with this SMSC id has been answered already."""

        def read(db: sqlite3.Connection) -> bool:
            row = db.execute(
                "SELECT 1 FROM mo_receipts WHERE source = ? AND message_id = ?",
                (source, message_id),
            ).fetchone()
            return row is not None

        return await self._peek(read)

    async def load_codes(self, msisdn: str, purpose: str, now: float) -> CodeSnapshot:
        """The code, guard and send counts of a number (and the global count), in one read."""

        def read(db: sqlite3.Connection) -> CodeSnapshot:
            guard_row = db.execute(
                "SELECT failures, locked_until, version FROM otp_guards WHERE msisdn = ?",
                (msisdn,),
            ).fetchone()
            guard = OtpGuard(msisdn, *guard_row) if guard_row else OtpGuard(msisdn)
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

        return await self._run(read)

    async def claim_outbox(self, now: float, *, limit: int, lease: float) -> list[OutboxRow]:
        """Lease up to ``limit`` due messages to this sender, atomically."""

        def write(db: sqlite3.Connection) -> list[OutboxRow]:
            with _immediate(db):
                rows = db.execute(
                    f"SELECT {_OUTBOX_COLUMNS} FROM outbox"  # noqa: S608 - constant columns
                    " WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?",
                    (now, limit),
                ).fetchall()
                db.executemany(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?,"
                    " updated_at = ? WHERE id = ?",
                    [(now + lease, now, r[0]) for r in rows],
                )
            return [
                replace(OutboxRow(*r), attempts=r[6] + 1, next_attempt_at=now + lease) for r in rows
            ]

        return await self._run(write)

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
            with _immediate(db):
                db.execute(
                    "UPDATE outbox SET status = ?, result = ?, provider_ref = coalesce(?,"
                    " provider_ref), sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END,"
                    " next_attempt_at = ?, updated_at = ? WHERE id = ?",
                    (status, result, provider_ref, status, now, retry_at, now, message_id),
                )

        await self._run(write)

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
            with _immediate(db):
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

        return await self._run(write)

    async def sweep_sessions(
        self, now: float, *, idle: float, total: float, keep: float
    ) -> SweepResult:
        """End timed-out sessions (annulling their pending data) and purge old ended ones."""

        def write(db: sqlite3.Connection) -> SweepResult:
            with _immediate(db):
                expired = db.execute(
                    "UPDATE ussd_sessions SET ended_at = ?, end_reason = 'expired', data = '{}'"
                    " WHERE ended_at IS NULL AND (updated_at < ? OR started_at < ?)",
                    (now, now - idle, now - total),
                ).rowcount
                purged = db.execute(
                    "DELETE FROM ussd_sessions WHERE ended_at IS NOT NULL AND ended_at < ?",
                    (now - keep,),
                ).rowcount
            return SweepResult(expired, purged)

        return await self._run(write)

    async def sweep_web(self, now: float, *, idle: float, total: float, keep: float) -> SweepResult:
        """End web sessions past their idle or total time; purge old sessions and challenges."""

        def write(db: sqlite3.Connection) -> SweepResult:
            with _immediate(db):
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

        return await self._run(write)


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


@contextmanager
def _immediate(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taken with the write lock up front (no upgrade deadlocks)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def _open_reader(path: str) -> sqlite3.Connection:
    # Used only on the event loop's thread; check_same_thread would refuse a store
    # opened under one event loop and read under another (tests do that).
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    reader.execute("PRAGMA busy_timeout = 0")
    reader.execute("PRAGMA query_only = ON")
    return reader


def _configure(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA journal_mode = WAL")
    # FULL: a reply that acknowledges a change must survive power loss (WAL+NORMAL may
    # roll back the last commits).
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA busy_timeout = 5000")
    db.execute("PRAGMA foreign_keys = ON")


def _migrate(db: sqlite3.Connection) -> None:
    current = db.execute("PRAGMA user_version").fetchone()[0]
    steps = _migrations()
    latest = steps[-1][0] if steps else 0
    if current > latest:
        raise MigrationError(f"database schema {current} is newer than this code ({latest})")
    for number, script in steps:
        if number <= current:
            continue
        with _immediate(db):
            # Re-read under the write lock: another process may have migrated meanwhile.
            if db.execute("PRAGMA user_version").fetchone()[0] >= number:
                continue
            for statement in _statements(script):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number:d}")


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT our transaction first; split instead (no ';' in our SQL
    # other than between statements).
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _apply(db: sqlite3.Connection, changes: ChangeSet) -> None:
    # Most hops change nothing but their session; an executemany of nothing still looks up,
    # binds and resets its statement, so each one runs only when it has rows.
    for version_read, sub in changes.subscribers:
        cur = db.execute(
            "UPDATE subscribers SET lang = ?, closed_by = ?, closed_reason = ?, closed_at = ?,"
            " puk_failures = ?, puk_locked_at = ?, password_hash = ?, password_changed_at = ?,"
            " role = ?, puk_registration = ?, temp_password_hash = ?,"
            " temp_password_expires_at = ?, version = ? WHERE msisdn = ? AND version = ?",
            (
                sub.lang,
                str(sub.closed_by) if sub.closed_by else None,
                sub.closed_reason,
                sub.closed_at,
                sub.puk_failures,
                sub.puk_locked_at,
                sub.password_hash,
                sub.password_changed_at,
                str(sub.role) if sub.role else None,
                int(sub.puk_registration),
                sub.temp_password_hash,
                sub.temp_password_expires_at,
                sub.version,
                sub.msisdn,
                version_read,
            ),
        )
        if cur.rowcount != 1:
            raise ConcurrentUpdate(f"subscriber changed since version {version_read}")
    if changes.audit:
        db.executemany(
            "INSERT INTO audit (at, msisdn, action, actor, channel, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (e.at, e.msisdn, e.action, e.actor, str(e.channel), json.dumps(e.detail))
                for e in changes.audit
            ],
        )
    if changes.outbox:
        db.executemany(
            "INSERT INTO outbox (created_at, msisdn, kind, body, next_attempt_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (m.created_at, m.msisdn, m.kind, m.body, m.created_at, m.expires_at)
                for m in changes.outbox
            ],
        )
    for version_read, guard in changes.guards:
        cur = db.execute(
            "UPDATE otp_guards SET failures = ?, locked_until = ?, version = ?"
            " WHERE msisdn = ? AND version = ?",
            (guard.failures, guard.locked_until, guard.version, guard.msisdn, version_read),
        )
        if cur.rowcount == 1:
            continue
        if version_read != 0:
            raise ConcurrentUpdate(f"code guard changed since version {version_read}")
        try:
            db.execute(
                "INSERT INTO otp_guards (msisdn, failures, locked_until, version)"
                " VALUES (?, ?, ?, ?)",
                (guard.msisdn, guard.failures, guard.locked_until, guard.version),
            )
        except sqlite3.IntegrityError as exc:
            raise ConcurrentUpdate("code guard was created by another writer") from exc
    if changes.codes:
        db.executemany(
            "INSERT OR REPLACE INTO otp_codes (msisdn, purpose, digest, created_at, expires_at,"
            " attempts, used_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (c.msisdn, c.purpose, c.digest, c.created_at, c.expires_at, c.attempts, c.used_at)
                for c in changes.codes
            ],
        )
    for receipt in changes.mo_receipts:
        try:
            db.execute(
                "INSERT INTO mo_receipts (source, message_id, at) VALUES (?, ?, ?)",
                (receipt.source, receipt.message_id, receipt.at),
            )
        except sqlite3.IntegrityError as exc:
            raise ConcurrentUpdate("this MO was answered by another delivery") from exc
    if changes.code_sends:
        db.executemany(
            "INSERT INTO code_sends (msisdn, purpose, channel, at) VALUES (?, ?, ?, ?)",
            [(s.msisdn, s.purpose, str(s.channel), s.at) for s in changes.code_sends],
        )
    for version_read, client in changes.clients:
        cur = db.execute(
            "UPDATE clients SET account_password_hash = ?, account_password_changed_at = ?,"
            " version = ? WHERE id = ? AND version = ?",
            (
                client.account_password_hash,
                client.account_password_changed_at,
                client.version,
                client.id,
                version_read,
            ),
        )
        if cur.rowcount != 1:
            raise ConcurrentUpdate(f"client changed since version {version_read}")
    # The request's own session is checked (and written) first, then sessions are ended,
    # then new ones start: a password change ends every session and hands out a new one.
    for session_read, web in changes.web_sessions:
        if session_read is not None:
            _write_web_session(db, session_read, web)
    if changes.sessions_ended:
        db.executemany(
            "UPDATE web_sessions SET ended_at = ?, end_reason = ?, version = version + 1"
            " WHERE msisdn = ? AND ended_at IS NULL",
            [(e.at, e.reason, e.msisdn) for e in changes.sessions_ended],
        )
    for session_read, web in changes.web_sessions:
        if session_read is None:
            _write_web_session(db, session_read, web)
    if changes.challenges:
        db.executemany(
            f"INSERT OR REPLACE INTO login_challenges ({_CHALLENGE_COLUMNS})"  # noqa: S608
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    c.digest,
                    c.msisdn,
                    c.method,
                    c.created_at,
                    c.expires_at,
                    int(c.must_change),
                    c.used_at,
                )
                for c in changes.challenges
            ],
        )


def _write_web_session(db: sqlite3.Connection, version_read: int | None, w: WebSession) -> None:
    values = (
        w.msisdn,
        w.method,
        w.created_at,
        w.last_seen_at,
        int(w.must_change),
        w.credential_at,
        w.ended_at,
        w.end_reason,
        w.version,
        w.digest,
    )
    if version_read is None:
        try:
            db.execute(
                "INSERT INTO web_sessions (msisdn, method, created_at, last_seen_at, must_change,"
                " credential_at, ended_at, end_reason, version, digest)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
        except sqlite3.IntegrityError as exc:
            raise ConcurrentUpdate("session token collision") from exc
        return
    # A write to a session that ended (or moved) since it was read fails: whatever the
    # request was doing in that session is annulled with it (seed 001 §1.9).
    cur = db.execute(
        "UPDATE web_sessions SET msisdn = ?, method = ?, created_at = ?, last_seen_at = ?,"
        " must_change = ?, credential_at = ?, ended_at = ?, end_reason = ?, version = ?"
        " WHERE digest = ? AND version = ? AND ended_at IS NULL",
        (*values, version_read),
    )
    if cur.rowcount != 1:
        raise ConcurrentUpdate("the session ended or moved since it was read")


def _write_session(db: sqlite3.Connection, s: UssdSession, hop_read: int | None) -> None:
    data = json.dumps(s.data)
    reply = json.dumps(s.last_reply, ensure_ascii=False)
    if hop_read is None:
        try:
            db.execute(
                "INSERT INTO ussd_sessions (msisdn, service, state, lang, data, started_at,"
                " updated_at, hop, last_hop_key, last_reply, ended_at, end_reason, id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    s.msisdn,
                    s.service,
                    s.state,
                    s.lang,
                    data,
                    s.started_at,
                    s.updated_at,
                    s.hop,
                    s.last_hop_key,
                    reply,
                    s.ended_at,
                    s.end_reason,
                    s.id,
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise ConcurrentUpdate("session was created by another hop") from exc
        return
    # A later hop moves a live session: its number, service, language and start never
    # change, and SQLite rewrites an index whenever its columns (or those of a partial
    # index's WHERE) are SET, so only what moves is SET. A session the sweeper ended since
    # it was read (ended_at set, hop unchanged) is not brought back: the hop is rerun.
    if s.ended_at is None:
        cur = db.execute(
            "UPDATE ussd_sessions SET state = ?, data = ?, updated_at = ?, hop = ?,"
            " last_hop_key = ?, last_reply = ? WHERE id = ? AND hop = ? AND ended_at IS NULL",
            (s.state, data, s.updated_at, s.hop, s.last_hop_key, reply, s.id, hop_read),
        )
    else:
        cur = db.execute(
            "UPDATE ussd_sessions SET state = ?, data = ?, updated_at = ?, hop = ?,"
            " last_hop_key = ?, last_reply = ?, ended_at = ?, end_reason = ?"
            " WHERE id = ? AND hop = ? AND ended_at IS NULL",
            (
                s.state,
                data,
                s.updated_at,
                s.hop,
                s.last_hop_key,
                reply,
                s.ended_at,
                s.end_reason,
                s.id,
                hop_read,
            ),
        )
    if cur.rowcount != 1:
        raise ConcurrentUpdate("session moved since it was read")

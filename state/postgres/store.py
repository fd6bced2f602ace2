"""The store on PostgreSQL through asyncpg: several gateway instances on one database.

Every call is one unit of work on a pooled connection (:mod:`state.postgres.pool`), every
read one query: ``load_hop`` reads the session and the subscriber in one statement,
``load_codes`` the guard, code and send counts in one. Writes keep the rules of
``state/store.py`` with optimistic versions under READ COMMITTED
(:mod:`state.postgres.writer`); what several instances run at once (outbox claims, sweeps)
takes rows with ``FOR UPDATE SKIP LOCKED`` (:mod:`state.postgres.maintenance`). Each commit
is its own transaction — there is no group commit to isolate units from each other (rule 9)
— and returns after PostgreSQL's durable ``COMMIT`` (rule 1).

Over 300 lines: the contract's forty-odd methods, each one short statement through the
pool; split by table they would scatter the one failure mapping this file shows.
"""

from __future__ import annotations

from collections.abc import Sequence

from state.models import (
    AuditEntry,
    ChangeSet,
    Client,
    LoginChallenge,
    OtpGuard,
    Subscriber,
    UssdSession,
    WebSession,
)
from state.postgres import maintenance, rows
from state.postgres.pool import Database, Link, Row
from state.postgres.rows import (
    AUDIT_COLUMNS,
    CHALLENGE_COLUMNS,
    CLIENT_COLUMNS,
    CODE_COLUMNS,
    GUARD_COLUMNS,
    SESSION_COLUMNS,
    SESSION_WIDTH,
    SUBSCRIBER_COLUMNS,
    SUBSCRIBER_FROM,
    WEB_SESSION_COLUMNS,
)
from state.postgres.schema import migrate
from state.postgres.writer import apply, plan
from state.store import (
    CodeSnapshot,
    ImportSummary,
    OutboxBacklog,
    OutboxRow,
    SubscriberRecord,
    SweepResult,
)

# Column lists are constants of state.postgres.rows; values always travel as parameters.
_SUBSCRIBER = f"SELECT {SUBSCRIBER_COLUMNS} FROM {SUBSCRIBER_FROM} WHERE s.msisdn = $1"  # noqa: S608
_CLIENT_SUBSCRIBERS = (
    f"SELECT {SUBSCRIBER_COLUMNS} FROM {SUBSCRIBER_FROM}"  # noqa: S608
    " WHERE s.client_id = $1 ORDER BY s.msisdn"
)
_CLIENT_BY = {
    "id": f"SELECT {CLIENT_COLUMNS} FROM clients WHERE id = $1",  # noqa: S608
    "account": f"SELECT {CLIENT_COLUMNS} FROM clients WHERE account = $1",  # noqa: S608
    # lower() on both sides: the stored and the asked e-mail fold the same way.
    "email": f"SELECT {CLIENT_COLUMNS} FROM clients WHERE lower(email) = lower($1)",  # noqa: S608
}
_GUARD = f"SELECT {GUARD_COLUMNS} FROM otp_guards WHERE msisdn = $1"  # noqa: S608
_WEB_SESSION = f"SELECT {WEB_SESSION_COLUMNS} FROM web_sessions WHERE digest = $1"  # noqa: S608
_CHALLENGE = f"SELECT {CHALLENGE_COLUMNS} FROM login_challenges WHERE digest = $1"  # noqa: S608
_MO_RECEIVED = "SELECT 1 FROM mo_receipts WHERE source = $1 AND message_id = $2"
# One statement per filter combination rather than "($1 IS NULL OR …)": a prepared
# statement's generic plan could not use an index for the optional filter.
_AUDIT = f"SELECT {AUDIT_COLUMNS} FROM audit"  # noqa: S608
_AUDIT_LOG = {
    (False, False): _AUDIT + " ORDER BY id DESC LIMIT $1",
    (True, False): _AUDIT + " WHERE msisdn = $2 ORDER BY id DESC LIMIT $1",
    (False, True): _AUDIT + " WHERE at >= $2 ORDER BY id DESC LIMIT $1",
    (True, True): _AUDIT + " WHERE msisdn = $2 AND at >= $3 ORDER BY id DESC LIMIT $1",
}
_OUTBOX = f"SELECT {rows.OUTBOX_COLUMNS} FROM outbox"  # noqa: S608
_OUTBOX_ALL = _OUTBOX + " ORDER BY id"
_OUTBOX_OF = _OUTBOX + " WHERE msisdn = $1 ORDER BY id"
# Pending rows only (the partial index ``outbox_due``): sent ones are history.
_BACKLOG = "SELECT count(*), min(created_at) FROM outbox WHERE status = 'pending'"
# The hop's read: one row whatever exists (the keys LEFT JOIN the session and the
# subscriber), so one round trip.
_HOP = (
    f"SELECT {SESSION_COLUMNS}, {SUBSCRIBER_COLUMNS}"  # noqa: S608
    " FROM (SELECT $1::text AS session_id, $2::text AS msisdn) k"
    " LEFT JOIN ussd_sessions u ON u.id = k.session_id"
    f" LEFT JOIN ({SUBSCRIBER_FROM}) ON s.msisdn = k.msisdn"
)
# The code decision's read: the guard, the code, the number's sends in the last ten
# minutes, the global count in the last hour, and (only if it sent nothing in ten minutes)
# its last send ever. $3/$4/$5 are now-60, now-600, now-3600, computed by the caller as
# SQLite's backend does.
_CODES = (
    f"SELECT {', '.join('g.' + c for c in GUARD_COLUMNS.split(', '))},"  # noqa: S608
    f" {', '.join('o.' + c for c in CODE_COLUMNS.split(', '))},"
    " n.minute, n.ten, n.oldest,"
    " coalesce(n.last, (SELECT max(at) FROM code_sends WHERE msisdn = $1)),"
    " (SELECT count(*) FROM code_sends WHERE at > $5)"
    " FROM (SELECT $1::text AS msisdn, $2::text AS purpose) k"
    " LEFT JOIN otp_guards g ON g.msisdn = k.msisdn"
    " LEFT JOIN otp_codes o ON o.msisdn = k.msisdn AND o.purpose = k.purpose"
    " CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE at > $3) AS minute,"
    " count(*) AS ten, min(at) AS oldest, max(at) AS last"
    " FROM code_sends WHERE msisdn = k.msisdn AND at > $4) n"
)


class PostgresStore:
    """:class:`state.store.Store` on a PostgreSQL database shared by any number of instances.

    :attr:`round_trips` counts the requests sent to the server (see
    :mod:`state.postgres.pool` for exactly what counts): ``load_hop`` is 1, a commit is 1
    (one statement), but for the rare shapes :mod:`state.postgres.writer` names, which are
    2 (``BEGIN``, ``COMMIT``) plus one per kind of row they write.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        pool_size: int = 10,
        connect_timeout: float = 3.0,
        acquire_timeout: float = 5.0,
        command_timeout: float = 10.0,
    ) -> PostgresStore:
        """Open a pool of up to ``pool_size`` connections on ``dsn`` and migrate the schema.

        A server that cannot be reached is :class:`~state.errors.StoreUnavailable` within
        ``connect_timeout``; a call waits at most ``acquire_timeout`` for a connection and
        ``command_timeout`` for a statement. A database newer than this code is
        :class:`~state.errors.MigrationError`.
        """
        db = await Database.connect(
            dsn,
            pool_size=pool_size,
            connect_timeout=connect_timeout,
            acquire_timeout=acquire_timeout,
            command_timeout=command_timeout,
        )
        try:
            await db.run(migrate)
        except BaseException:
            await db.close()
            raise
        return cls(db)

    def __repr__(self) -> str:
        return f"PostgresStore({self._db.where})"

    @property
    def round_trips(self) -> int:
        """Requests this store has sent to the server and waited for, so far."""
        return self._db.meter.round_trips

    async def ping(self) -> None:
        """Raise :class:`~state.errors.StoreUnavailable` if the database cannot answer."""

        async def work(link: Link) -> None:
            await link.execute("SELECT 1")

        await self._db.run(work, replay=True)

    async def close(self) -> None:
        """Close every connection (later calls are StoreUnavailable)."""
        await self._db.close()

    async def _one(self, sql: str, *args: object) -> Row | None:
        async def work(link: Link) -> Row | None:
            return await link.fetchrow(sql, *args)

        return await self._db.run(work, replay=True)

    async def _all(self, sql: str, *args: object) -> list[Row]:
        async def work(link: Link) -> list[Row]:
            return await link.fetch(sql, *args)

        return await self._db.run(work, replay=True)

    async def get_subscriber(self, msisdn: str) -> Subscriber | None:
        """The subscriber's current row, or None."""
        row = await self._one(_SUBSCRIBER, msisdn)
        return rows.subscriber(row) if row else None

    async def get_client(self, client_id: int) -> Client | None:
        """A client by id, or None."""
        row = await self._one(_CLIENT_BY["id"], client_id)
        return rows.client(row) if row else None

    async def client_by(
        self, *, account: str | None = None, email: str | None = None
    ) -> Client | None:
        """A client by its account number or its e-mail (case-insensitive), or None."""
        if account is not None:
            row = await self._one(_CLIENT_BY["account"], account)
        elif email is not None:
            row = await self._one(_CLIENT_BY["email"], email)
        else:
            raise ValueError("client_by needs an account or an e-mail")
        return rows.client(row) if row else None

    async def client_subscribers(self, client_id: int) -> list[Subscriber]:
        """The subscribers of a client, by number."""
        return [rows.subscriber(r) for r in await self._all(_CLIENT_SUBSCRIBERS, client_id)]

    async def get_guard(self, key: str) -> OtpGuard:
        """The failure guard of ``key``; a fresh one (version 0) if there is none yet."""
        return rows.guard(key, await self._one(_GUARD, key))

    async def get_web_session(self, digest: bytes) -> WebSession | None:
        """A web session by its token's digest, or None."""
        row = await self._one(_WEB_SESSION, digest)
        return rows.web_session(row) if row else None

    async def get_challenge(self, digest: bytes) -> LoginChallenge | None:
        """A login challenge by its digest, or None."""
        row = await self._one(_CHALLENGE, digest)
        return rows.challenge(row) if row else None

    async def audit_log(
        self, *, msisdn: str | None = None, since: float | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Audit entries, newest first, optionally of one subscriber and after ``since``."""
        filters = [value for value in (msisdn, since) if value is not None]
        sql = _AUDIT_LOG[(msisdn is not None, since is not None)]
        return [rows.audit_entry(r) for r in await self._all(sql, limit, *filters)]

    async def load_hop(
        self, session_id: str, msisdn: str
    ) -> tuple[UssdSession | None, Subscriber | None]:
        """A USSD session and its subscriber, read in one query."""
        row = await self._one(_HOP, session_id, msisdn)
        assert row is not None  # the keys' row is always there
        session = rows.session(row) if row[0] is not None else None
        at = SESSION_WIDTH
        subscriber = rows.subscriber(row, at) if row[at] is not None else None
        return session, subscriber

    async def commit(
        self,
        changes: ChangeSet,
        *,
        session: UssdSession | None = None,
        session_hop_read: int | None = None,
    ) -> None:
        """Apply ``changes`` and write ``session`` in one durable transaction."""
        planned = plan(changes, session, session_hop_read)
        if not planned.steps:
            return

        async def work(link: Link) -> None:
            await apply(link, planned)

        await self._db.run(work)

    async def import_subscribers(
        self, records: Sequence[SubscriberRecord], *, update_clients: bool = False
    ) -> ImportSummary:
        """Create or update subscribers and their clients; access and password untouched.
        A change of an existing client's kind or name needs ``update_clients`` (rule 13)."""

        async def work(link: Link) -> ImportSummary:
            return await maintenance.import_subscribers(link, records, update_clients)

        return await self._db.run(work)

    async def outbox(self, msisdn: str | None = None) -> list[OutboxRow]:
        """Outbox messages, oldest first, optionally of one subscriber."""
        found = await (self._all(_OUTBOX_ALL) if msisdn is None else self._all(_OUTBOX_OF, msisdn))
        return [rows.outbox_row(r) for r in found]

    async def outbox_backlog(self, now: float) -> OutboxBacklog:
        """Pending messages and the oldest one's age, in one query."""
        row = await self._one(_BACKLOG)
        assert row is not None  # an aggregate always returns its row
        pending, oldest = row[0], row[1]
        return OutboxBacklog(pending, max(0.0, now - oldest) if oldest is not None else 0.0)

    async def mo_received(self, source: str, message_id: str) -> bool:
        """Whether an MO with this SMSC id has been answered already."""
        return await self._one(_MO_RECEIVED, source, message_id) is not None

    async def load_codes(self, msisdn: str, purpose: str, now: float) -> CodeSnapshot:
        """The code, guard and send counts of a number (and the global count), in one query."""
        row = await self._one(_CODES, msisdn, purpose, now - 60, now - 600, now - 3600)
        assert row is not None  # the keys' row is always there
        return CodeSnapshot(
            guard=rows.guard(msisdn, row),
            code=rows.code(msisdn, purpose, row, 3),
            sends_last_minute=row[8],
            sends_last_10_minutes=row[9],
            sends_last_hour_all=row[12],
            oldest_send_in_10_minutes=row[10],
            last_send_at=row[11],
        )

    async def claim_outbox(self, now: float, *, limit: int, lease: float) -> list[OutboxRow]:
        """Lease up to ``limit`` due messages to this sender, atomically (rule 12)."""

        async def work(link: Link) -> list[OutboxRow]:
            return await maintenance.claim_outbox(link, now, limit, lease)

        return await self._db.run(work)

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
        """Record a send's result: ``sent``, ``failed``, or ``pending`` again at ``retry_at``."""
        if status not in ("sent", "failed", "pending"):
            raise ValueError(f"unknown outbox status {status!r}")

        async def work(link: Link) -> None:
            await maintenance.finish_outbox(
                link, message_id, status, now, result, provider_ref, retry_at
            )

        await self._db.run(work, replay=True)  # it sets values: running it twice is harmless

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

        async def work(link: Link) -> bool:
            return await maintenance.record_delivery(link, delivery, now, message_id, provider_ref)

        return await self._db.run(work, replay=True)

    async def sweep_sessions(
        self, now: float, *, idle: float, total: float, keep: float
    ) -> SweepResult:
        """End timed-out sessions (annulling their pending data) and purge old ended ones."""

        async def work(link: Link) -> SweepResult:
            return await maintenance.sweep_sessions(link, now, idle, total, keep)

        return await self._db.run(work)

    async def sweep_web(self, now: float, *, idle: float, total: float, keep: float) -> SweepResult:
        """End web sessions past their idle or total time; purge old sessions and challenges."""

        async def work(link: Link) -> SweepResult:
            return await maintenance.sweep_web(link, now, idle, total, keep)

        return await self._db.run(work)

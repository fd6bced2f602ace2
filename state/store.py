"""The store interface the engine and the CLI depend on, and nothing more.

Narrow on purpose: read a snapshot, apply a change set atomically (with the USSD
session's new position in the same transaction), import, and a few reads for operators.
``state/sqlite.py`` implements it today; a PostgreSQL implementation needs only these
methods and the same optimistic-version semantics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from state.models import (
    Activity,
    AuditEntry,
    ChangeSet,
    Client,
    ClientKind,
    LoginChallenge,
    OtpCode,
    OtpGuard,
    Role,
    Subscriber,
    UssdSession,
    WebSession,
)


@dataclass(frozen=True, slots=True)
class SubscriberRecord:
    """One subscriber to import: the PUK1 already keyed-hashed by the importer."""

    msisdn: str
    puk_digest: bytes
    client_ref: str
    client_kind: ClientKind
    client_name: str
    lang: str = "ru"
    account: str | None = None
    """The client's account number (лицевой счёт); None leaves it as it is."""
    identity_digest: bytes | None = field(default=None, repr=False)
    """The client's passport number or UNP, keyed-hashed by the importer."""
    email: str | None = None
    contact_msisdn: str | None = None
    activity: Activity | None = None
    subscription_fee: bool | None = None
    puk_registration: bool | None = None
    """The "registration by PUK1" option; None leaves it as it is."""
    role: Role | None = None
    """A role granted on the client's application; None leaves it as it is."""


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """How an import went."""

    created: int
    updated: int


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """An SMS waiting in (or sent from) the outbox.

    ``status``: ``pending`` (waiting, or leased to a sender until ``next_attempt_at``),
    ``sent`` (accepted by the SMSC), ``failed`` (given up or expired). ``delivery`` is the
    last delivery report (``delivered``, ``undelivered``, ``rejected``, …). A ``body``
    starting with ``Sealer.PREFIX`` is sealed: open it with the ``Sealer`` just before
    sending.
    """

    id: int
    msisdn: str
    kind: str
    body: str = field(repr=False)
    status: str = "pending"
    created_at: float = 0.0
    attempts: int = 0
    next_attempt_at: float | None = None
    provider_ref: str | None = None
    delivery: str | None = None
    result: str | None = None
    expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class CodeSnapshot:
    """Everything a code decision for one number and purpose reads, read together."""

    guard: OtpGuard
    """The number's guard; version 0 (and no failures) if it has none yet."""
    code: OtpCode | None
    sends_last_minute: int
    sends_last_10_minutes: int
    sends_last_hour_all: int
    """Codes sent to anyone in the last hour (the global budget)."""
    oldest_send_in_10_minutes: float | None
    last_send_at: float | None


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What a session sweep did."""

    expired: int
    purged: int


@runtime_checkable
class Store(Protocol):
    """Persistence of the core. Every method is safe to call from many coroutines."""

    async def get_subscriber(self, msisdn: str) -> Subscriber | None:
        """The subscriber's current row, or None."""

    async def get_client(self, client_id: int) -> Client | None:
        """A client by id, or None."""

    async def client_by(
        self, *, account: str | None = None, email: str | None = None
    ) -> Client | None:
        """A client by its account number or its e-mail (case-insensitive), or None."""

    async def client_subscribers(self, client_id: int) -> list[Subscriber]:
        """The subscribers of a client, by number."""

    async def get_guard(self, key: str) -> OtpGuard:
        """The failure guard of ``key``; a fresh one (version 0) if there is none yet."""

    async def get_web_session(self, digest: bytes) -> WebSession | None:
        """A web session by its token's digest, or None."""

    async def get_challenge(self, digest: bytes) -> LoginChallenge | None:
        """A login challenge by its digest, or None."""

    async def audit_log(
        self, *, msisdn: str | None = None, since: float | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Audit entries, newest first, optionally of one subscriber and after ``since``."""

    async def sweep_web(self, now: float, *, idle: float, total: float, keep: float) -> SweepResult:
        """End web sessions past their idle or total time; purge old sessions and challenges."""

    async def load_hop(
        self, session_id: str, msisdn: str
    ) -> tuple[UssdSession | None, Subscriber | None]:
        """A USSD session and its subscriber, read together for one hop."""

    async def commit(
        self,
        changes: ChangeSet,
        *,
        session: UssdSession | None = None,
        session_hop_read: int | None = None,
    ) -> None:
        """Apply ``changes`` and write ``session`` in one durable transaction.

        ``session_hop_read`` is the hop count the session had when read (None for a new
        session). Raises :class:`state.errors.ConcurrentUpdate` if any subscriber's
        version or the session's hop moved since it was read; then nothing is written.
        """

    async def import_subscribers(self, records: Sequence[SubscriberRecord]) -> ImportSummary:
        """Create or update subscribers and their clients; access and password untouched."""

    async def audit_for(self, msisdn: str, limit: int = 50) -> list[AuditEntry]:
        """The latest audit entries of a subscriber, newest first."""

    async def outbox(self, msisdn: str | None = None) -> list[OutboxRow]:
        """Outbox messages, oldest first, optionally of one subscriber."""

    async def sweep_sessions(
        self, now: float, *, idle: float, total: float, keep: float
    ) -> SweepResult:
        """End sessions idle or open too long (dropping their pending data) and purge
        ended ones older than ``keep`` seconds."""

    async def mo_received(self, source: str, message_id: str) -> bool:
        """Whether an MO with this SMSC message id has been answered already."""

    async def load_codes(self, msisdn: str, purpose: str, now: float) -> CodeSnapshot:
        """The code, guard and send counts of a number (and the global count) at ``now``."""

    async def claim_outbox(self, now: float, *, limit: int, lease: float) -> list[OutboxRow]:
        """Take up to ``limit`` due messages for sending: each is leased (its
        ``next_attempt_at`` moved to ``now + lease``) and its attempts counted, atomically,
        so no other worker or process takes it while this one sends."""

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

    async def record_delivery(
        self,
        *,
        delivery: str,
        now: float,
        message_id: int | None = None,
        provider_ref: str | None = None,
    ) -> bool:
        """Store a delivery report against a message (by id or provider reference)."""

    async def ping(self) -> None:
        """Raise if the database cannot be reached (health checks)."""

    async def close(self) -> None:
        """Release connections."""

"""The store interface the engine and the CLI depend on, and nothing more.

Narrow on purpose: read a snapshot, apply a change set atomically (with the USSD
session's new position in the same transaction), import, and a few reads for operators.
``state/sqlite.py`` implements it today; a PostgreSQL implementation needs only these
methods and the same optimistic-version semantics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from state.models import AuditEntry, ChangeSet, Client, ClientKind, Subscriber, UssdSession


@dataclass(frozen=True, slots=True)
class SubscriberRecord:
    """One subscriber to import: the PUK1 already keyed-hashed by the importer."""

    msisdn: str
    puk_digest: bytes
    client_ref: str
    client_kind: ClientKind
    client_name: str
    lang: str = "ru"


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """How an import went."""

    created: int
    updated: int


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """An SMS waiting in (or sent from) the outbox."""

    id: int
    msisdn: str
    kind: str
    body: str
    status: str
    created_at: float


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

    async def ping(self) -> None:
        """Raise if the database cannot be reached (health checks)."""

    async def close(self) -> None:
        """Release connections."""

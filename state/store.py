"""The store contract: what the core persists, split by the roles its callers play.

Callers take the role they use — the engine a :class:`HopStore`, the outbox worker an
:class:`OutboxStore`, the code service a :class:`CodeStore` — and :class:`Store` is their
union, which every backend implements: ``state/sqlite/`` (one file, the embedded default)
and ``state/postgres/`` (several gateway instances on one database). Both pass one contract
suite, ``tests/state/contract/``, which is the executable form of the rules below.

Commit semantics
----------------
Every backend keeps these rules; a test in the contract suite pins each one.

1. **Atomic and durable.** ``commit`` applies a whole :class:`~state.models.ChangeSet` and the
   USSD session's new position in one transaction, or nothing of it. It returns only after
   the transaction is durably committed (SQLite ``synchronous=FULL``, PostgreSQL
   ``synchronous_commit`` on): a reply sent after it never acknowledges a lost change.
2. **Optimistic versions.** Subscribers and clients are written as ``(version read, new
   row)``: the row is updated only if its version is still the one read, and the new row
   carries the advanced version. Otherwise :class:`~state.errors.ConcurrentUpdate` is raised
   and nothing of the commit is written; the caller reads again and decides again
   (:func:`state.retry.retry_conflicts`).
3. **Guards: version 0 means create.** A code/login guard written with version read 0 is
   created if no row exists; if another writer created it first, that is a conflict. A
   guard written with a version read above 0 is an optimistic update as in (2). This keeps
   per-number failure counters exact however many writers race.
4. **Upserts.** A one-time code replaces the number's code for the same purpose (its
   attempts with it); a login challenge replaces the one with the same digest.
5. **Appends.** Audit entries, outbox messages and code sends are appended, in order.
6. **Duplicates are conflicts.** An MO receipt whose (source, message id) is already stored,
   a web session whose token digest exists, and a USSD session id that exists when the
   session is written as new all raise ``ConcurrentUpdate``.
7. **Web sessions.** The request's own session (version read given) is written first, only
   if it is still live and at that version; then ``sessions_ended`` ends every live session
   of those numbers (advancing their versions); then new sessions (version read None) are
   created — so a password change ends every session and hands out a fresh one.
8. **USSD session position.** A new session (``session_hop_read`` None) is inserted. A later
   hop updates the session only if its hop counter is still ``session_hop_read`` and it has
   not ended: a session the sweeper ended is never brought back by a hop read before the
   sweep. Its number, service, language and start never change.
9. **Group isolation.** A backend may commit concurrent callers in one transaction (SQLite's
   group commit); a unit that fails is undone alone and its caller alone gets the error,
   exactly as if each unit had been committed by itself.
10. **Read your writes.** Once ``commit`` has returned, every read of the same store (and, on
    a shared database, of every instance) sees the change.
11. **Sweeps** are safe with any number of instances running them at once: a USSD session
    idle longer than ``idle`` or open longer than ``total`` is ended (``expired``) and its
    pending data and pages (screen text) dropped; ended sessions older than ``keep`` are
    purged. Web sessions likewise (their version advances); login challenges expired more
    than ``keep`` ago are purged.
12. **Outbox leases.** ``claim_outbox`` leases each due message to one claimer (its
    ``next_attempt_at`` moved to ``now + lease``, its attempts counted) atomically: no other
    claimer, in this process or another, gets it until the lease runs out. The backlog
    (``outbox_backlog``) counts every pending message, leased or waiting for a retry, and
    the age of the oldest; sent and failed ones are history, not backlog.
13. **Import** creates or updates subscribers and their clients (clients by reference; a
    field given as None keeps its value; an updated subscriber's version advances) and never
    touches access, passwords, failures or locks. A record that would change an existing
    client's kind or name (each record sees the ones before it) refuses the whole import
    (:class:`~state.errors.SubscriberImportError` naming the record's origin, nothing
    written) unless ``update_clients`` is given; then each such change is audited
    (``client_updated``, with the kind and name before and after) in the same transaction.
14. **Errors.** A backend never lets a driver exception through: a database it cannot reach
    is :class:`~state.errors.StoreUnavailable`, any other database failure
    :class:`~state.errors.StoreError`; after either, nothing of the call is written.

Over 300 lines: the contract itself, the records it exchanges, the role protocols and
the commit rules every backend keeps; it is read as one document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from state.errors import SubscriberImportError
from state.models import (
    Activity,
    AuditEntry,
    ChangeSet,
    Channel,
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
    origin: str | None = field(default=None, compare=False)
    """Where the record was read (``file:line``), for an error the store finds in it."""


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """How an import went."""

    created: int
    updated: int
    clients_updated: int = 0
    """Records that changed an existing client's kind or name (``update_clients``)."""


@dataclass(frozen=True, slots=True)
class ClientChange:
    """A record that changes an existing client's kind or name (rule 13)."""

    record: SubscriberRecord
    before: tuple[ClientKind, str]
    """The client's kind and name as they were."""

    def describe(self) -> str:
        """What changes, for people: ``client 'acme': kind a → b, name 'x' → 'y'``."""
        kind, name = self.before
        parts = []
        if kind != self.record.client_kind:
            parts.append(f"kind {kind} → {self.record.client_kind}")
        if name != self.record.client_name:
            parts.append(f"name {name!r} → {self.record.client_name!r}")
        return f"client {self.record.client_ref!r}: {', '.join(parts)}"

    def audit(self, at: float) -> AuditEntry:
        """The audit entry of the change (names and kinds are no secrets)."""
        kind, name = self.before
        detail = {
            "client_ref": self.record.client_ref,
            "kind": [str(kind), str(self.record.client_kind)],
            "name": [name, self.record.client_name],
        }
        return AuditEntry(self.record.msisdn, "client_updated", "import", Channel.CLI, at, detail)


def client_changes(
    records: Sequence[SubscriberRecord], stored: Mapping[str, tuple[ClientKind, str]]
) -> list[ClientChange]:
    """The records that change a client's kind or name: ``stored`` maps the references of
    existing clients to their kind and name; each record sees the records before it."""
    known = dict(stored)
    changes = []
    for rec in records:
        before = known.get(rec.client_ref)
        after = (ClientKind(rec.client_kind), rec.client_name)
        if before is not None and before != after:
            changes.append(ClientChange(rec, before))
        known[rec.client_ref] = after
    return changes


def refuse_client_changes(changes: Sequence[ClientChange]) -> None:
    """Raise :class:`~state.errors.SubscriberImportError` for the first changes, if any."""
    if not changes:
        return
    first = changes[0]
    reason = f"would change {first.describe()}"
    if len(changes) > 1:
        rest = ", ".join(c.record.origin or c.record.msisdn for c in changes[1:6])
        more = " …" if len(changes) > 6 else ""
        reason += f" (and {len(changes) - 1} more rows change clients: {rest}{more})"
    raise SubscriberImportError(first.record.origin or f"subscriber {first.record.msisdn}", reason)


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
class OutboxBacklog:
    """What is waiting in the outbox: ``pending`` messages (leased or waiting for a retry),
    the oldest created ``oldest_age`` seconds ago (0 when none is pending)."""

    pending: int
    oldest_age: float


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


class SubscriberReads(Protocol):
    """Reads of subscribers and clients (the account front door, operators, the codes)."""

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


class Committer(Protocol):
    """Applies a change set (rules 1–10 of the module docstring)."""

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


class HopStore(Committer, Protocol):
    """What a USSD hop needs: one read, one write."""

    async def load_hop(
        self, session_id: str, msisdn: str
    ) -> tuple[UssdSession | None, Subscriber | None]:
        """A USSD session and its subscriber, read together for one hop."""


class CodeStore(Committer, Protocol):
    """One-time codes: a number's code, guard and send counts, and the MO receipts."""

    async def get_subscriber(self, msisdn: str) -> Subscriber | None:
        """The subscriber's current row, or None."""

    async def load_codes(self, msisdn: str, purpose: str, now: float) -> CodeSnapshot:
        """The code, guard and send counts of a number (and the global count) at ``now``."""

    async def mo_received(self, source: str, message_id: str) -> bool:
        """Whether an MO with this SMSC message id has been answered already."""


class AccountStore(SubscriberReads, Committer, Protocol):
    """The account's front door: subscribers, guards, web sessions and login challenges."""

    async def get_guard(self, key: str) -> OtpGuard:
        """The failure guard of ``key``; a fresh one (version 0) if there is none yet."""

    async def get_web_session(self, digest: bytes) -> WebSession | None:
        """A web session by its token's digest, or None."""

    async def get_challenge(self, digest: bytes) -> LoginChallenge | None:
        """A login challenge by its digest, or None."""


class OperatorStore(SubscriberReads, Committer, Protocol):
    """The operator's use cases (close, open, unlock): subscriber reads and a commit."""


class OutboxStore(Protocol):
    """The durable outbox as its sending worker and the delivery reports see it."""

    async def outbox(self, msisdn: str | None = None) -> list[OutboxRow]:
        """Outbox messages, oldest first, optionally of one subscriber."""

    async def claim_outbox(self, now: float, *, limit: int, lease: float) -> list[OutboxRow]:
        """Take up to ``limit`` due messages for sending (rule 12): each is leased (its
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

    async def outbox_backlog(self, now: float) -> OutboxBacklog:
        """How many messages are pending at ``now`` and how old the oldest is (rule 12);
        one indexed read, for the metrics and the readiness check."""


class Maintenance(Protocol):
    """Sweeps, import, audit reads and the connection's life."""

    async def sweep_sessions(
        self, now: float, *, idle: float, total: float, keep: float
    ) -> SweepResult:
        """End sessions idle or open too long (dropping their pending data and pages) and
        purge ended ones older than ``keep`` seconds (rule 11)."""

    async def sweep_web(self, now: float, *, idle: float, total: float, keep: float) -> SweepResult:
        """End web sessions past their idle or total time; purge old sessions and challenges."""

    async def import_subscribers(
        self, records: Sequence[SubscriberRecord], *, update_clients: bool = False
    ) -> ImportSummary:
        """Create or update subscribers and their clients; access and password untouched.
        A change of an existing client's kind or name needs ``update_clients`` (rule 13)."""

    async def audit_log(
        self, *, msisdn: str | None = None, since: float | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Audit entries, newest first, optionally of one subscriber and after ``since``."""

    async def ping(self) -> None:
        """Raise :class:`~state.errors.StoreUnavailable` if the database cannot be reached."""

    async def close(self) -> None:
        """Release connections."""


@runtime_checkable
class Store(HopStore, CodeStore, AccountStore, OutboxStore, Maintenance, Protocol):
    """Persistence of the core: every role. Every method is safe to call from many
    coroutines."""

"""Values of the core: subscribers, clients, changes and the records that audit them.

Everything here is a frozen dataclass. A decision of the core (``state/access.py``,
``state/passwords.py``) reads a :class:`Subscriber` snapshot and returns a
:class:`ChangeSet`; a store applies a change set atomically or not at all.

Over 300 lines: one frozen dataclass per record of the core (subscriber, client,
sessions, codes, outbox, audit) and the ChangeSet that carries them; no behaviour.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class ClosedBy(enum.StrEnum):
    """Who closed access to the account; a higher rank can't be lifted by a lower one."""

    SUBSCRIBER = "subscriber"
    ORGANISATION = "organisation"
    OPERATOR = "operator"

    @property
    def rank(self) -> int:
        """Precedence: operator over organisation over subscriber."""
        return _RANK[self]


_RANK = {ClosedBy.SUBSCRIBER: 1, ClosedBy.ORGANISATION: 2, ClosedBy.OPERATOR: 3}


class Channel(enum.StrEnum):
    """Where a change came from, for the audit."""

    USSD = "ussd"
    SMS = "sms"
    WEB = "web"
    CLI = "cli"


class ClientKind(enum.StrEnum):
    """The account holder's kind (seed 001 §1.2, §1.6)."""

    INDIVIDUAL = "individual"
    LEGAL_ENTITY = "legal_entity"
    SOLE_PROPRIETOR = "sole_proprietor"


class Activity(enum.StrEnum):
    """An individual's business activity that makes e-mail login available (seed 001 §1.6)."""

    CRAFT = "craft"
    SELF_EMPLOYED = "self_employed"


class Role(enum.StrEnum):
    """Special rights in a client's account (seed 001 §1.2)."""

    ADMINISTRATOR = "administrator"
    SUPERVISOR = "supervisor"


BUSINESS_KINDS = frozenset({ClientKind.LEGAL_ENTITY, ClientKind.SOLE_PROPRIETOR})
"""Clients whose identity is a 9-digit UNP and who may have administrators."""


@dataclass(frozen=True, slots=True)
class Client:
    """An account holder with one or more subscribers (``version`` guards writes)."""

    id: int
    kind: ClientKind
    name: str
    account: str | None = None
    email: str | None = None
    contact_msisdn: str | None = None
    activity: Activity | None = None
    subscription_fee: bool = False
    account_password_changed_at: float | None = None
    version: int = 0
    identity_digest: bytes | None = field(default=None, repr=False)
    account_password_hash: str | None = field(default=None, repr=False)

    @property
    def email_login_allowed(self) -> bool:
        """Legal entities, sole proprietors, craftsmen and the self-employed (§1.6)."""
        return self.kind in BUSINESS_KINDS or self.activity is not None

    @property
    def identity_digits(self) -> int:
        """Passport number (7 digits) for individuals, UNP (9 digits) otherwise (§1.5)."""
        return 9 if self.kind in BUSINESS_KINDS else 7


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A subscriber's row as the core sees it at one moment (``version`` guards writes)."""

    msisdn: str
    client_id: int
    client_kind: ClientKind
    lang: str
    closed_by: ClosedBy | None
    closed_reason: str | None
    closed_at: float | None
    puk_failures: int
    puk_locked_at: float | None
    password_changed_at: float | None
    version: int
    puk_digest: bytes = field(repr=False)
    password_hash: str | None = field(repr=False)
    role: Role | None = None
    puk_registration: bool = False
    temp_password_expires_at: float | None = None
    temp_password_hash: str | None = field(default=None, repr=False)

    @property
    def access_open(self) -> bool:
        """Whether the account can be entered."""
        return self.closed_by is None

    @property
    def puk_locked(self) -> bool:
        """Whether opening with PUK1 is locked until the operator unlocks it."""
        return self.puk_locked_at is not None

    def temporary_password_live(self, now: float) -> bool:
        """Whether an e-mailed temporary password can still be used at ``now``."""
        return self.temp_password_hash is not None and (self.temp_password_expires_at or 0) > now

    @property
    def has_password(self) -> bool:
        """Whether a permanent password has been set."""
        return self.password_hash is not None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change: what, to whom, by whom, through which channel, when. Never a secret."""

    msisdn: str
    action: str
    actor: str
    channel: Channel
    at: float
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """An SMS to send, committed with the change that caused it (sending is the SMS side's).

    A body holding a secret (a one-time code) is sealed (``Sealer.seal``) before it gets
    here: the outbox never holds a code in plain text.
    """

    msisdn: str
    kind: str
    body: str = field(repr=False)
    created_at: float
    expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class OtpCode:
    """The live one-time code of a number for one purpose (its digest, never the code)."""

    msisdn: str
    purpose: str
    digest: bytes = field(repr=False)
    created_at: float
    expires_at: float
    attempts: int = 0
    used_at: float | None = None


@dataclass(frozen=True, slots=True)
class OtpGuard:
    """A number's consecutive wrong codes and the lock they caused; ``version`` guards it."""

    msisdn: str
    failures: int = 0
    locked_until: float | None = None
    version: int = 0


@dataclass(frozen=True, slots=True)
class CodeSend:
    """One code sent, counted by the send limits."""

    msisdn: str
    purpose: str
    channel: Channel
    at: float


@dataclass(frozen=True, slots=True)
class MoReceipt:
    """An MO that has been answered, by its SMSC message id."""

    source: str
    message_id: str
    at: float


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """Everything one unit of work changes; applied in one transaction."""

    subscribers: tuple[tuple[int, Subscriber], ...] = ()
    """(version read, new row) pairs; the write fails if the version moved."""
    audit: tuple[AuditEntry, ...] = ()
    outbox: tuple[OutboxMessage, ...] = ()
    guards: tuple[tuple[int, OtpGuard], ...] = ()
    """(version read, new guard) pairs; version 0 with no row means "create"."""
    codes: tuple[OtpCode, ...] = ()
    """Codes to write (insert or replace the number's code for that purpose)."""
    code_sends: tuple[CodeSend, ...] = ()
    mo_receipts: tuple[MoReceipt, ...] = ()
    """MO ids to remember; a second writer of the same id fails (ConcurrentUpdate)."""
    clients: tuple[tuple[int, Client], ...] = ()
    """(version read, new row) pairs, as for subscribers (account password only)."""
    web_sessions: tuple[tuple[int | None, WebSession], ...] = ()
    """(version read or None to create, new row): a session ended meanwhile fails the write."""
    challenges: tuple[LoginChallenge, ...] = ()
    """Login challenges to write (insert or replace)."""
    sessions_ended: tuple[SessionsEnded, ...] = ()
    """Every live web session of these numbers ends (a password change, a closure)."""

    @classmethod
    def write(cls, before: Subscriber, after: Subscriber, *entries: AuditEntry) -> ChangeSet:
        """A subscriber write (its version advanced) with its audit entries."""
        return cls(subscribers=((before.version, after),), audit=entries)

    def __add__(self, other: ChangeSet) -> ChangeSet:
        return ChangeSet(
            self.subscribers + other.subscribers,
            self.audit + other.audit,
            self.outbox + other.outbox,
            self.guards + other.guards,
            self.codes + other.codes,
            self.code_sends + other.code_sends,
            self.mo_receipts + other.mo_receipts,
            self.clients + other.clients,
            self.web_sessions + other.web_sessions,
            self.challenges + other.challenges,
            self.sessions_ended + other.sessions_ended,
        )

    @property
    def empty(self) -> bool:
        """Whether applying this changes nothing."""
        return not (
            self.subscribers
            or self.audit
            or self.outbox
            or self.guards
            or self.codes
            or self.code_sends
            or self.mo_receipts
            or self.clients
            or self.web_sessions
            or self.challenges
            or self.sessions_ended
        )


@dataclass(frozen=True, slots=True)
class UssdSession:
    """A USSD session's persisted position: enough for any process to take the next hop."""

    id: str
    msisdn: str
    service: str
    state: str
    lang: str
    started_at: float
    updated_at: float
    hop: int
    last_hop_length: int
    """The length of the last hop's key: a cumulative text (Africa's Talking's) continues
    the key this long."""
    last_hop_tag: str
    """A keyed tag of the last hop's key, never the key itself (a cumulative text holds
    every PUK1 and password typed): a repeated hop is recognised by length and tag."""
    last_reply: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict, repr=False)
    """The menu model's own values (counters, a pending password hash)."""
    pages: tuple[str, ...] = field(default=(), repr=False)
    """The pages of a screen too long for one (screen text: annulled with ``data``);
    empty while the screen fits one."""
    page: int = 0
    """The page of :attr:`pages` shown last."""
    ended_at: float | None = None
    end_reason: str | None = None

    @property
    def ended(self) -> bool:
        """Whether the session is over (its last reply is kept for repeated hops)."""
        return self.ended_at is not None


@dataclass(frozen=True, slots=True)
class WebSession:
    """A self-service account session, known by the keyed digest of its token.

    ``credential_at`` is the principal's password epoch at login: once either password
    changes, the session is over wherever the change came from (web, ``*141*0#``, SMS).
    """

    digest: bytes = field(repr=False)
    msisdn: str
    method: str
    created_at: float
    last_seen_at: float
    must_change: bool = False
    credential_at: float | None = None
    ended_at: float | None = None
    end_reason: str | None = None
    version: int = 0


@dataclass(frozen=True, slots=True)
class LoginChallenge:
    """The first step of an account-number or e-mail login: a code is on its way to ``msisdn``."""

    digest: bytes = field(repr=False)
    msisdn: str
    method: str
    created_at: float
    expires_at: float
    must_change: bool = False
    used_at: float | None = None


@dataclass(frozen=True, slots=True)
class SessionsEnded:
    """End all live web sessions of ``msisdn`` at ``at`` for ``reason``."""

    msisdn: str
    reason: str
    at: float

"""The account/subscriber core: numbers, subscribers, access rules, credentials, the store."""

from state.access import AccessOutcome, Decision, PukOutcome
from state.credentials import PasswordHasher, Pepper
from state.errors import (
    ConcurrentUpdate,
    InvalidMsisdn,
    MigrationError,
    StoreError,
    SubscriberImportError,
    UnknownSubscriber,
)
from state.models import (
    AuditEntry,
    ChangeSet,
    Channel,
    Client,
    ClientKind,
    ClosedBy,
    OutboxMessage,
    Subscriber,
    UssdSession,
)
from state.msisdn import mask_msisdn, normalize_msisdn
from state.passwords import PolicyViolation, check_password
from state.sqlite import SqliteStore
from state.store import ImportSummary, OutboxRow, Store, SubscriberRecord, SweepResult

__all__ = [
    "AccessOutcome",
    "AuditEntry",
    "ChangeSet",
    "Channel",
    "Client",
    "ClientKind",
    "ClosedBy",
    "ConcurrentUpdate",
    "Decision",
    "ImportSummary",
    "InvalidMsisdn",
    "MigrationError",
    "OutboxMessage",
    "OutboxRow",
    "PasswordHasher",
    "Pepper",
    "PolicyViolation",
    "PukOutcome",
    "SqliteStore",
    "Store",
    "StoreError",
    "Subscriber",
    "SubscriberImportError",
    "SubscriberRecord",
    "SweepResult",
    "UnknownSubscriber",
    "UssdSession",
    "check_password",
    "mask_msisdn",
    "normalize_msisdn",
]

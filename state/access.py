"""Access to the self-service account: who may close it, who may open it, and PUK1.

Rules (seed 001 §1.10–1.13, reference/security.md):
- a closure records its source; a higher source (operator > organisation > subscriber)
  takes over a lower one, and only the same or a higher source can lift it — so a
  subscriber can reopen only what the subscriber closed;
- a subscriber reopens with the SIM's PUK1; our own counter of consecutive wrong PUK1s
  is durable, and the 5th locks opening until the operator unlocks it, with an alert SMS
  queued in the outbox in the same transaction.

Each function is a pure decision: a snapshot in, the new snapshot and a change set out.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from state.credentials import Pepper
from state.models import (
    AuditEntry,
    ChangeSet,
    Channel,
    ClosedBy,
    OutboxMessage,
    SessionsEnded,
    Subscriber,
)

PUK_ATTEMPTS = 5


class AccessOutcome(enum.StrEnum):
    """What a request to close or open access came to."""

    CLOSED = "closed"
    OPENED = "opened"
    ALREADY_CLOSED = "already_closed"
    ALREADY_OPEN = "already_open"
    NOT_PERMITTED = "not_permitted"
    """The closure comes from a higher source than the requester."""


class PukOutcome(enum.StrEnum):
    """What a PUK1 typed to reopen access came to."""

    ACCEPTED = "accepted"
    WRONG = "wrong"
    LOCKED_NOW = "locked_now"
    LOCKED = "locked"
    """Opening was already locked; the PUK1 was not even compared."""
    NOT_PERMITTED = "not_permitted"
    ALREADY_OPEN = "already_open"


@dataclass(frozen=True, slots=True)
class Decision:
    """A decision's result: the outcome, the subscriber after it, and what to commit."""

    outcome: str
    subscriber: Subscriber
    changes: ChangeSet = field(default_factory=ChangeSet)
    attempts_left: int = 0


def _advance(sub: Subscriber, **fields: object) -> Subscriber:
    """The row after a change: new field values and the next version."""
    return replace(sub, version=sub.version + 1, **fields)  # type: ignore[arg-type]


def close_access(
    sub: Subscriber, *, by: ClosedBy, actor: str, channel: Channel, reason: str | None, now: float
) -> Decision:
    """Close access on behalf of ``by``; a higher source takes over an existing closure."""
    if sub.closed_by is not None and sub.closed_by.rank >= by.rank:
        return Decision(AccessOutcome.ALREADY_CLOSED, sub)
    after = _advance(sub, closed_by=by, closed_reason=reason, closed_at=now)
    detail = {"closed_by": str(by), "reason": reason or ""}
    if sub.closed_by is not None:
        detail["replaces"] = str(sub.closed_by)
    entry = AuditEntry(sub.msisdn, "access_closed", actor, channel, now, detail)
    # Closing access ends the account's live sessions too (a lost SIM must not leave one).
    ended = ChangeSet(sessions_ended=(SessionsEnded(sub.msisdn, "access_closed", now),))
    return Decision(AccessOutcome.CLOSED, after, ChangeSet.write(sub, after, entry) + ended)


def open_access(
    sub: Subscriber, *, by: ClosedBy, actor: str, channel: Channel, reason: str | None, now: float
) -> Decision:
    """Lift a closure on behalf of ``by``, if it is of the same or a lower source.

    The PUK1 check of a subscriber's own reopening is :func:`open_with_puk`; this is
    for the organisation and the operator (and for the subscriber once proven).
    """
    if sub.closed_by is None:
        return Decision(AccessOutcome.ALREADY_OPEN, sub)
    if sub.closed_by.rank > by.rank:
        return Decision(AccessOutcome.NOT_PERMITTED, sub)
    after = _advance(sub, closed_by=None, closed_reason=None, closed_at=None)
    detail = {"was_closed_by": str(sub.closed_by), "reason": reason or ""}
    entry = AuditEntry(sub.msisdn, "access_opened", actor, channel, now, detail)
    return Decision(AccessOutcome.OPENED, after, ChangeSet.write(sub, after, entry))


def open_with_puk(
    sub: Subscriber,
    puk: str,
    *,
    pepper: Pepper,
    channel: Channel,
    now: float,
    lock_alert: str,
) -> Decision:
    """A subscriber's reopening with PUK1: counts, locks and alerts as the rules say.

    Args:
        lock_alert: the SMS text queued for the subscriber if this attempt locks opening.
    """
    if sub.closed_by is None:
        return Decision(PukOutcome.ALREADY_OPEN, sub)
    if sub.closed_by is not ClosedBy.SUBSCRIBER:
        return Decision(PukOutcome.NOT_PERMITTED, sub)
    if sub.puk_locked:
        return Decision(PukOutcome.LOCKED, sub)
    actor = "subscriber"
    if pepper.matches(puk, sub.puk_digest):
        after = _advance(sub, closed_by=None, closed_reason=None, closed_at=None, puk_failures=0)
        entry = AuditEntry(sub.msisdn, "access_opened", actor, channel, now, {"proof": "puk1"})
        return Decision(PukOutcome.ACCEPTED, after, ChangeSet.write(sub, after, entry))
    return _wrong_puk(sub, channel=channel, now=now, lock_alert=lock_alert)


def check_puk(
    sub: Subscriber, puk: str, *, pepper: Pepper, channel: Channel, now: float, lock_alert: str
) -> Decision:
    """PUK1 as proof of the SIM outside ``*141*3*6#`` (registration by PUK1 on the web).

    The same durable counter as reopening: a wrong PUK1 here counts towards the same lock,
    so the web is no way around it. ACCEPTED resets the counter; nothing else changes.
    """
    if sub.puk_locked:
        return Decision(PukOutcome.LOCKED, sub)
    if pepper.matches(puk, sub.puk_digest):
        if sub.puk_failures == 0:
            return Decision(PukOutcome.ACCEPTED, sub)
        after = _advance(sub, puk_failures=0)
        return Decision(PukOutcome.ACCEPTED, after, ChangeSet.write(sub, after))
    return _wrong_puk(sub, channel=channel, now=now, lock_alert=lock_alert)


def _wrong_puk(sub: Subscriber, *, channel: Channel, now: float, lock_alert: str) -> Decision:
    actor = "subscriber"
    failures = sub.puk_failures + 1
    if failures < PUK_ATTEMPTS:
        after = _advance(sub, puk_failures=failures)
        entry = AuditEntry(sub.msisdn, "puk_failed", actor, channel, now, {"failures": failures})
        return Decision(
            PukOutcome.WRONG, after, ChangeSet.write(sub, after, entry), PUK_ATTEMPTS - failures
        )
    after = _advance(sub, puk_failures=failures, puk_locked_at=now)
    entries = (
        AuditEntry(sub.msisdn, "puk_failed", actor, channel, now, {"failures": failures}),
        AuditEntry(sub.msisdn, "puk_locked", "system", channel, now, {"failures": failures}),
    )
    alert = OutboxMessage(sub.msisdn, "puk_locked_alert", lock_alert, now)
    changes = ChangeSet(((sub.version, after),), entries, (alert,))
    return Decision(PukOutcome.LOCKED_NOW, after, changes)


def unlock_puk(sub: Subscriber, *, actor: str, channel: Channel, now: float) -> Decision:
    """The operator lifts a PUK1 lock and clears the failure counter."""
    if not sub.puk_locked and sub.puk_failures == 0:
        return Decision("not_locked", sub)
    after = _advance(sub, puk_failures=0, puk_locked_at=None)
    detail = {"failures": sub.puk_failures}
    entry = AuditEntry(sub.msisdn, "puk_unlocked", actor, channel, now, detail)
    return Decision("unlocked", after, ChangeSet.write(sub, after, entry))

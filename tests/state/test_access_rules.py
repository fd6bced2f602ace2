"""Access rules as pure decisions: closure precedence, PUK1 counting and locking."""

from __future__ import annotations

import pytest

from state import access
from state.access import AccessOutcome, PukOutcome
from state.credentials import Pepper
from state.models import Channel, ClientKind, ClosedBy, Subscriber

PEPPER = Pepper(b"k" * 32)
RIGHT = "12345678"


def subscriber(closed_by: ClosedBy | None = None, failures: int = 0, locked: bool = False) -> Subscriber:
    return Subscriber(
        msisdn="375291234567", client_id=1, client_kind=ClientKind.INDIVIDUAL, lang="ru",
        closed_by=closed_by, closed_reason=None, closed_at=None, puk_failures=failures,
        puk_locked_at=1.0 if locked else None, password_changed_at=None, version=3,
        puk_digest=PEPPER.digest(RIGHT), password_hash=None,
    )


def close(sub: Subscriber, by: ClosedBy) -> access.Decision:
    return access.close_access(sub, by=by, actor="t", channel=Channel.CLI, reason="r", now=5.0)


def reopen(sub: Subscriber, by: ClosedBy) -> access.Decision:
    return access.open_access(sub, by=by, actor="t", channel=Channel.CLI, reason=None, now=5.0)


def puk(sub: Subscriber, value: str) -> access.Decision:
    return access.open_with_puk(sub, value, pepper=PEPPER, channel=Channel.USSD, now=9.0,
                                lock_alert="alert")


@pytest.mark.parametrize("closer", list(ClosedBy))
@pytest.mark.parametrize("opener", list(ClosedBy))
def test_only_same_or_higher_source_can_reopen(closer: ClosedBy, opener: ClosedBy) -> None:
    """A closure is lifted only by its own source or a higher one."""
    closed = close(subscriber(), closer).subscriber
    outcome = reopen(closed, opener).outcome
    expected = AccessOutcome.OPENED if opener.rank >= closer.rank else AccessOutcome.NOT_PERMITTED
    assert outcome == expected


def test_higher_source_takes_over_a_closure() -> None:
    """The operator closing what the subscriber closed becomes the closure's source."""
    decision = close(subscriber(ClosedBy.SUBSCRIBER), ClosedBy.OPERATOR)
    assert decision.outcome == AccessOutcome.CLOSED
    assert decision.subscriber.closed_by is ClosedBy.OPERATOR
    assert decision.changes.audit[0].detail["replaces"] == "subscriber"


def test_lower_source_cannot_downgrade_a_closure() -> None:
    """The subscriber closing what the operator closed changes nothing."""
    decision = close(subscriber(ClosedBy.OPERATOR), ClosedBy.SUBSCRIBER)
    assert decision.outcome == AccessOutcome.ALREADY_CLOSED and decision.changes.empty


def test_every_change_advances_the_version_and_is_audited() -> None:
    """A write carries the version it read and the next one, and an audit entry."""
    decision = close(subscriber(), ClosedBy.SUBSCRIBER)
    ((read, after),) = decision.changes.subscribers
    assert (read, after.version) == (3, 4)
    assert [e.action for e in decision.changes.audit] == ["access_closed"]


def test_right_puk_opens_and_resets_the_counter() -> None:
    """The right PUK1 reopens a subscriber's closure and clears earlier failures."""
    decision = puk(subscriber(ClosedBy.SUBSCRIBER, failures=3), RIGHT)
    assert decision.outcome == PukOutcome.ACCEPTED
    assert decision.subscriber.access_open and decision.subscriber.puk_failures == 0


def test_fifth_consecutive_failure_locks_and_queues_an_alert() -> None:
    """Failures 1–4 count down; the 5th locks and queues exactly one alert SMS."""
    sub = subscriber(ClosedBy.SUBSCRIBER)
    for left in (4, 3, 2, 1):
        decision = puk(sub, "00000000")
        assert (decision.outcome, decision.attempts_left) == (PukOutcome.WRONG, left)
        assert not decision.changes.outbox
        sub = decision.subscriber
    decision = puk(sub, "00000000")
    assert decision.outcome == PukOutcome.LOCKED_NOW and decision.subscriber.puk_locked
    assert [m.kind for m in decision.changes.outbox] == ["puk_locked_alert"]


def test_locked_refuses_even_the_right_puk() -> None:
    """Once locked, a right PUK1 is not even compared."""
    decision = puk(subscriber(ClosedBy.SUBSCRIBER, failures=5, locked=True), RIGHT)
    assert decision.outcome == PukOutcome.LOCKED and decision.changes.empty


@pytest.mark.parametrize("source", [ClosedBy.ORGANISATION, ClosedBy.OPERATOR])
def test_puk_cannot_lift_other_sources(source: ClosedBy) -> None:
    """PUK1 reopens only the subscriber's own closure, and is not counted otherwise."""
    decision = puk(subscriber(source), RIGHT)
    assert decision.outcome == PukOutcome.NOT_PERMITTED and decision.changes.empty


def test_unlock_clears_lock_and_counter() -> None:
    """The operator's unlock clears both the lock and the failures."""
    decision = access.unlock_puk(subscriber(ClosedBy.SUBSCRIBER, 5, True), actor="op",
                                 channel=Channel.CLI, now=1.0)
    assert decision.outcome == "unlocked"
    assert not decision.subscriber.puk_locked and decision.subscriber.puk_failures == 0

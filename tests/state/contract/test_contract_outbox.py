"""Rule 12: the outbox leases each due message to one claimer at a time, counts its
attempts, and keeps each send's result and delivery report; its backlog counts what is
still pending."""

from __future__ import annotations

import asyncio

from contract_support import EN, RU, T0, OpenStore

from state.models import ChangeSet, OutboxMessage
from state.store import OutboxBacklog, OutboxRow, Store

NOW = T0


async def _queue(store: Store, *bodies: str, at: float = NOW) -> list[OutboxRow]:
    await store.commit(ChangeSet(outbox=tuple(OutboxMessage(RU, "code", b, at) for b in bodies)))
    return await store.outbox()


async def test_outbox_is_leased_once_then_finished(store: Store) -> None:
    """A due message is claimed by one sender only until its lease ends; results stick."""
    message = OutboxMessage(RU, "code", "Код: 123456", NOW)
    await store.commit(ChangeSet(outbox=(message,)))
    (claimed,) = await store.claim_outbox(NOW, limit=10, lease=30)
    assert claimed.attempts == 1 and claimed.next_attempt_at == NOW + 30
    assert await store.claim_outbox(NOW + 1, limit=10, lease=30) == []
    (again,) = await store.claim_outbox(NOW + 31, limit=10, lease=30)  # the lease ran out
    assert again.id == claimed.id and again.attempts == 2
    await store.finish_outbox(claimed.id, status="sent", now=NOW + 32, provider_ref="k-1")
    assert await store.claim_outbox(NOW + 100, limit=10, lease=30) == []
    assert await store.record_delivery(delivery="delivered", now=NOW + 40, provider_ref="k-1")
    assert not await store.record_delivery(delivery="delivered", now=NOW, provider_ref="none")
    (row,) = await store.outbox(RU)
    assert (row.status, row.provider_ref, row.delivery) == ("sent", "k-1", "delivered")


async def test_a_claimed_message_is_returned_whole_and_stored_leased(store: Store) -> None:
    """A claim returns the message as queued, its attempts counted and its lease set, and
    the outbox shows the same: still pending, leased until ``now + lease``."""
    await store.commit(
        ChangeSet(
            outbox=(OutboxMessage(EN, "alert", "Доступ закрыт", NOW - 5, expires_at=NOW + 300),)
        )
    )
    (claimed,) = await store.claim_outbox(NOW, limit=5, lease=45)
    assert (claimed.msisdn, claimed.kind, claimed.body) == (EN, "alert", "Доступ закрыт")
    assert (claimed.status, claimed.attempts, claimed.next_attempt_at) == ("pending", 1, NOW + 45)
    assert (claimed.created_at, claimed.expires_at) == (NOW - 5, NOW + 300)
    assert await store.outbox() == [claimed]


async def test_claims_take_due_messages_oldest_first_up_to_the_limit(store: Store) -> None:
    """Due messages are claimed oldest first, ``limit`` at a time; a message queued for
    later is not due before its time."""
    queued = await _queue(store, "a", "b", "c")
    await _queue(store, "later", at=NOW + 100)
    first = await store.claim_outbox(NOW, limit=2, lease=300)
    assert [r.id for r in first] == [queued[0].id, queued[1].id]
    assert [r.body for r in await store.claim_outbox(NOW, limit=2, lease=300)] == ["c"]
    assert await store.claim_outbox(NOW + 10, limit=10, lease=300) == []
    assert [r.body for r in await store.claim_outbox(NOW + 100, limit=10, lease=300)] == ["later"]


async def test_outbox_retry_waits_for_its_time(store: Store) -> None:
    """A message put back with retry_at is not claimed before then, and keeps its result."""
    await store.commit(ChangeSet(outbox=(OutboxMessage(RU, "k", "b", NOW),)))
    (claimed,) = await store.claim_outbox(NOW, limit=1, lease=30)
    await store.finish_outbox(
        claimed.id, status="pending", now=NOW, result="503", retry_at=NOW + 60
    )
    (row,) = await store.outbox()
    assert (row.status, row.result, row.next_attempt_at, row.attempts) == (
        "pending",
        "503",
        NOW + 60,
        1,
    )
    assert await store.claim_outbox(NOW + 59, limit=1, lease=30) == []
    (retried,) = await store.claim_outbox(NOW + 60, limit=1, lease=30)
    assert (retried.id, retried.attempts) == (claimed.id, 2)


async def test_sent_and_failed_messages_are_never_claimed_again(store: Store) -> None:
    """A finished message (sent or failed) keeps its status and result for good."""
    sent, failed = await _queue(store, "sent", "failed")
    await store.claim_outbox(NOW, limit=2, lease=30)
    await store.finish_outbox(sent.id, status="sent", now=NOW + 1, result="ok", provider_ref="p")
    await store.finish_outbox(failed.id, status="failed", now=NOW + 1, result="expired")
    assert await store.claim_outbox(NOW + 10_000, limit=10, lease=30) == []
    rows = {r.body: r for r in await store.outbox()}
    assert (rows["sent"].status, rows["sent"].result, rows["sent"].provider_ref) == (
        "sent",
        "ok",
        "p",
    )
    assert (rows["failed"].status, rows["failed"].result) == ("failed", "expired")


async def test_delivery_reports_match_by_id_or_provider_reference(store: Store) -> None:
    """A report is stored against the message it names, by id or by the SMSC's reference;
    a report naming no message is refused (False) and changes nothing."""
    first, second = await _queue(store, "first", "second")
    await store.finish_outbox(second.id, status="sent", now=NOW, provider_ref="smsc-77")
    assert await store.record_delivery(delivery="undelivered", now=NOW + 1, message_id=first.id)
    assert await store.record_delivery(delivery="delivered", now=NOW + 2, provider_ref="smsc-77")
    assert not await store.record_delivery(delivery="delivered", now=NOW, message_id=10_000_000)
    assert not await store.record_delivery(delivery="delivered", now=NOW, provider_ref="smsc-0")
    rows = await store.outbox()
    assert [(r.body, r.delivery) for r in rows] == [
        ("first", "undelivered"),
        ("second", "delivered"),
    ]
    assert rows[1].provider_ref == "smsc-77"


async def test_concurrent_claimers_never_get_the_same_message(
    store: Store, open_store: OpenStore
) -> None:
    """Six claimers on three instances claim at once, round after round: every message is
    claimed exactly once (one attempt each) until all are gone."""
    instances = [store, await open_store(), await open_store()]
    queued = await _queue(store, *(f"m{n}" for n in range(40)))
    claimed: list[OutboxRow] = []
    for _ in range(10):
        rounds = await asyncio.gather(
            *(instances[n % 3].claim_outbox(NOW, limit=3, lease=300) for n in range(6))
        )
        claimed += [row for batch in rounds for row in batch]
    ids = [r.id for r in claimed]
    assert len(ids) == len(set(ids)), "a message was leased to two claimers"
    assert sorted(ids) == sorted(r.id for r in queued)
    assert all(r.attempts == 1 for r in claimed)
    assert all(r.attempts == 1 for r in await store.outbox())


async def test_the_backlog_counts_pending_messages_and_the_oldest_ones_age(store: Store) -> None:
    """Pending messages are backlog whether waiting, leased or put back for a retry; sent
    and failed ones are not. The age is the oldest pending message's, from ``now``."""
    assert await store.outbox_backlog(NOW) == OutboxBacklog(0, 0.0)
    oldest, leased, retried, sent, failed = await _queue(store, "a", "b", "c", "d", "e")
    await _queue(store, "newest", at=NOW + 30)
    await store.claim_outbox(NOW + 40, limit=10, lease=300)  # every one leased
    await store.finish_outbox(retried.id, status="pending", now=NOW + 41, retry_at=NOW + 900)
    await store.finish_outbox(sent.id, status="sent", now=NOW + 41, provider_ref="p-1")
    await store.finish_outbox(failed.id, status="failed", now=NOW + 41, result="rejected")
    assert await store.outbox_backlog(NOW + 100) == OutboxBacklog(4, 100.0)
    await store.finish_outbox(oldest.id, status="sent", now=NOW + 101)
    await store.finish_outbox(leased.id, status="failed", now=NOW + 101, result="gave_up")
    await store.finish_outbox(retried.id, status="sent", now=NOW + 101)
    assert await store.outbox_backlog(NOW + 100) == OutboxBacklog(1, 70.0)  # "newest"
    assert await store.outbox_backlog(NOW) == OutboxBacklog(1, 0.0)  # never negative


async def test_the_backlog_is_the_same_from_every_instance(
    store: Store, second_store: Store
) -> None:
    """A message committed on one instance is backlog on the other (rule 10)."""
    await _queue(store, "x", "y", at=NOW - 7.5)
    assert await second_store.outbox_backlog(NOW) == OutboxBacklog(2, 7.5)

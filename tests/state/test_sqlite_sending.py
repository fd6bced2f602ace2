"""The store's code and outbox methods: exact guards, counted sends, leased sending."""

from __future__ import annotations

import pytest

from support import OPEN_RU
from state.errors import ConcurrentUpdate
from state.models import Channel, ChangeSet, CodeSend, OtpCode, OtpGuard, OutboxMessage
from state.sqlite import SqliteStore

NOW = 10_000.0


async def test_code_snapshot_counts_sends(store: SqliteStore) -> None:
    """Per-number minute and 10-minute counts, the global hour count, the last send."""
    sends = [CodeSend(OPEN_RU.msisdn, "login", Channel.WEB, NOW - t) for t in (5, 120, 700)]
    sends.append(CodeSend("375330000001", "login", Channel.WEB, NOW - 30))
    await store.commit(ChangeSet(code_sends=tuple(sends)))
    snap = await store.load_codes(OPEN_RU.msisdn, "login", NOW)
    assert (snap.sends_last_minute, snap.sends_last_10_minutes, snap.sends_last_hour_all) == (
        1, 2, 4
    )
    assert snap.last_send_at == NOW - 5 and snap.oldest_send_in_10_minutes == NOW - 120
    assert snap.code is None and snap.guard == OtpGuard(OPEN_RU.msisdn)


async def test_code_replaced_and_guard_versioned(store: SqliteStore) -> None:
    """A code write replaces the number's code; a guard write on a stale version fails."""
    first = OtpCode(OPEN_RU.msisdn, "login", b"a" * 32, NOW, NOW + 300)
    guard = OtpGuard(OPEN_RU.msisdn, failures=0, version=1)
    await store.commit(ChangeSet(guards=((0, guard),), codes=(first,)))
    second = OtpCode(OPEN_RU.msisdn, "login", b"b" * 32, NOW + 1, NOW + 301)
    await store.commit(ChangeSet(guards=((1, OtpGuard(OPEN_RU.msisdn, 2, None, 2)),),
                                 codes=(second,)))
    snap = await store.load_codes(OPEN_RU.msisdn, "login", NOW + 2)
    assert snap.code is not None and snap.code.digest == b"b" * 32
    assert snap.guard.failures == 2 and snap.guard.version == 2
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet(guards=((1, OtpGuard(OPEN_RU.msisdn, 9, None, 2)),)))
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet(guards=((0, OtpGuard(OPEN_RU.msisdn, 9, None, 1)),)))
    assert (await store.load_codes(OPEN_RU.msisdn, "login", NOW)).guard.failures == 2


async def test_outbox_is_leased_once_then_finished(store: SqliteStore) -> None:
    """A due message is claimed by one sender only until its lease ends; results stick."""
    message = OutboxMessage(OPEN_RU.msisdn, "code", "Код: 123456", NOW)
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
    (row,) = await store.outbox(OPEN_RU.msisdn)
    assert (row.status, row.provider_ref, row.delivery) == ("sent", "k-1", "delivered")


async def test_outbox_retry_waits_for_its_time(store: SqliteStore) -> None:
    """A message put back with retry_at is not claimed before then."""
    await store.commit(ChangeSet(outbox=(OutboxMessage(OPEN_RU.msisdn, "k", "b", NOW),)))
    (claimed,) = await store.claim_outbox(NOW, limit=1, lease=30)
    await store.finish_outbox(claimed.id, status="pending", now=NOW, result="503",
                              retry_at=NOW + 60)
    assert await store.claim_outbox(NOW + 59, limit=1, lease=30) == []
    assert len(await store.claim_outbox(NOW + 60, limit=1, lease=30)) == 1


def test_sealed_bodies_open_only_with_their_key() -> None:
    """A sealed body hides its text, opens with the same pepper, and fails with another."""
    from state.credentials import Pepper, Sealer

    sealer = Sealer(Pepper(b"a" * 32))
    sealed = sealer.seal("Код: 123456")
    assert sealed.startswith(Sealer.PREFIX) and "123456" not in sealed
    assert sealer.open(sealed) == "Код: 123456"
    assert sealer.open("plain alert") == "plain alert"
    assert sealer.seal("x") != sealer.seal("x")  # a fresh nonce every time
    with pytest.raises(ValueError, match="cannot be opened"):
        Sealer(Pepper(b"b" * 32)).open(sealed)

"""Rule 6: an MO receipt, a web session token or a new USSD session id stored twice is a
conflict (ConcurrentUpdate), also between instances and writers racing."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from contract_support import EN, RU, T0, entry, unique, ussd, web

from state.errors import ConcurrentUpdate
from state.models import ChangeSet, MoReceipt
from state.store import Store


async def test_an_mo_receipt_is_remembered(store: Store, second_store: Store) -> None:
    """A stored receipt answers mo_received for its source and id only."""
    assert not await store.mo_received("smsc", "m-1")
    await store.commit(ChangeSet(mo_receipts=(MoReceipt("smsc", "m-1", T0),)))
    assert await store.mo_received("smsc", "m-1")
    assert await second_store.mo_received("smsc", "m-1")
    assert not await store.mo_received("smsc", "m-2")
    assert not await store.mo_received("kannel", "m-1")


async def test_a_duplicate_mo_receipt_is_a_conflict(store: Store, second_store: Store) -> None:
    """An MO answered already (by this or another instance) fails the second answer
    whole; the same id from another source is another MO."""
    await store.commit(ChangeSet(mo_receipts=(MoReceipt("smsc", "m-1", T0),)))
    for instance in (store, second_store):
        with pytest.raises(ConcurrentUpdate):
            await instance.commit(
                ChangeSet(
                    audit=(entry(RU, "answered again"),),
                    mo_receipts=(MoReceipt("smsc", "m-1", T0 + 5),),
                )
            )
    assert await store.audit_log() == []
    await second_store.commit(ChangeSet(mo_receipts=(MoReceipt("kannel", "m-1", T0),)))
    assert await store.mo_received("kannel", "m-1")


async def test_racing_deliveries_of_one_mo_are_answered_once(
    store: Store, second_store: Store
) -> None:
    """Redeliveries of one MO handled at once on two instances: one answer lands."""
    mo_id = unique("mo")
    answers = [
        (store, second_store)[n % 2].commit(
            ChangeSet(
                audit=(entry(RU, f"answer {n}"),), mo_receipts=(MoReceipt("smsc", mo_id, T0 + n),)
            )
        )
        for n in range(6)
    ]
    results = await asyncio.gather(*answers, return_exceptions=True)
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, ConcurrentUpdate) for r in results if r is not None)
    assert len(await store.audit_log()) == 1


async def test_a_duplicate_web_session_token_is_a_conflict(store: Store) -> None:
    """A new session whose token digest exists fails, and the stored one is untouched."""
    first = web("token", RU)
    await store.commit(ChangeSet(web_sessions=((None, first),)))
    with pytest.raises(ConcurrentUpdate):
        await store.commit(
            ChangeSet(
                web_sessions=((None, web("token", EN, at=T0 + 1)),), audit=(entry(EN, "login"),)
            )
        )
    assert await store.get_web_session(first.digest) == first
    assert await store.audit_log() == []


async def test_an_existing_ussd_session_id_written_as_new_is_a_conflict(store: Store) -> None:
    """A session written as new (no hop read) whose id exists fails; the first stays."""
    first = ussd("native:dup")
    await store.commit(ChangeSet(), session=first)
    with pytest.raises(ConcurrentUpdate):
        await store.commit(
            ChangeSet(audit=(entry(RU, "second start"),)),
            session=replace(first, state="other", data={}),
        )
    assert (await store.load_hop("native:dup", RU))[0] == first
    assert await store.audit_log() == []


async def test_racing_first_hops_of_one_session_start_it_once(
    store: Store, second_store: Store
) -> None:
    """The first hop of a session retried at once on two instances: one start lands."""
    session_id = unique("native")
    starts = [
        (store, second_store)[n % 2].commit(
            ChangeSet(), session=ussd(session_id, state=f"state {n}")
        )
        for n in range(6)
    ]
    results = await asyncio.gather(*starts, return_exceptions=True)
    winners = [n for n, r in enumerate(results) if r is None]
    assert len(winners) == 1
    assert all(isinstance(r, ConcurrentUpdate) for r in results if r is not None)
    stored, _ = await second_store.load_hop(session_id, RU)
    assert stored is not None and stored.state == f"state {winners[0]}"

"""Rule 9: concurrent commits are isolated: the failing unit is undone alone and its caller
alone gets the error, whatever the backend batches."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from contract_support import EN, RU, T0, advanced, entry, subscriber, unique, ussd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from state.errors import ConcurrentUpdate, StoreError
from state.models import ChangeSet, MoReceipt, OtpGuard, OutboxMessage
from state.store import Store


def _own_unit(tag: str) -> ChangeSet:
    """A unit that conflicts with nothing: its own audit entry, message, guard, receipt."""
    return ChangeSet(
        audit=(entry(RU, tag),),
        outbox=(OutboxMessage(RU, "k", tag, T0),),
        guards=((0, OtpGuard(f"guard:{tag}", 1, None, 1)),),
        mo_receipts=(MoReceipt("smsc", tag, T0),),
    )


async def _landed(store: Store, tag: str) -> bool:
    """Whether every part of ``_own_unit(tag)`` is stored (asserting it is all or nothing)."""
    audit = tag in {e.action for e in await store.audit_log(limit=10_000)}
    parts = {
        audit,
        tag in {m.body for m in await store.outbox()},
        (await store.get_guard(f"guard:{tag}")).version == 1,
        await store.mo_received("smsc", tag),
    }
    assert len(parts) == 1, f"unit {tag} is partly written"
    return audit


async def test_concurrent_store_commits_are_durable_when_they_return(store: Store) -> None:
    """Three concurrent subscriber writes: the two current ones land, the stale one (it
    read the version the first one moves) alone fails, and its audit with it."""
    ru = await subscriber(store, RU)
    en = await subscriber(store, EN)
    writes = [
        ChangeSet.write(ru, advanced(ru, puk_failures=1), entry(RU, "first")),
        ChangeSet.write(en, advanced(en, puk_failures=2), entry(EN, "second")),
        ChangeSet.write(ru, advanced(ru, puk_failures=3), entry(RU, "stale")),
    ]
    results = await asyncio.gather(*(store.commit(w) for w in writes), return_exceptions=True)
    assert results[:2] == [None, None] and isinstance(results[2], ConcurrentUpdate)
    assert (await subscriber(store, RU)).puk_failures == 1
    assert (await subscriber(store, EN)).puk_failures == 2
    assert sorted(e.action for e in await store.audit_log()) == ["first", "second"]


@pytest.mark.parametrize("failing", [0, 4, 9])
async def test_one_conflict_among_ten_concurrent_commits_fails_alone(
    store: Store, failing: int
) -> None:
    """Ten commits at once, one of them stale: the nine others land whole and return None;
    the stale one's caller alone gets ConcurrentUpdate, and nothing of it is written."""
    ru = await subscriber(store, RU)
    stale = ChangeSet.write(replace(ru, version=ru.version + 7), advanced(ru))
    tags = [unique("unit") for _ in range(10)]
    units = [_own_unit(t) + (stale if n == failing else ChangeSet()) for n, t in enumerate(tags)]
    results = await asyncio.gather(*(store.commit(u) for u in units), return_exceptions=True)
    assert [type(r).__name__ for r in results] == [
        "ConcurrentUpdate" if n == failing else "NoneType" for n in range(10)
    ]
    assert [await _landed(store, t) for t in tags] == [n != failing for n in range(10)]
    assert await subscriber(store, RU) == ru


async def test_a_database_error_of_one_unit_fails_that_unit_alone(store: Store) -> None:
    """A unit the database itself refuses (a password column that is not an argon2id hash)
    gets StoreError, not a driver exception; the units committed beside it land."""
    ru = await subscriber(store, RU)
    refused = ChangeSet.write(ru, advanced(ru, password_hash="hunter2hunter2"))
    tags = [unique("unit") for _ in range(5)]
    units = [_own_unit(t) + (refused if n == 2 else ChangeSet()) for n, t in enumerate(tags)]
    results = await asyncio.gather(*(store.commit(u) for u in units), return_exceptions=True)
    assert isinstance(results[2], StoreError) and not isinstance(results[2], ConcurrentUpdate)
    assert [r for n, r in enumerate(results) if n != 2] == [None] * 4
    assert [await _landed(store, t) for t in tags] == [True, True, False, True, True]
    assert await subscriber(store, RU) == ru


CONFLICTS = ("none", "stale subscriber", "duplicate receipt", "stale hop", "duplicate session")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kinds=st.lists(st.sampled_from(CONFLICTS), min_size=2, max_size=8))
async def test_concurrent_units_fail_exactly_where_they_conflict(
    store: Store, kinds: list[str]
) -> None:
    """Any mix of good and conflicting units committed at once: each caller gets exactly
    the outcome its unit would get alone, and exactly the good units are written."""
    ru = await subscriber(store, RU)
    taken = unique("mo")
    live = ussd(unique("native"), hop=3)
    await store.commit(ChangeSet(mo_receipts=(MoReceipt("smsc", taken, T0),)), session=live)
    conflicts = {
        "none": (ChangeSet(), None, None),
        "stale subscriber": (
            ChangeSet.write(
                replace(ru, version=ru.version + 1), replace(ru, version=ru.version + 2)
            ),
            None,
            None,
        ),
        "duplicate receipt": (ChangeSet(mo_receipts=(MoReceipt("smsc", taken, T0),)), None, None),
        "stale hop": (ChangeSet(), replace(live, hop=3, state="lost"), 2),
        "duplicate session": (ChangeSet(), replace(live, state="lost"), None),
    }
    tags = [unique("unit") for _ in kinds]
    commits = []
    for kind, tag in zip(kinds, tags, strict=True):
        extra, session, hop_read = conflicts[kind]
        commits.append(
            store.commit(_own_unit(tag) + extra, session=session, session_hop_read=hop_read)
        )
    results = await asyncio.gather(*commits, return_exceptions=True)
    expected = ["NoneType" if k == "none" else "ConcurrentUpdate" for k in kinds]
    assert [type(r).__name__ for r in results] == expected
    assert [await _landed(store, t) for t in tags] == [k == "none" for k in kinds]
    assert (await store.load_hop(live.id, RU))[0] == live
    assert await subscriber(store, RU) == ru

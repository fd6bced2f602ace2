"""Rule 3: a guard written from version 0 is created; a create race or a stale update is a
conflict, so failure counters stay exact however many writers (and instances) race."""

from __future__ import annotations

import asyncio

import pytest
from contract_support import RU, T0, OpenStore, entry, unique

from state.errors import ConcurrentUpdate
from state.models import ChangeSet, OtpGuard
from state.store import Store


async def test_an_unknown_guard_reads_as_version_0(store: Store) -> None:
    """A key without a guard reads as a fresh guard: no failures, no lock, version 0."""
    assert await store.get_guard("password:375290000000") == OtpGuard("password:375290000000")
    assert (await store.load_codes(RU, "login", T0)).guard == OtpGuard(RU)


async def test_version_0_creates_the_guard(store: Store, second_store: Store) -> None:
    """A guard written from version 0 is created as given, for every instance to read."""
    guard = OtpGuard("password:" + RU, failures=1, locked_until=T0 + 900, version=1)
    await store.commit(ChangeSet(guards=((0, guard),)))
    assert await store.get_guard(guard.msisdn) == guard
    assert await second_store.get_guard(guard.msisdn) == guard


async def test_a_guard_is_one_row_for_get_guard_and_load_codes(store: Store) -> None:
    """The number's guard read by the code service is the one the account reads."""
    guard = OtpGuard(RU, failures=2, locked_until=None, version=1)
    await store.commit(ChangeSet(guards=((0, guard),)))
    assert (await store.load_codes(RU, "register", T0)).guard == guard
    assert await store.get_guard(RU) == guard


async def test_creating_a_guard_another_writer_created_is_a_conflict(store: Store) -> None:
    """Version 0 means create: if the row exists, the write fails and writes nothing."""
    key = unique("guard")
    await store.commit(ChangeSet(guards=((0, OtpGuard(key, 1, None, 1)),)))
    with pytest.raises(ConcurrentUpdate):
        await store.commit(
            ChangeSet(guards=((0, OtpGuard(key, 1, None, 1)),), audit=(entry(RU, "lost"),))
        )
    assert await store.get_guard(key) == OtpGuard(key, 1, None, 1)
    assert await store.audit_log() == []


async def test_concurrent_creates_of_one_guard_land_once(store: Store, second_store: Store) -> None:
    """Six writers on two instances create the same guard at once: exactly one lands, every
    other gets ConcurrentUpdate."""
    key = unique("guard")
    writes = [
        (store if n % 2 else second_store).commit(
            ChangeSet(guards=((0, OtpGuard(key, n, None, 1)),))
        )
        for n in range(1, 7)
    ]
    results = await asyncio.gather(*writes, return_exceptions=True)
    winners = [n for n, r in enumerate(results, start=1) if r is None]
    assert len(winners) == 1
    assert all(isinstance(r, ConcurrentUpdate) for r in results if r is not None)
    assert await store.get_guard(key) == OtpGuard(key, winners[0], None, 1)


async def test_a_guard_update_from_a_stale_version_fails(store: Store) -> None:
    """A guard written from a version above 0 updates only that version; an old one (or 0
    once the guard exists) fails and the guard keeps the current failures."""
    await store.commit(ChangeSet(guards=((0, OtpGuard(RU, 0, None, 1)),)))
    await store.commit(ChangeSet(guards=((1, OtpGuard(RU, 2, None, 2)),)))
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet(guards=((1, OtpGuard(RU, 9, None, 2)),)))
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet(guards=((0, OtpGuard(RU, 9, None, 1)),)))
    assert (await store.load_codes(RU, "login", T0)).guard == OtpGuard(RU, 2, None, 2)


async def test_an_update_of_a_guard_that_does_not_exist_fails(store: Store) -> None:
    """A version read above 0 for a guard that is not stored is a conflict, not a create."""
    key = unique("guard")
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet(guards=((3, OtpGuard(key, 1, None, 4)),)))
    assert await store.get_guard(key) == OtpGuard(key)


async def test_concurrent_updates_of_one_guard_land_once(store: Store, second_store: Store) -> None:
    """Writers that read the same version race: one update lands, the others conflict."""
    key = unique("guard")
    await store.commit(ChangeSet(guards=((0, OtpGuard(key, 0, None, 1)),)))
    writes = [
        (store if n % 2 else second_store).commit(
            ChangeSet(guards=((1, OtpGuard(key, n, None, 2)),))
        )
        for n in range(1, 7)
    ]
    results = await asyncio.gather(*writes, return_exceptions=True)
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, ConcurrentUpdate) for r in results if r is not None)
    assert (await second_store.get_guard(key)).version == 2


async def _count_failures(instance: Store, key: str, times: int) -> int:
    """Count ``times`` failures on the guard ``key``: read, decide, commit, and on a
    conflict read again (as state.retry does). Returns how many conflicts it met.

    A conflict means another writer's count landed, so with 40 counts in all no count can
    conflict more than 40 times; more means no writer makes progress (a livelock)."""
    conflicts = 0
    for _ in range(times):
        for _attempt in range(41):
            guard = await instance.get_guard(key)
            counted = OtpGuard(key, guard.failures + 1, None, guard.version + 1)
            try:
                await instance.commit(ChangeSet(guards=((guard.version, counted),)))
            except ConcurrentUpdate:
                conflicts += 1
                await asyncio.sleep(0)
                continue
            break
        else:
            pytest.fail(f"a count of {key} kept conflicting: no writer makes progress")
    return conflicts


async def test_racing_read_decide_commit_loops_count_exactly(open_store: OpenStore) -> None:
    """Eight loops on two instances each count five failures of one number (read the guard,
    add one, commit, retry on ConcurrentUpdate): the guard ends at exactly forty, version
    forty, with no failure lost or counted twice."""
    instances = [await open_store(), await open_store()]
    key = unique("guard")
    loops = [_count_failures(instances[n % 2], key, 5) for n in range(8)]
    conflicts = await asyncio.gather(*loops)
    for instance in instances:
        assert await instance.get_guard(key) == OtpGuard(key, 40, None, 40)
    assert sum(conflicts) > 0  # they did race (every loop starts from the same read)

"""The store's connections (``state/postgres/pool.py``): asyncpg's pool behind a queue of
``pool_size`` slots, so a connection serves call after call, no more than ``pool_size`` are
opened, a call waits at most ``acquire_timeout``, a dead connection is replaced, and one a
call left in doubt (a transaction open, a cancel under way) is reset before it serves again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from postgres_support import MSISDN, NOW, gateway_connections, kill_gateway_connections

from state.errors import StoreUnavailable
from state.models import AuditEntry, ChangeSet, Channel
from state.postgres import PostgresStore
from state.postgres.pool import Link

pytestmark = pytest.mark.postgres


async def backend(link: Link) -> int:
    row = await link.fetchrow("SELECT pg_backend_pid()")
    assert row is not None
    return int(row[0])


def sleeper(seconds: float) -> Callable[[Link], Awaitable[int]]:
    async def work(link: Link) -> int:
        await link.execute(f"SELECT pg_sleep({seconds})")
        return await backend(link)

    return work


async def test_a_connection_serves_call_after_call(store: PostgresStore, dsn: str) -> None:
    pids = {await store._db.run(backend) for _ in range(20)}
    assert len(pids) == 1
    assert await gateway_connections(dsn) == 1


async def test_calls_in_flight_never_open_more_than_pool_size(dsn: str) -> None:
    store = await PostgresStore.open(dsn, pool_size=3)
    try:
        pids = await asyncio.gather(*(store._db.run(sleeper(0.05)) for _ in range(12)))
        assert len(set(pids)) == 3
        assert await gateway_connections(dsn) == 3
        again = await asyncio.gather(*(store._db.run(backend) for _ in range(6)))
        assert set(again) <= set(pids)  # the same connections, kept
    finally:
        await store.close()
    assert await gateway_connections(dsn) == 0


async def test_a_call_waits_for_a_busy_pool_at_most_acquire_timeout(dsn: str) -> None:
    store = await PostgresStore.open(dsn, pool_size=1, acquire_timeout=0.3)
    try:
        busy = asyncio.ensure_future(store._db.run(sleeper(1.5)))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await store.ping()
        assert time.monotonic() - started < 1.0
        await busy
        await store.ping()  # the slot came back
    finally:
        await store.close()


async def test_a_dead_idle_connection_is_replaced(store: PostgresStore, dsn: str) -> None:
    first = await store._db.run(backend)
    assert await kill_gateway_connections(dsn) == 1
    await asyncio.sleep(0.1)  # the client notices the socket close
    assert await store._db.run(backend) != first
    assert await gateway_connections(dsn) == 1


async def test_a_transaction_left_open_is_rolled_back_by_the_pool(dsn: str) -> None:
    store = await PostgresStore.open(dsn, pool_size=1)
    try:

        async def forgets_commit(link: Link) -> int:
            await link.execute("BEGIN")
            await link.execute(
                "INSERT INTO audit (at, msisdn, action, actor, channel) VALUES ($1, $2, $3, $4, $5)",
                NOW,
                MSISDN,
                "left open",
                "test",
                "cli",
            )
            return await backend(link)

        asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)
        pid = await store._db.run(forgets_commit)
        assert await store.audit_log() == []  # the pool rolled it back on the way in
        assert await store._db.run(backend) == pid  # and the connection lives on
    finally:
        await store.close()


async def test_a_cancelled_call_leaves_a_usable_connection(dsn: str) -> None:
    store = await PostgresStore.open(dsn, pool_size=1)
    try:
        call = asyncio.ensure_future(store._db.run(sleeper(5)))
        await asyncio.sleep(0.2)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        started = time.monotonic()
        note = AuditEntry(MSISDN, "after cancel", "test", Channel.CLI, NOW)
        await store.commit(ChangeSet(audit=(note,)))
        assert time.monotonic() - started < 2.0  # the sleep was cancelled, not waited out
        assert [e.action for e in await store.audit_log()] == ["after cancel"]
    finally:
        await store.close()


async def test_close_waits_for_calls_in_flight_then_closes_everything(dsn: str) -> None:
    store = await PostgresStore.open(dsn, pool_size=3)
    await asyncio.gather(*(store.ping() for _ in range(3)))  # idle connections kept
    call = asyncio.ensure_future(store._db.run(sleeper(0.3)))
    await asyncio.sleep(0.05)
    await store.close()
    assert isinstance(await call, int)  # the call in flight finished
    assert await gateway_connections(dsn) == 0
    with pytest.raises(StoreUnavailable):
        await store.ping()


async def test_a_timed_out_call_leaves_a_usable_connection(dsn: str) -> None:
    """A statement past ``command_timeout`` is cancelled under way: its connection goes back
    through the pool, which waits the cancel out before anyone gets it again."""
    store = await PostgresStore.open(dsn, pool_size=1, command_timeout=0.2)
    try:
        with pytest.raises(StoreUnavailable):
            await store._db.run(sleeper(2))
        for _ in range(3):
            await store.ping()
    finally:
        await store.close()

"""The connection pool: how the store reaches PostgreSQL, counts its round trips and recovers.

One asyncpg pool per store. A connection the server dropped (a restart, a failover,
``pg_terminate_backend``) is noticed by asyncpg and replaced on the next ``acquire``, so the
store recovers without a restart; a down server fails fast as
:class:`~state.errors.StoreUnavailable` because connecting and acquiring have short timeouts.
Calls queue for a connection in a semaphore of ``pool_size`` slots in front of the pool, first
come first served (:meth:`Database._link` says why). Every call still acquires from and
releases to asyncpg's pool, which resets, replaces and closes connections: keeping acquired
connections in a list of our own between calls measured 83 µs of client CPU a call against
113 (20 calls in flight), about 50 µs a hop or 3% of a hop's CPU with the server's — too
little to take connection reuse out of the library.

Round trips
-----------
:attr:`Meter.round_trips` counts every request the store sends and waits for: each
``execute``, ``fetch``, ``executemany``/``fetchmany`` (asyncpg pipelines all of its
executions behind one Sync, so one round trip) and each ``BEGIN``/``COMMIT``/``ROLLBACK``.
Not counted: connecting (and the pool's ``init``), and the one extra round trip asyncpg
spends the first time a connection meets a statement text, to prepare it; it caches the
prepared statement on that connection from then on (``max_cached_statement_lifetime=0``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import asyncpg

from state.errors import StoreError, StoreUnavailable
from state.postgres.failures import connection_lost, from_driver, translate, unsent

T = TypeVar("T")
Row = Sequence[Any]
"""A result row (an ``asyncpg.Record``): indexable by position."""


class Replayable(Exception):
    """Work lost its connection before anything of it could commit: run it again once."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause


@dataclass
class Meter:
    """The store's network round trips so far (see the module docstring for what counts)."""

    round_trips: int = 0


class Link:
    """One acquired connection; every request through it is counted on the meter."""

    def __init__(self, conn: Any, meter: Meter) -> None:
        self._conn = conn
        self._meter = meter

    async def execute(self, sql: str, *args: Any, seconds: float | None = None) -> str:
        """Run a statement; its command tag (``UPDATE 1`` …). Without arguments it goes as a
        simple query, which may hold several statements (a migration script). ``seconds``
        overrides the pool's command timeout."""
        self._meter.round_trips += 1
        return cast(str, await self._conn.execute(sql, *args, timeout=seconds))

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """Run a query; its rows."""
        self._meter.round_trips += 1
        return cast(list[Row], await self._conn.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        """Run a query; its first row, or None."""
        self._meter.round_trips += 1
        return cast(Row | None, await self._conn.fetchrow(sql, *args))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run a statement once per argument tuple, pipelined, atomically."""
        self._meter.round_trips += 1
        await self._conn.executemany(sql, rows)

    async def fetchmany(self, sql: str, rows: Iterable[Sequence[Any]]) -> list[Row]:
        """Run a query once per argument tuple, pipelined; every execution's rows, in order."""
        self._meter.round_trips += 1
        return cast(list[Row], await self._conn.fetchmany(sql, rows))

    @property
    def closed(self) -> bool:
        """Whether the connection is known to be gone."""
        try:
            return bool(self._conn.is_closed())
        except asyncpg.InterfaceError:  # the pool already took the dead connection back
            return True

    def terminate(self) -> None:
        """Drop the connection at once (the pool opens a new one on the next acquire)."""
        if not self.closed:
            self._conn.terminate()

    async def rollback(self) -> None:
        """End a failed transaction; a connection that cannot even do that is dropped.

        Never raises: the caller is already raising the failure that matters.
        """
        if self.closed:
            return
        try:
            await self.execute("ROLLBACK")
        except Exception:  # the connection is broken: the server rolls back without us
            self.terminate()


async def transaction(link: Link, body: Callable[[], Awaitable[T]]) -> T:
    """Run ``body`` in one READ COMMITTED transaction on ``link``: ``BEGIN``, body,
    ``COMMIT``; on failure ``ROLLBACK`` and the failure.

    A connection lost before ``COMMIT`` was sent is :class:`Replayable`: the server rolls
    back what a dead connection had not committed, so the whole work may run again. One
    lost during ``COMMIT`` is not: the transaction may have committed.
    """
    try:
        await link.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        result = await body()
    except Exception as exc:
        await link.rollback()
        if connection_lost(exc):
            raise Replayable(exc) from None
        raise
    await link.execute("COMMIT")
    return result


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def _init(conn: Any) -> None:
    """Run once per new connection: jsonb as Python values, and durable commits."""
    await conn.set_type_codec("jsonb", encoder=_dumps, decoder=json.loads, schema="pg_catalog")
    # Rule 1: a reply sent after commit never acknowledges a lost change. "on" or stronger
    # (remote_write, remote_apply) is kept; only a server default of "off"/"local" is raised.
    if await conn.fetchval("SELECT current_setting('synchronous_commit')") in ("off", "local"):
        await conn.execute("SET synchronous_commit = on")


async def _keep_session(conn: Any) -> None:
    """The pool's reset: nothing to undo (the store never changes session state).

    asyncpg's default reset sends ``RESET ALL; CLOSE ALL; UNLISTEN *; …`` on every release,
    one more round trip per call; an open transaction is still rolled back by the pool.
    """


def redact(dsn: str) -> str:
    """The DSN without its password (or anything else after it), for repr and logs."""
    try:
        parts = urlsplit(dsn)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        user = f"{parts.username}@" if parts.username else ""
    except ValueError:
        return "postgresql://?"
    if parts.scheme not in ("postgres", "postgresql"):
        return "postgresql://?"  # not a URL: nothing of it is known to be harmless
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


class Database:
    """A pool of connections to one PostgreSQL database, failing only as the core's errors."""

    def __init__(self, pool: Any, where: str, acquire_timeout: float, size: int) -> None:
        self._pool = pool
        self.where = where
        """The DSN without its password."""
        self._acquire_timeout = acquire_timeout
        self.meter = Meter()
        self._closed = False
        self._slots = asyncio.Semaphore(size)
        """One per call holding a connection: calls beyond the pool's size wait here."""

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        pool_size: int,
        connect_timeout: float,
        acquire_timeout: float,
        command_timeout: float,
    ) -> Database:
        """Open a pool on ``dsn`` (one connection at once, up to ``pool_size``)."""
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=1,
                max_size=pool_size,
                init=_init,
                reset=_keep_session,
                timeout=connect_timeout,
                command_timeout=command_timeout,
                max_cached_statement_lifetime=0,
                server_settings={
                    "application_name": "ussd-gateway",
                    # A connection stuck inside a transaction (a frozen process) must not
                    # hold its row locks over every other instance for long.
                    "idle_in_transaction_session_timeout": "30000",
                },
            )
        except Exception as exc:
            if from_driver(exc):
                raise translate(exc) from None
            # asyncpg parses the DSN itself; its complaint may quote the DSN.
            raise StoreError(f"invalid PostgreSQL DSN ({type(exc).__name__})") from None
        return cls(pool, redact(dsn), acquire_timeout, pool_size)

    @asynccontextmanager
    async def _link(self) -> AsyncIterator[Link]:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        # Calls wait for a connection here, first come first served, never in asyncpg's
        # pool: its queue wakes a waiter but lets a newcomer take the connection first, and
        # the woken one waits again at the back, so a few calls wait very long (bench.quick
        # on 10 connections, medians of 5: p99 1061 → 416 ms at 200 handsets, 195 → 113 ms
        # at 50).
        if self._slots.locked():
            await asyncio.wait_for(self._slots.acquire(), self._acquire_timeout)
        else:
            await self._slots.acquire()  # free: no timer to arm and cancel
        try:
            # With a slot, fewer than pool_size calls hold a connection: if one is idle,
            # taking it cannot wait, so no timeout (asyncpg's wait_for is a task a call: 121
            # → 113 µs of CPU per call, 20 in flight, as without the slots: 107). Otherwise
            # the pool connects, within the timeout.
            timeout = None if self._pool.get_idle_size() else self._acquire_timeout
            async with self._pool.acquire(timeout=timeout) as conn:
                link = Link(conn, self.meter)
                try:
                    yield link
                except Exception as exc:
                    if connection_lost(exc) or isinstance(exc, asyncpg.InternalClientError):
                        # Never hand a connection in an unknown state back to the pool: drop
                        # it, the next acquire opens a fresh one.
                        link.terminate()
                    raise
        finally:
            self._slots.release()

    async def run(self, work: Callable[[Link], Awaitable[T]], *, replay: bool = False) -> T:
        """Run ``work`` on a pooled connection; driver failures become the core's errors.

        Work is run once more, on a fresh connection, when the first connection failed it
        in a way that cannot have written anything: the driver did not send the request
        (:func:`~state.postgres.failures.unsent`), or the work says its transaction died
        before ``COMMIT`` (:class:`Replayable`). With ``replay`` (a read, or a write that
        sets values, so running it twice is harmless) it is run again whenever the
        connection was lost under it. Anything else that went wrong is raised at once.
        """
        for attempt in (1, 2):
            last = attempt == 2
            try:
                async with self._link() as link:
                    return await work(link)
            except StoreError:
                raise
            except Replayable as signal:
                if last:
                    raise translate(signal.cause) from None
            except Exception as exc:
                if not from_driver(exc):
                    raise
                if last or not (unsent(exc) or (replay and connection_lost(exc))):
                    raise translate(exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self, grace: float = 10.0) -> None:
        """Close every connection, waiting up to ``grace`` seconds for calls in flight."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.wait_for(self._pool.close(), grace)
        except Exception:  # closing must not fail: drop whatever is left
            self._pool.terminate()

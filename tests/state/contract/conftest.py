"""The store contract suite runs once per backend: ``sqlite`` and ``postgres``.

Every test here takes ``store`` (a seeded store on an empty database of the backend under
test: a new SQLite file, or the session's PostgreSQL database emptied) and, where two
gateway instances share one database, ``second_store`` or ``open_store`` (another instance
on the same database: a second :class:`SqliteStore` on the same file, a second
:class:`PostgresStore` pool on the same DSN). No test looks past the
:class:`state.store.Store` protocol, so a backend passes by keeping the rules of
``state/store.py`` (their numbers are in the test modules' docstrings), not by sharing
SQLite's internals. Only this harness empties PostgreSQL's tables between tests.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Iterator
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from contract_support import OpenStore, seed
from pgserver import fresh_database

from state.store import Store

BACKENDS = ("sqlite", "postgres")


class Database:
    """One database of the backend under test, and every store opened on it."""

    def __init__(self, backend: str, target: str) -> None:
        self.backend = backend
        self.target = target
        """The SQLite file's path or the PostgreSQL DSN."""
        self.stores: list[Any] = []

    async def open(self) -> Store:
        """Another store instance on this database (as a second gateway process opens it)."""
        store = await open_backend(self.backend, self.target)
        self.stores.append(store)
        return store

    async def close_all(self) -> None:
        for store in reversed(self.stores):
            await store.close()
        self.stores.clear()


async def open_backend(backend: str, target: str) -> Store:
    """Open the backend's store on ``target`` (a path or a DSN)."""
    if backend == "sqlite":
        from state.sqlite import SqliteStore

        return await SqliteStore.open(target)
    store: Store = await _postgres_store().open(target)
    return store


def _postgres_store() -> Any:
    """The PostgreSQL backend's class, imported only when a test needs it: the SQLite half
    of the suite runs without it (a missing backend skips, or fails under ``CI=true``)."""
    try:
        from state.postgres import PostgresStore
    except ModuleNotFoundError as exc:
        if exc.name != "state.postgres" or os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip("state.postgres is not there yet")
    return PostgresStore


def _unreachable(backend: str, tmp_path: Path) -> str:
    """Where a database of ``backend`` cannot be reached."""
    if backend == "sqlite":
        return str(tmp_path / "no-such-directory" / "gateway.sqlite3")
    return "postgresql://root@127.0.0.1:1/ussd_unreachable"  # nothing listens on port 1


@pytest.fixture(
    params=[pytest.param(b, marks=[pytest.mark.postgres] if b == "postgres" else []) for b in BACKENDS]
)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test."""
    if request.param == "postgres":
        # Set up here, outside the test's event loop: it runs a loop of its own.
        request.getfixturevalue("shared_postgres")
    return str(request.param)


class SharedPostgres:
    """One PostgreSQL database for the session, migrated once, emptied before each test.

    A fresh database per test costs ~0.3 s (create, migrate, drop), and TRUNCATE ~0.2 s (new
    files for every table and index); deleting the few rows a test wrote costs a couple of
    milliseconds. Which tables to empty is found, not named: every table that is empty
    right after the backend migrated an empty database holds data; the others (its schema
    version) belong to the schema. They are emptied referencing tables first.
    """

    def __init__(self, dsn: str, tables: list[str]) -> None:
        self.dsn = dsn
        self.tables = tables

    @classmethod
    async def prepare(cls, dsn: str) -> SharedPostgres:
        await (await _postgres_store().open(dsn)).close()
        conn = await asyncpg.connect(dsn)
        try:
            names = [
                r[0]
                for r in await conn.fetch(
                    "SELECT quote_ident(tablename) FROM pg_tables"
                    " WHERE schemaname = current_schema()"
                )
            ]
            empty = {n for n in names if not await conn.fetchval(f"SELECT EXISTS (TABLE {n})")}
            references = await conn.fetch(
                "SELECT quote_ident(referencing.relname), quote_ident(referenced.relname)"
                " FROM pg_constraint k"
                " JOIN pg_class referencing ON referencing.oid = k.conrelid"
                " JOIN pg_class referenced ON referenced.oid = k.confrelid"
                " WHERE k.contype = 'f'"
            )
        finally:
            await conn.close()
        assert empty, "the backend's migration created no table"
        first: dict[str, set[str]] = {n: set() for n in empty}  # table: tables emptied before
        for referencing, referenced in references:
            if referencing in empty and referenced in empty and referencing != referenced:
                first[referenced].add(referencing)
        return cls(dsn, list(TopologicalSorter(first).static_order()))

    async def empty(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            async with conn.transaction():
                for table in self.tables:
                    await conn.execute(f"DELETE FROM {table}")
        finally:
            await conn.close()


@pytest.fixture(scope="session")
def shared_postgres() -> Iterator[SharedPostgres]:
    """The session's PostgreSQL database (``tests/pgserver.py``), dropped at the end."""
    _postgres_store()
    loop = asyncio.new_event_loop()
    try:
        database = fresh_database("ussd_contract")
        dsn = loop.run_until_complete(database.__aenter__())
        try:
            yield loop.run_until_complete(SharedPostgres.prepare(dsn))
        finally:
            loop.run_until_complete(database.__aexit__(None, None, None))
    finally:
        loop.close()


@pytest.fixture
async def database(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Database]:
    """An empty database of the backend (a new SQLite file; the session's PostgreSQL
    database emptied); the stores opened on it are closed at the end."""
    if backend == "sqlite":
        db = Database(backend, str(tmp_path / "contract.sqlite3"))
    else:
        shared: SharedPostgres = request.getfixturevalue("shared_postgres")
        await shared.empty()
        db = Database(backend, shared.dsn)
    try:
        yield db
    finally:
        await db.close_all()


@pytest.fixture
async def store(database: Database) -> Store:
    """A store on an empty database, seeded with the subscribers of ``contract_support``."""
    opened = await database.open()
    await seed(opened)
    return opened


@pytest.fixture
def open_store(database: Database, store: Store) -> OpenStore:
    """Open further instances on the database ``store`` uses (after it is seeded)."""
    return database.open


@pytest.fixture
async def second_store(open_store: OpenStore) -> Store:
    """A second instance on the database ``store`` uses: another gateway process."""
    return await open_store()


@pytest.fixture
def open_unreachable(backend: str, tmp_path: Path) -> OpenStore:
    """Open the backend on a database it cannot reach (a missing directory, a closed port)."""
    if backend == "postgres":
        _postgres_store()

    async def open_it() -> Store:
        before = set(threading.enumerate())
        try:
            return await open_backend(backend, _unreachable(backend, tmp_path))
        finally:
            # aiosqlite answers a failed connect at once but stops its worker thread with a
            # call nobody awaits; let that thread end before the test's loop closes, or it
            # fails on the closed loop during a later test ("Event loop is closed").
            for _ in range(200):
                if not set(threading.enumerate()) - before:
                    break
                await asyncio.sleep(0.005)

    return open_it


@pytest.fixture
async def closed_store(database: Database, store: Store) -> Store:
    """A seeded store's second instance, opened and closed again."""
    closed = await open_backend(database.backend, database.target)
    await closed.close()
    return closed

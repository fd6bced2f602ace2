"""What only the SQLite store has: its PRAGMAs, WAL, its schema version, the loop's reader.

The rules every backend keeps (versions, atomic change sets, sessions, sweeps, the
outbox, …) are pinned by the contract suite, ``tests/state/contract/``, which runs on
SQLite as well.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from support import OPEN_RU

from state.errors import MigrationError, StoreError
from state.sqlite import SqliteStore
from state.sqlite.schema import latest


async def test_pragmas_and_schema_version(store: SqliteStore) -> None:
    """WAL, synchronous=FULL, the busy wait, foreign keys and the latest schema version
    are in force on the writer; the loop's reader never waits and never writes."""
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == latest()

    def writer_pragmas(db: sqlite3.Connection) -> list[int]:
        return [
            db.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("synchronous", "busy_timeout", "foreign_keys")
        ]

    assert await store._db.run(writer_pragmas) == [2, 5000, 1]  # 2 is FULL

    def reader_pragmas(db: sqlite3.Connection) -> tuple[int, int, int]:
        return (
            threading.get_ident(),
            db.execute("PRAGMA busy_timeout").fetchone()[0],
            db.execute("PRAGMA query_only").fetchone()[0],
        )

    assert await store._db.peek(reader_pragmas) == (threading.get_ident(), 0, 1)


async def test_migrations_are_idempotent(store: SqliteStore) -> None:
    """Opening an up-to-date database again changes nothing, its version included."""
    again = await SqliteStore.open(store.path)
    await again.close()
    assert (await store.get_subscriber(OPEN_RU.msisdn)) is not None
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == latest()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A database from a newer release is not touched."""
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(MigrationError):
        await SqliteStore.open(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 99
        assert db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


async def test_reads_do_not_queue_behind_the_writer(store: SqliteStore) -> None:
    """A point read is answered while the writer's thread is busy (a commit's fsync)."""
    release = threading.Event()
    busy = asyncio.ensure_future(store._db.run(lambda db: release.wait(5)))
    try:
        read = await asyncio.wait_for(store.get_subscriber(OPEN_RU.msisdn), timeout=1)
        assert read is not None and not busy.done()
    finally:
        release.set()
        await busy


async def test_a_busy_read_is_retried_on_the_writer_thread(store: SqliteStore) -> None:
    """A read the read connection answers busy (a WAL reset) waits its turn on the writer's
    thread, where the busy timeout applies; any other error is a StoreError, not retried."""
    loop_thread = threading.get_ident()

    def busy_on_the_loop(db: sqlite3.Connection) -> int:
        if threading.get_ident() == loop_thread:
            busy = sqlite3.OperationalError("database is locked")
            busy.sqlite_errorcode = sqlite3.SQLITE_BUSY_RECOVERY
            raise busy
        return int(db.execute("SELECT count(*) FROM subscribers").fetchone()[0])

    assert await store._db.peek(busy_on_the_loop) >= 1
    tries: list[int] = []

    def broken(db: sqlite3.Connection) -> None:
        tries.append(threading.get_ident())
        db.execute("SELECT nothing FROM nowhere")

    with pytest.raises(StoreError):
        await store._db.peek(broken)
    assert tries == [loop_thread]

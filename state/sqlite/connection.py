"""The SQLite connections: the writer's thread, the loop's own reader, transactions.

Each unit of work (a hop's reads; a hop's whole commit) runs as one synchronous function
on aiosqlite's connection thread, so it costs one thread hop instead of one per statement,
and no other coroutine's statements can interleave inside its transaction. Several
processes may share the file: ``BEGIN IMMEDIATE`` with a busy timeout serialises their
writers, and version checks on every subscriber and session write catch a row that moved
between a hop's read and its commit.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import aiosqlite

from state.errors import StoreError, StoreUnavailable

T = TypeVar("T")


def database_error(exc: sqlite3.Error) -> StoreError:
    """The core's error for a driver error (its class name only: never a value)."""
    error = StoreError(f"database error: {exc.__class__.__name__}")
    error.__cause__ = exc
    return error


class Connection:
    """One writer connection on its own thread, and a read-only one on the loop's thread."""

    def __init__(self, writer: aiosqlite.Connection, reader: sqlite3.Connection | None) -> None:
        self._writer = writer
        self._reader = reader
        self._closed = False

    @classmethod
    async def open(cls, path: str, *, create: bool = True) -> Connection:
        """Connect the writer (configured) and the reader to the file at ``path``.

        With ``create`` False the file must exist already (SQLite's ``mode=rw``): a missing
        one is :class:`StoreUnavailable` and nothing is created.
        """
        target, uri = (path, False) if create else (existing_file_uri(path), True)
        try:
            # Tried first with the standard library: when aiosqlite's connect fails, its
            # worker thread ends by resolving a future on a loop that may be gone by then.
            await asyncio.to_thread(_probe, target, uri)
            writer = await aiosqlite.connect(target, isolation_level=None, uri=uri)
        except sqlite3.Error as exc:  # no such directory, no permission, not a database
            if not create and not _is_file(path):
                raise StoreUnavailable(f"no SQLite database at {path} (nothing created)") from exc
            raise StoreUnavailable(f"cannot open the database: {exc.__class__.__name__}") from exc
        connection = cls(writer, None)
        try:
            await connection.run(configure)
        except BaseException:
            await writer.close()
            raise
        return connection

    def open_reader(self, path: str) -> None:
        """Start reading on the loop's thread (after the schema exists)."""
        self._reader = open_reader(path)

    async def close(self) -> None:
        """Close both connections (the writer's thread ends with it)."""
        self._closed = True
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        await self._writer.close()

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the writer's thread, in order with every other unit of work."""
        # aiosqlite has no public way to run a callable on its thread; `_execute` is what
        # its own public methods use. One call is one thread hop and one uninterrupted
        # transaction, where execute() per statement would be a hop each.
        if self._closed:
            raise StoreUnavailable("the store is closed")
        try:
            result: T = await self._writer._execute(fn, self._writer._conn)  # type: ignore[no-untyped-call]
            return result
        except sqlite3.Error as exc:
            raise database_error(exc) from exc

    async def peek(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a small indexed read on the event loop's own thread.

        A hop's read costs ~13 µs in SQLite but ~30 µs of loop CPU and a wait behind the
        writer's fsyncs when handed to the writer's thread. Under WAL a reader never waits
        for a writer; the rare moment the read would (a WAL reset, a lock held by a
        checkpoint) it answers busy at once (``busy_timeout`` 0) and the read is queued
        on the writer's thread instead, which may wait.
        """
        reader = self._reader
        if reader is None:
            return await self.run(fn)
        try:
            reader.execute("BEGIN")  # one snapshot for every statement of ``fn``
            try:
                return fn(reader)
            finally:
                reader.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF not in BUSY:  # BUSY_RECOVERY, BUSY_SNAPSHOT …
                raise database_error(exc) from exc
        except sqlite3.Error as exc:
            raise database_error(exc) from exc
        return await self.run(fn)


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taken with the write lock up front (no upgrade deadlocks)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def existing_file_uri(path: str) -> str:
    """The URI that opens ``path`` only if the file exists (read-write, never created)."""
    return Path(path).absolute().as_uri() + "?mode=rw"


def _is_file(path: str) -> bool:
    return Path(path).is_file()


def _probe(target: str, uri: bool) -> None:
    sqlite3.connect(target, uri=uri).close()


def open_reader(path: str) -> sqlite3.Connection:
    """A read-only connection for the loop's thread that never waits for a lock."""
    # Used only on the event loop's thread; check_same_thread would refuse a store
    # opened under one event loop and read under another (tests do that).
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    reader.execute("PRAGMA busy_timeout = 0")
    reader.execute("PRAGMA query_only = ON")
    return reader


def configure(db: sqlite3.Connection) -> None:
    """The writer's settings: WAL, full durability, a busy wait for other processes."""
    db.execute("PRAGMA journal_mode = WAL")
    # FULL: a reply that acknowledges a change must survive power loss (WAL+NORMAL may
    # roll back the last commits).
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA busy_timeout = 5000")
    db.execute("PRAGMA foreign_keys = ON")

"""Group commit: concurrent commits share a transaction, each rolled back alone on failure."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from support import OPEN_EN, OPEN_RU

from state.errors import ConcurrentUpdate, StoreError
from state.models import AuditEntry, ChangeSet, Channel
from state.sqlite import SqliteStore
from state.sqlite.group_commit import GroupCommit


class _Recorder:
    """A runner on a real connection that counts the transactions it is given."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
        self.calls = 0

    async def __call__(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        self.calls += 1
        await asyncio.sleep(0)  # the connection's thread: others may queue meanwhile
        return fn(self.db)

    def rows(self) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT n FROM t ORDER BY n")]


def _insert(n: int) -> Callable[[sqlite3.Connection], None]:
    def work(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO t (n) VALUES (?)", (n,))
        if n == 3:
            raise ConcurrentUpdate("unit 3 read a stale row")

    return work


async def test_queued_commits_share_one_transaction_and_fail_alone(tmp_path: Path) -> None:
    """Ten commits queued together are one transaction; the one that fails is undone alone."""
    runner = _Recorder(tmp_path / "t.sqlite3")
    group = GroupCommit(runner)
    results = await asyncio.gather(*(group.submit(_insert(n)) for n in range(10)),
                                   return_exceptions=True)
    assert runner.calls == 1
    assert [type(r) for r in results] == [type(None)] * 3 + [ConcurrentUpdate] + [type(None)] * 6
    assert runner.rows() == [0, 1, 2, 4, 5, 6, 7, 8, 9]


async def test_driver_errors_of_one_unit_become_store_errors(tmp_path: Path) -> None:
    """A unit's own SQLite error is a StoreError for its caller only."""
    runner = _Recorder(tmp_path / "t.sqlite3")
    group = GroupCommit(runner)
    results = await asyncio.gather(group.submit(_insert(1)), group.submit(_insert(1)),
                                   return_exceptions=True)
    assert results[0] is None and isinstance(results[1], StoreError)
    assert isinstance(results[1].__cause__, sqlite3.IntegrityError)
    assert runner.rows() == [1]


async def test_concurrent_store_commits_are_durable_when_they_return(store: SqliteStore) -> None:
    """Each store commit is visible to another connection once awaited; a stale one is not."""
    ru = await store.get_subscriber(OPEN_RU.msisdn)
    en = await store.get_subscriber(OPEN_EN.msisdn)
    entry = AuditEntry(ru.msisdn, "puk_failed", "t", Channel.USSD, 1.0)
    writes = [
        ChangeSet.write(ru, replace(ru, puk_failures=1, version=ru.version + 1), entry),
        ChangeSet.write(en, replace(en, puk_failures=2, version=en.version + 1)),
        ChangeSet.write(ru, replace(ru, puk_failures=3, version=ru.version + 1)),  # stale by then
    ]
    results = await asyncio.gather(*(store.commit(w) for w in writes), return_exceptions=True)
    assert results[:2] == [None, None] and isinstance(results[2], ConcurrentUpdate)
    with sqlite3.connect(store.path) as db:
        failures = dict(db.execute("SELECT msisdn, puk_failures FROM subscribers"))
        audits = db.execute("SELECT count(*) FROM audit WHERE action = 'puk_failed'").fetchone()[0]
    assert failures[OPEN_RU.msisdn] == 1 and failures[OPEN_EN.msisdn] == 2
    assert audits == 1


async def test_a_failed_transaction_fails_every_caller(tmp_path: Path) -> None:
    """If the group's transaction cannot be made, nobody is told their work is done."""

    async def broken(fn: Callable[[sqlite3.Connection], Any]) -> Any:
        raise StoreError("database error: OperationalError")

    group = GroupCommit(broken)
    with pytest.raises(StoreError):
        await asyncio.gather(group.submit(_insert(1)), group.submit(_insert(2)))


async def test_savepoints_only_when_a_unit_fails(tmp_path: Path) -> None:
    """A group that succeeds is plain statements; a lone failing unit leaves nothing behind."""
    runner = _Recorder(tmp_path / "t.sqlite3")
    statements: list[str] = []
    runner.db.set_trace_callback(statements.append)
    group = GroupCommit(runner)
    await asyncio.gather(*(group.submit(_insert(n)) for n in (1, 2)))
    assert not [s for s in statements if "SAVEPOINT unit" in s]
    with pytest.raises(ConcurrentUpdate):
        await group.submit(_insert(3))
    assert not [s for s in statements if "SAVEPOINT unit" in s]  # alone: undone at once
    results = await asyncio.gather(group.submit(_insert(4)), group.submit(_insert(3)),
                                   group.submit(_insert(5)), return_exceptions=True)
    assert results[0] is None and isinstance(results[1], ConcurrentUpdate) and results[2] is None
    assert [s for s in statements if "SAVEPOINT unit" in s]  # the group ran again in them
    assert runner.rows() == [1, 2, 4, 5]


async def test_an_error_that_ends_the_transaction_reaches_every_caller(tmp_path: Path) -> None:
    """A unit whose error rolls back the whole transaction (an interrupt): every unit of the
    group gets that error, not a later one about the missing transaction, and nothing is kept."""
    runner = _Recorder(tmp_path / "t.sqlite3")

    def interrupted(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO t (n) VALUES (7)")
        db.set_progress_handler(lambda: 1, 1)  # SQLite aborts the statement and the transaction
        try:
            db.execute("INSERT INTO t (n) SELECT a.n + 100 FROM t AS a, t AS b")
        finally:
            db.set_progress_handler(None, 1)

    group = GroupCommit(runner)
    results = await asyncio.gather(group.submit(_insert(1)), group.submit(interrupted),
                                   return_exceptions=True)
    assert all(isinstance(r, sqlite3.OperationalError) for r in results), results
    assert all("interrupted" in str(r) for r in results), results
    assert runner.rows() == [] and not runner.db.in_transaction

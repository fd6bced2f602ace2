"""Group commit: the commits that queue up while one is being made share the next fsync.

With ``synchronous=FULL`` every commit waits for the disk, and one connection makes one
commit at a time, so under load hops queue behind each other's fsyncs while the CPU idles.
Here a commit is queued; whenever the connection is free, everything queued is written in
ONE transaction, in order, and committed with one fsync. Each caller's await returns (or
raises) only after that COMMIT: an acknowledged change is as durable as before, and a unit
that fails (a version conflict) is undone alone (the group is run again with each unit in
its own savepoint), exactly as if the units had run one after another.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from state.sqlite.connection import database_error

Work = Callable[[sqlite3.Connection], None]
"""One caller's unit of work: its statements, run inside a transaction it does not own."""
Runner = Callable[[Callable[[sqlite3.Connection], Any]], Awaitable[Any]]
"""How a function is run on the connection's thread (``Connection.run``)."""


class GroupCommit:
    """Queues units of work and commits them in groups on one connection."""

    def __init__(self, run: Runner) -> None:
        self._run = run
        self._queue: list[tuple[Work, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, work: Work) -> None:
        """Run ``work`` in the next group; returns once that group is durably committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((work, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        # The next group is whatever queued while the previous one was being committed.
        while self._queue:
            group, self._queue = self._queue, []
            try:
                works = [work for work, _ in group]
                outcomes: list[Exception | None] = await self._run(
                    partial(_commit_group, works=works)
                )
            except Exception as exc:
                # The transaction as a whole failed: nothing of this group is durable.
                for _, done in group:
                    if not done.done():
                        done.set_exception(exc)
                continue
            except BaseException:
                for _, done in group:
                    done.cancel()
                raise
            for (_, done), outcome in zip(group, outcomes, strict=True):
                if done.done():
                    continue  # its caller gave up waiting; the work is committed anyway
                if outcome is None:
                    done.set_result(None)
                else:
                    done.set_exception(outcome)


def _commit_group(db: sqlite3.Connection, works: list[Work]) -> list[Exception | None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        # A unit fails rarely (a version conflict), so the group first runs as it is, under
        # one savepoint; only if a unit fails is that undone and the group run again with
        # each unit in its own savepoint, the failing one undone alone, in the same
        # transaction (the write lock is kept). A unit is a pure function of its change
        # set, so running it again on the undone database does exactly what it did.
        db.execute("SAVEPOINT plain")
        failure = _run_plain(db, works)
        outcomes: list[Exception | None] = [None] * len(works)
        if failure is not None:
            if not db.in_transaction:
                # The unit's error ended the transaction (interrupt, full disk, I/O):
                # nothing of the group is written, and every caller gets that error.
                raise failure
            db.execute("ROLLBACK TO plain")
            outcomes = [_mapped(failure)] if len(works) == 1 else _run_in_savepoints(db, works)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return outcomes


def _run_plain(db: sqlite3.Connection, works: list[Work]) -> Exception | None:
    """Run every unit; the first failure, if any (the transaction then holds a part)."""
    for work in works:
        try:
            work(db)
        except Exception as exc:
            return exc
    return None


def _run_in_savepoints(db: sqlite3.Connection, works: list[Work]) -> list[Exception | None]:
    outcomes: list[Exception | None] = []
    for work in works:
        db.execute("SAVEPOINT unit")
        try:
            work(db)
        except Exception as exc:
            db.execute("ROLLBACK TO unit")
            outcomes.append(_mapped(exc))
        else:
            outcomes.append(None)
        db.execute("RELEASE unit")
    return outcomes


def _mapped(exc: Exception) -> Exception:
    # As Connection.run does for a unit run alone: driver errors become StoreError.
    return database_error(exc) if isinstance(exc, sqlite3.Error) else exc

"""The SQLite store: atomic change sets, optimistic versions, migrations, constraints."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from support import OPEN_RU

from state.errors import ConcurrentUpdate, MigrationError, StoreError
from state.models import AuditEntry, ChangeSet, Channel, OutboxMessage, UssdSession
from state.sqlite import SqliteStore


async def test_pragmas_and_schema_version(store: SqliteStore) -> None:
    """WAL, synchronous=FULL and the latest schema version are in force."""
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == 5


async def test_migrations_are_idempotent(store: SqliteStore) -> None:
    """Opening an up-to-date database again changes nothing."""
    again = await SqliteStore.open(store.path)
    await again.close()
    assert (await store.get_subscriber(OPEN_RU.msisdn)) is not None


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A database from a newer release is not touched."""
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(MigrationError):
        await SqliteStore.open(path)


async def test_stale_version_fails_and_writes_nothing(store: SqliteStore) -> None:
    """A write based on an old snapshot raises ConcurrentUpdate; its audit is rolled back."""
    sub = await store.get_subscriber(OPEN_RU.msisdn)
    first = replace(sub, puk_failures=1, version=sub.version + 1)
    await store.commit(ChangeSet.write(sub, first))
    stale = replace(sub, puk_failures=2, version=sub.version + 1)
    entry = AuditEntry(sub.msisdn, "puk_failed", "t", Channel.USSD, 1.0)
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet(((sub.version, stale),), (entry,),
                                     (OutboxMessage(sub.msisdn, "k", "b", 1.0),)))
    assert (await store.get_subscriber(OPEN_RU.msisdn)).puk_failures == 1
    assert await store.audit_log(msisdn=OPEN_RU.msisdn) == []
    assert await store.outbox() == []


async def test_session_write_is_checked_by_hop(store: SqliteStore) -> None:
    """Two writers of the same session: the second, reading an old hop, loses."""
    session = UssdSession("native:s", OPEN_RU.msisdn, "access", "menu_open", "ru", 1.0, 1.0, 1,
                          "0:x", {"text": "t", "ends": False, "encoding": "ucs2", "length": 1})
    await store.commit(ChangeSet(), session=session, session_hop_read=None)
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet(), session=session, session_hop_read=None)
    await store.commit(ChangeSet(), session=replace(session, hop=2), session_hop_read=1)
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet(), session=replace(session, hop=2), session_hop_read=1)


async def test_a_session_the_sweeper_ended_is_not_brought_back(store: SqliteStore) -> None:
    """A hop read before the sweeper ended its session loses its write; the row stays ended."""
    session = UssdSession("native:swept", OPEN_RU.msisdn, "access", "menu_open", "ru", 1.0, 1.0,
                          1, "0:x", {"text": "t", "ends": False, "encoding": "ucs2", "length": 1})
    await store.commit(ChangeSet(), session=session, session_hop_read=None)
    await store.sweep_sessions(1000.0, idle=60.0, total=180.0, keep=3600.0)
    for ended_at in (None, 1001.0):  # a later hop, and the engine ending the session itself
        later = replace(session, state="confirm_close", hop=2, updated_at=1001.0,
                        ended_at=ended_at, end_reason="completed" if ended_at else None)
        with pytest.raises(ConcurrentUpdate):
            await store.commit(ChangeSet(), session=later, session_hop_read=1)
    row, _ = await store.load_hop("native:swept", OPEN_RU.msisdn)
    assert row is not None and row.end_reason == "expired" and row.state == "menu_open"


async def test_plain_password_cannot_be_stored(store: SqliteStore) -> None:
    """The schema itself refuses a password column that is not an argon2id hash."""
    sub = await store.get_subscriber(OPEN_RU.msisdn)
    plain = replace(sub, password_hash="hunter2hunter2", version=sub.version + 1)
    with pytest.raises(StoreError):
        await store.commit(ChangeSet.write(sub, plain))


async def test_sweep_ends_idle_sessions_and_purges_old_ones(store: SqliteStore) -> None:
    """Idle sessions end with their data dropped; long-ended ones are deleted."""
    reply = {"text": "t", "ends": False, "encoding": "ucs2", "length": 1}
    idle = UssdSession("n:idle", OPEN_RU.msisdn, "password", "confirm_password", "ru", 100.0,
                       100.0, 1, "0:x", reply, {"pending": "$argon2id$..."})
    old = UssdSession("n:old", OPEN_RU.msisdn, "access", "opened", "ru", 0.0, 0.0, 2, "0:y",
                      reply, ended_at=1.0, end_reason="completed")
    for s in (idle, old):
        await store.commit(ChangeSet(), session=s, session_hop_read=None)
    result = await store.sweep_sessions(1000.0, idle=60, total=180, keep=600)
    assert (result.expired, result.purged) == (1, 1)
    swept, _ = await store.load_hop("n:idle", OPEN_RU.msisdn)
    assert swept is not None and swept.data == {} and swept.end_reason == "expired"


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


async def test_a_committed_change_is_read_at_once(store: SqliteStore) -> None:
    """The read connection sees every change the writer has acknowledged."""
    before = await store.get_subscriber(OPEN_RU.msisdn)
    assert before is not None
    for round_ in range(3):
        changed = replace(before, lang="en" if round_ % 2 == 0 else "ru")
        await store.commit(ChangeSet.write(before, changed))
        before = await store.get_subscriber(OPEN_RU.msisdn)
        assert before is not None and before.lang == changed.lang


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

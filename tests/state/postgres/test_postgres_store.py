"""What only the PostgreSQL backend has: its migrations, its column types, its pool's
recovery, its error mapping and its round trips. The generic rules of ``state/store.py``
are the contract suite's (``tests/state/contract/``), run against this backend too."""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress
from dataclasses import replace
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from pgserver import server_url
from postgres_support import (
    MSISDN,
    NOW,
    admin,
    database_of,
    gateway_connections,
    kill_gateway_connections,
    session,
    versions,
)

from state.errors import ConcurrentUpdate, MigrationError, StoreError, StoreUnavailable
from state.models import AuditEntry, ChangeSet, Channel, ClientKind
from state.postgres import PostgresStore
from state.postgres.failures import translate
from state.postgres.pool import Link
from state.postgres.schema import latest
from state.store import SubscriberRecord, SweepResult

pytestmark = pytest.mark.postgres


# --- migrations -----------------------------------------------------------------------


async def test_migrating_twice_is_a_no_op(dsn: str) -> None:
    first = await PostgresStore.open(dsn, pool_size=1)
    await first.close()
    before = await versions(dsn)
    second = await PostgresStore.open(dsn, pool_size=1)
    await second.close()
    assert before == await versions(dsn)
    assert [v for v, _ in before] == list(range(1, latest() + 1))


async def test_instances_opening_together_on_a_fresh_database_migrate_once(dsn: str) -> None:
    stores = await asyncio.gather(*(PostgresStore.open(dsn, pool_size=1) for _ in range(4)))
    try:
        assert [v for v, _ in await versions(dsn)] == list(range(1, latest() + 1))
        for opened in stores:
            await opened.ping()
    finally:
        for opened in stores:
            await opened.close()


async def test_a_database_newer_than_the_code_is_a_migration_error(dsn: str) -> None:
    await (await PostgresStore.open(dsn, pool_size=1)).close()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", latest() + 1)
    finally:
        await conn.close()
    with pytest.raises(MigrationError, match="newer"):
        await PostgresStore.open(dsn, pool_size=1)
    assert await gateway_connections(dsn) == 0  # the failed open closed its pool


async def test_columns_have_postgresql_types(store: PostgresStore, dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT table_name, column_name, data_type, is_identity, identity_generation"
            " FROM information_schema.columns WHERE table_schema = 'public'"
        )
    finally:
        await conn.close()
    types = {(r[0], r[1]): r[2] for r in rows}
    for column in [
        ("subscribers", "puk_digest"),
        ("clients", "identity_digest"),
        ("otp_codes", "digest"),
        ("web_sessions", "digest"),
        ("login_challenges", "digest"),
    ]:
        assert types[column] == "bytea", column
    for column in [("ussd_sessions", "data"), ("ussd_sessions", "last_reply"), ("audit", "detail")]:
        assert types[column] == "jsonb", column
    for column in [
        ("subscribers", "puk_registration"),
        ("clients", "subscription_fee"),
        ("web_sessions", "must_change"),
        ("login_challenges", "must_change"),
    ]:
        assert types[column] == "boolean", column
    for column in [("ussd_sessions", "updated_at"), ("outbox", "next_attempt_at")]:
        assert types[column] == "double precision", column
    identities = {(r[0], r[1]): (r[2], r[4]) for r in rows if r[3] == "YES"}
    assert identities == {
        (table, "id"): ("bigint", "ALWAYS")
        for table in ("clients", "audit", "outbox", "code_sends")
    }


async def test_json_values_round_trip_through_jsonb(store: PostgresStore) -> None:
    await store.commit(ChangeSet(), session=session("native:json"))
    assert (await store.load_hop("native:json", MSISDN))[0] == session("native:json")


async def test_commits_are_durable_even_where_the_server_default_is_not(dsn: str) -> None:
    conn = await admin()
    try:
        await conn.execute(f'ALTER DATABASE "{database_of(dsn)}" SET synchronous_commit = off')
    finally:
        await conn.close()
    opened = await PostgresStore.open(dsn, pool_size=1)
    try:

        async def setting(link: Link) -> object:
            row = await link.fetchrow("SHOW synchronous_commit")
            return row[0] if row else None

        assert await opened._db.run(setting) == "on"
    finally:
        await opened.close()


async def test_a_sweep_skips_a_session_a_commit_is_holding(store: PostgresStore, dsn: str) -> None:
    for name in ("native:held", "native:free"):
        await store.commit(ChangeSet(), session=session(name))
    holder = await asyncpg.connect(dsn)
    try:
        async with holder.transaction():
            await holder.execute("SELECT 1 FROM ussd_sessions WHERE id = 'native:held' FOR UPDATE")
            swept = await asyncio.wait_for(
                store.sweep_sessions(NOW + 1000, idle=60, total=180, keep=600), timeout=2
            )
            assert swept == SweepResult(expired=1, purged=0)  # no wait, the held one left
    finally:
        await holder.close()
    assert await store.sweep_sessions(NOW + 1000, idle=60, total=180, keep=600) == SweepResult(1, 0)


# --- recovery and errors --------------------------------------------------------------


async def test_killed_connections_are_replaced_on_the_next_call(
    store: PostgresStore, dsn: str
) -> None:
    await store.commit(ChangeSet(), session=session("native:kill"))
    for hop in range(1, 6):
        await asyncio.gather(store.ping(), store.ping(), store.ping())  # fill the pool
        assert await kill_gateway_connections(dsn) >= 1
        # A read, a session-only commit and a transaction, each right after the kill.
        assert (await store.get_subscriber(MSISDN)) is not None
        assert await kill_gateway_connections(dsn) >= 1
        await store.commit(
            ChangeSet(), session=session("native:kill", hop), session_hop_read=hop - 1
        )
        assert await kill_gateway_connections(dsn) >= 1
        note = AuditEntry(MSISDN, f"hop {hop}", "test", Channel.CLI, NOW)
        await store.commit(ChangeSet(audit=(note,)))
    assert (await store.load_hop("native:kill", MSISDN))[0] == session("native:kill", 5)
    assert len(await store.audit_log(msisdn=MSISDN)) == 5


class Proxy:
    """A TCP forwarder to the test server that can go down (refuse) and come back."""

    def __init__(self) -> None:
        target = urlsplit(server_url("postgres"))
        self.target = (target.hostname or "127.0.0.1", target.port or 5432)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def up(self) -> None:
        self._server = await asyncio.start_server(
            self._pipe, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()

    def dsn(self, dsn: str) -> str:
        parts = urlsplit(dsn)
        return urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{self.port}"))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers += [writer, up_writer]

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))


async def test_a_server_that_goes_away_and_comes_back(dsn: str) -> None:
    proxy = Proxy()
    await proxy.up()
    opened = await PostgresStore.open(proxy.dsn(dsn), pool_size=2, acquire_timeout=2.0)
    try:
        await opened.commit(ChangeSet(), session=session("native:proxy"))
        await proxy.down()
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await opened.load_hop("native:proxy", MSISDN)
        with pytest.raises(StoreUnavailable):
            await opened.commit(ChangeSet(), session=session("native:proxy", 1), session_hop_read=0)
        assert time.monotonic() - started < 5  # fast, not a hang
        await proxy.up()  # the same port again
        await opened.commit(ChangeSet(), session=session("native:proxy", 1), session_hop_read=0)
        assert (await opened.load_hop("native:proxy", MSISDN))[0] == session("native:proxy", 1)
    finally:
        await opened.close()
        with suppress(AssertionError):
            await proxy.down()


async def test_an_unreachable_server_fails_fast_and_never_shows_the_password() -> None:
    secret = "pw-never-shown-4711"
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        await PostgresStore.open(f"postgresql://root:{secret}@127.0.0.1:1/nothing")
    assert time.monotonic() - started < 5
    assert secret not in str(caught.value) and secret not in repr(caught.value)
    assert caught.value.__suppress_context__ and caught.value.__cause__ is None


async def test_the_repr_hides_the_password(dsn: str) -> None:
    parts = urlsplit(dsn)
    with_password = urlunsplit(
        parts._replace(netloc=f"root:hidden-pw@{parts.hostname}:{parts.port}")
    )
    opened = await PostgresStore.open(with_password, pool_size=1)  # trust auth ignores it
    try:
        assert "hidden-pw" not in repr(opened)
        assert database_of(dsn) in repr(opened)
    finally:
        await opened.close()


async def test_a_database_failure_names_its_class_never_its_values(store: PostgresStore) -> None:
    with pytest.raises(StoreError) as caught:  # a digest must be 32 bytes (a CHECK)
        await store.import_subscribers(
            [SubscriberRecord("375291234567", b"short-digest", "c2", ClientKind.INDIVIDUAL, "B")]
        )
    assert "CheckViolationError" in str(caught.value)
    assert "short-digest" not in str(caught.value)
    assert not isinstance(caught.value, StoreUnavailable | ConcurrentUpdate)


async def test_a_value_the_driver_cannot_send_is_named_by_class_only(store: PostgresStore) -> None:
    odd = AuditEntry(MSISDN, 987654321, "test", Channel.CLI, NOW)  # type: ignore[arg-type]
    with pytest.raises(StoreError) as caught:
        await store.commit(ChangeSet(audit=(odd,)))
    assert "DataError" in str(caught.value) and "987654321" not in str(caught.value)
    assert await store.audit_log() == []


@pytest.mark.parametrize(
    ("driver", "expected"),
    [
        (asyncpg.SerializationError("x"), ConcurrentUpdate),
        (asyncpg.DeadlockDetectedError("x"), ConcurrentUpdate),
        (asyncpg.AdminShutdownError("x"), StoreUnavailable),
        (asyncpg.CrashShutdownError("x"), StoreUnavailable),
        (asyncpg.CannotConnectNowError("x"), StoreUnavailable),
        (asyncpg.OperatorInterventionError("x"), StoreUnavailable),
        (asyncpg.TooManyConnectionsError("x"), StoreUnavailable),
        (asyncpg.ConnectionDoesNotExistError("x"), StoreUnavailable),
        (asyncpg.InterfaceError("connection is closed"), StoreUnavailable),
        (ConnectionRefusedError(111, "refused"), StoreUnavailable),
        (TimeoutError(), StoreUnavailable),
        (asyncpg.UniqueViolationError("x"), StoreError),
        (asyncpg.ReadOnlySQLTransactionError("x"), StoreUnavailable),
        (asyncpg.CheckViolationError("x"), StoreError),
        (
            asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
            StoreError,
        ),
    ],
)
def test_driver_errors_map_to_the_core_errors(driver: BaseException, expected: type) -> None:
    mapped = translate(driver)
    assert type(mapped) is expected
    assert type(driver).__name__ in str(mapped)


# --- round trips ----------------------------------------------------------------------


async def test_round_trips_of_a_hop(store: PostgresStore) -> None:
    # Warm: asyncpg prepares a statement once per connection (not counted, see pool.py).
    await store.load_hop("native:rt", MSISDN)
    before = store.round_trips
    assert await store.load_hop("native:rt", MSISDN) == (None, await store.get_subscriber(MSISDN))
    assert store.round_trips - before == 2  # load_hop 1, get_subscriber 1

    before = store.round_trips
    await store.commit(ChangeSet(), session=session("native:rt"))
    assert store.round_trips - before == 1  # a new session: one autocommitted INSERT

    before = store.round_trips
    await store.commit(ChangeSet(), session=session("native:rt", 1), session_hop_read=0)
    assert store.round_trips - before == 1  # a later hop: one autocommitted UPDATE

    hop_session, subscriber = await store.load_hop("native:rt", MSISDN)
    assert hop_session is not None and subscriber is not None
    changed = ChangeSet.write(
        subscriber,
        replace(subscriber, lang="en", version=subscriber.version + 1),
        AuditEntry(MSISDN, "lang", MSISDN, Channel.USSD, NOW),
    )
    before = store.round_trips
    await store.commit(changed, session=session("native:rt", 2), session_hop_read=1)
    assert store.round_trips - before == 1  # the subscriber, its audit, the session: one statement

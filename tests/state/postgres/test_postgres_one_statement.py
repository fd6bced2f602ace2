"""A commit as one statement (``state/postgres/statement.py``): every kind of row in one
round trip, each check failing it whole with the transaction path's error, the rare shapes
left to the transaction, one prepared text per shape, and lock order kept across both paths."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import asyncpg
import pytest
from postgres_support import MSISDN, NOW, session

from state.errors import ConcurrentUpdate
from state.models import (
    AuditEntry,
    ChangeSet,
    Channel,
    CodeSend,
    LoginChallenge,
    MoReceipt,
    OtpCode,
    OtpGuard,
    OutboxMessage,
    SessionsEnded,
    WebSession,
)
from state.postgres import PostgresStore, writer
from state.postgres.pool import Link

pytestmark = pytest.mark.postgres

TABLES = (
    "subscribers",
    "clients",
    "audit",
    "outbox",
    "otp_guards",
    "otp_codes",
    "code_sends",
    "mo_receipts",
    "web_sessions",
    "login_challenges",
    "ussd_sessions",
)


def digest(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def web(label: str, **changes: Any) -> WebSession:
    return replace(WebSession(digest(label), MSISDN, "password", NOW, NOW), **changes)


def note(action: str) -> AuditEntry:
    return AuditEntry(MSISDN, action, "test", Channel.CLI, NOW)


async def everything(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the writer writes, in a stable order."""
    conn = await asyncpg.connect(dsn)
    try:
        return {
            table: sorted(tuple(str(v) for v in r) for r in await conn.fetch(f"TABLE {table}"))
            for table in TABLES
        }
    finally:
        await conn.close()


async def trips(store: PostgresStore, call: Awaitable[None]) -> int:
    before = store.round_trips
    await call
    return store.round_trips - before


@pytest.fixture
async def rows(store: PostgresStore) -> AsyncIterator[PostgresStore]:
    """The store with a live session, a guard, a web session and an MO of its subscriber."""
    await store.commit(
        ChangeSet(
            guards=((0, OtpGuard("guard:old", 1, None, 1)),),
            web_sessions=((None, web("own")),),
            mo_receipts=(MoReceipt("smsc", "old", NOW),),
        ),
        session=session("s:live"),
    )
    yield store


async def hop_changes(store: PostgresStore) -> tuple[ChangeSet, int]:
    """One of every kind of row (own web session and ``sessions_ended`` apart: that pair is
    the transaction's), and the client's id."""
    sub = await store.get_subscriber(MSISDN)
    assert sub is not None
    client = await store.get_client(sub.client_id)
    assert client is not None
    pw = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"
    changes = ChangeSet(
        subscribers=((sub.version, replace(sub, lang="en", version=sub.version + 1)),),
        audit=(note("first"), note("second")),
        outbox=(OutboxMessage(MSISDN, "note", "body", NOW, NOW + 60),),
        guards=(
            (0, OtpGuard("guard:new", 1, NOW + 5, 1)),
            (1, OtpGuard("guard:old", 2, None, 2)),
        ),
        codes=(OtpCode(MSISDN, "login", digest("code"), NOW, NOW + 300),),
        code_sends=(CodeSend(MSISDN, "login", Channel.SMS, NOW),),
        mo_receipts=(MoReceipt("smsc", "new", NOW),),
        clients=((client.version, replace(client, account_password_hash=pw, version=1)),),
        web_sessions=((0, web("own", last_seen_at=NOW + 9, version=1)), (None, web("fresh"))),
        challenges=(LoginChallenge(digest("challenge"), MSISDN, "account", NOW, NOW + 300),),
    )
    return changes, client.id


async def test_every_kind_of_row_lands_in_one_round_trip(rows: PostgresStore) -> None:
    store = rows
    changes, client_id = await hop_changes(store)
    moved = session("s:live", 1)
    assert writer.plan(changes, moved, 0).one_statement
    assert await trips(store, store.commit(changes, session=moved, session_hop_read=0)) == 1

    sub = await store.get_subscriber(MSISDN)
    assert sub is not None and (sub.lang, sub.version) == ("en", 1)
    assert [e.action for e in await store.audit_log(msisdn=MSISDN)] == ["second", "first"]
    assert [(m.kind, m.expires_at) for m in await store.outbox()] == [("note", NOW + 60)]
    assert await store.get_guard("guard:new") == OtpGuard("guard:new", 1, NOW + 5, 1)
    assert await store.get_guard("guard:old") == OtpGuard("guard:old", 2, None, 2)
    codes = await store.load_codes(MSISDN, "login", NOW + 1)
    assert codes.code is not None and codes.sends_last_minute == 1
    assert await store.mo_received("smsc", "new")
    client = await store.get_client(client_id)
    assert client is not None and client.version == 1
    assert await store.get_web_session(digest("own")) == web("own", last_seen_at=NOW + 9, version=1)
    assert await store.get_web_session(digest("fresh")) == web("fresh")
    assert await store.get_challenge(digest("challenge")) is not None
    assert (await store.load_hop("s:live", MSISDN))[0] == moved


async def test_a_closing_hop_ends_the_old_web_sessions_not_the_new_one(
    rows: PostgresStore,
) -> None:
    """``sessions_ended`` and a new web session in one statement: the CTEs share one
    snapshot, so the session created beside the ending is not ended (as in turn: rule 7)."""
    store = rows
    sub = await store.get_subscriber(MSISDN)
    assert sub is not None
    changes = ChangeSet.write(sub, replace(sub, closed_at=NOW, version=1), note("close")) + (
        ChangeSet(
            web_sessions=((None, web("after")),),
            sessions_ended=(SessionsEnded(MSISDN, "closed", NOW + 1),),
        )
    )
    ended = replace(session("s:live", 1), ended_at=NOW + 1, end_reason="closed")
    assert await trips(store, store.commit(changes, session=ended, session_hop_read=0)) == 1
    assert await store.get_web_session(digest("own")) == web(
        "own", ended_at=NOW + 1, end_reason="closed", version=1
    )
    assert await store.get_web_session(digest("after")) == web("after")
    assert (await store.load_hop("s:live", MSISDN))[0] == ended


@dataclass(frozen=True)
class Miss:
    name: str
    part: Callable[[], ChangeSet]
    hop_read: int | None = 0
    """The session part: a move from this hop (0 is current), or None for a new session."""


MISSES = [
    Miss("subscriber version", lambda: ChangeSet()),  # made stale in the test
    Miss("guard created by another", lambda: ChangeSet(guards=((0, OtpGuard("guard:old")),))),
    Miss("guard version", lambda: ChangeSet(guards=((7, OtpGuard("guard:old", 1, None, 8)),))),
    Miss("MO answered", lambda: ChangeSet(mo_receipts=(MoReceipt("smsc", "old", NOW),))),
    Miss("own web session", lambda: ChangeSet(web_sessions=((3, web("own", version=4)),))),
    Miss("token collision", lambda: ChangeSet(web_sessions=((None, web("own")),))),
    Miss("USSD session exists", ChangeSet, hop_read=None),
    Miss("USSD hop moved", ChangeSet, hop_read=5),
]


@pytest.mark.parametrize("path", ["one statement", "transaction"])
@pytest.mark.parametrize("miss", MISSES, ids=[m.name for m in MISSES])
async def test_a_missed_check_writes_nothing_with_the_transactions_error(
    rows: PostgresStore, dsn: str, miss: Miss, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each check, failing among every other kind of row, fails the commit whole and with
    the same ConcurrentUpdate text whichever path ran it."""
    store = rows
    if path == "transaction":
        monkeypatch.setattr(writer, "ONE_STATEMENT_MAX", 0)
    changes, _ = await hop_changes(store)
    changes = replace(changes, guards=changes.guards[:1], web_sessions=changes.web_sessions[1:])
    if miss.name == "subscriber version":
        (read, sub), *_ = changes.subscribers
        changes = replace(changes, subscribers=((read + 1, sub),))
    changes = changes + miss.part()
    moved = session("s:live", 1)
    assert writer.plan(changes, moved, miss.hop_read).one_statement is (path == "one statement")
    before = await everything(dsn)
    with pytest.raises(ConcurrentUpdate) as caught:
        await store.commit(changes, session=moved, session_hop_read=miss.hop_read)
    assert await everything(dsn) == before
    monkeypatch.setattr(writer, "ONE_STATEMENT_MAX", 0)
    with pytest.raises(ConcurrentUpdate) as by_transaction:
        await store.commit(changes, session=moved, session_hop_read=miss.hop_read)
    assert str(caught.value) == str(by_transaction.value)


async def test_rare_shapes_run_in_a_transaction_and_in_turn(store: PostgresStore) -> None:
    """A row written twice needs the second write to see the first; so does the own web
    session beside ``sessions_ended``; and a long batch stays one ``executemany`` a kind."""
    sub = await store.get_subscriber(MSISDN)
    assert sub is not None
    first = replace(sub, puk_failures=1, version=1)
    twice = ChangeSet.write(sub, first) + ChangeSet.write(first, replace(first, version=2))
    assert not writer.plan(twice).one_statement
    assert await trips(store, store.commit(twice)) == 3  # BEGIN, the subscribers, COMMIT
    assert (await store.get_subscriber(MSISDN)) == replace(first, version=2)

    await store.commit(ChangeSet(web_sessions=((None, web("own")),)))
    password = ChangeSet(
        web_sessions=((0, web("own", version=1)),),
        sessions_ended=(SessionsEnded(MSISDN, "password_changed", NOW),),
    )
    assert not writer.plan(password).one_statement
    assert await trips(store, store.commit(password)) == 4
    assert await store.get_web_session(digest("own")) == web(
        "own", ended_at=NOW, end_reason="password_changed", version=2
    )

    batch = ChangeSet(audit=tuple(note(f"a{n}") for n in range(writer.ONE_STATEMENT_MAX)))
    batch += ChangeSet(outbox=(OutboxMessage(MSISDN, "k", "b", NOW),))
    assert not writer.plan(batch).one_statement
    assert await trips(store, store.commit(batch)) == 4
    assert len(await store.audit_log(limit=100)) == writer.ONE_STATEMENT_MAX


async def test_other_rows_written_twice_land_as_written_last(store: PostgresStore) -> None:
    """In one statement the second write of a row would miss the first (a guard's version,
    an upsert of a row the statement wrote already): these go in turn, the last one wins."""
    code = OtpCode(MSISDN, "login", digest("first"), NOW, NOW + 300)
    again = replace(code, digest=digest("second"), attempts=2)
    challenge = LoginChallenge(digest("challenge"), MSISDN, "account", NOW, NOW + 300)
    changes = ChangeSet(
        guards=((0, OtpGuard("guard:twice", 1, None, 1)), (1, OtpGuard("guard:twice", 2, None, 2))),
        codes=(code, again),
        challenges=(challenge, replace(challenge, used_at=NOW + 1)),
    )
    assert not writer.plan(changes).one_statement
    await store.commit(changes)
    assert await store.get_guard("guard:twice") == OtpGuard("guard:twice", 2, None, 2)
    assert (await store.load_codes(MSISDN, "login", NOW)).code == again
    assert await store.get_challenge(digest("challenge")) == replace(challenge, used_at=NOW + 1)


async def test_one_shape_is_one_prepared_statement(dsn: str) -> None:
    """Hops of one shape send one text, which the connection prepares once."""
    store = await PostgresStore.open(dsn, pool_size=1)
    try:
        await store.commit(ChangeSet(), session=session("s:prepared"))
        for hop in range(1, 5):
            changes = ChangeSet(audit=(note(f"hop {hop}"),))
            moved = session("s:prepared", hop)
            assert (
                await trips(store, store.commit(changes, session=moved, session_hop_read=hop - 1))
                == 1
            )

        async def prepared(link: Link) -> int:
            row = await link.fetchrow(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'WITH w0 %'"
            )
            return int(row[0]) if row else -1

        assert await store._db.run(prepared) == 1
    finally:
        await store.close()


LOCKS = {
    "an unchecked upsert": (
        "SELECT 1 FROM otp_codes WHERE msisdn = $1 FOR UPDATE",
        ChangeSet(codes=(OtpCode(MSISDN, "login", digest("locked"), NOW, NOW + 300),)),
    ),
    "a checked update": (
        "SELECT 1 FROM subscribers WHERE msisdn = $1 FOR UPDATE",
        ChangeSet(audit=(note("waits"),)),  # with the subscriber write added below
    ),
    "sessions_ended": (
        "SELECT 1 FROM web_sessions WHERE msisdn = $1 FOR UPDATE",
        ChangeSet(sessions_ended=(SessionsEnded(MSISDN, "closed", NOW),)),
    ),
}


@pytest.mark.parametrize("held", list(LOCKS))
async def test_the_parts_take_their_locks_in_the_plans_order(
    rows: PostgresStore, dsn: str, held: str
) -> None:
    """While another transaction holds a row of an earlier part, the statement waits there
    and has not yet locked the USSD session (its last part): the locks are taken in the
    plan's order, the transaction path's, so commits of the two paths cannot deadlock."""
    store = rows
    lock, changes = LOCKS[held]
    await store.commit(ChangeSet(codes=(OtpCode(MSISDN, "login", digest("old"), NOW, NOW + 300),)))
    if held == "a checked update":
        sub = await store.get_subscriber(MSISDN)
        assert sub is not None
        changes = ChangeSet.write(sub, replace(sub, version=1)) + changes
    moved = session("s:live", 1)
    assert writer.plan(changes, moved, 0).one_statement
    holder, probe = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        async with holder.transaction():
            await holder.execute(lock, MSISDN)
            commit = asyncio.ensure_future(store.commit(changes, session=moved, session_hop_read=0))
            await asyncio.sleep(0.3)
            assert not commit.done()  # waiting on the held row
            async with probe.transaction():  # the session is not locked yet
                await probe.execute(
                    "SELECT 1 FROM ussd_sessions WHERE id = 's:live' FOR UPDATE NOWAIT"
                )
        await asyncio.wait_for(commit, 5)
    finally:
        await holder.close()
        await probe.close()
    assert (await store.load_hop("s:live", MSISDN))[0] == moved

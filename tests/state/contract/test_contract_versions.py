"""Rules 1 and 2: a change set is written whole or not at all; versions guard every row."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from contract_support import (
    ACME_1,
    ARGON2,
    EN,
    RU,
    T0,
    advanced,
    digest,
    entry,
    footprint,
    record,
    subscriber,
    unique,
    unique_msisdn,
    ussd,
    web,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from state.errors import ConcurrentUpdate
from state.models import (
    ChangeSet,
    Channel,
    CodeSend,
    LoginChallenge,
    MoReceipt,
    OtpCode,
    OtpGuard,
    OutboxMessage,
    SessionsEnded,
    UssdSession,
)
from state.store import Store


async def _everything(store: Store, tag: str) -> tuple[ChangeSet, UssdSession]:
    """A change set writing one row of every kind, and a new USSD session: all valid."""
    ru = await subscriber(store, RU)
    client = await store.get_client(ru.client_id)
    assert client is not None
    changes = ChangeSet(
        subscribers=((ru.version, advanced(ru, puk_failures=1, lang="en")),),
        audit=(entry(RU, f"first-{tag}"), entry(RU, f"second-{tag}")),
        outbox=(OutboxMessage(RU, "code", f"body {tag}", T0),),
        guards=((0, OtpGuard(f"guard-{tag}", 1, None, 1)),),
        codes=(OtpCode(RU, "login", digest(f"code-{tag}"), T0, T0 + 300),),
        code_sends=(CodeSend(RU, "login", Channel.WEB, T0),),
        mo_receipts=(MoReceipt("smsc", f"mo-{tag}", T0),),
        clients=(
            (
                client.version,
                replace(
                    client,
                    account_password_hash=ARGON2,
                    account_password_changed_at=T0,
                    version=client.version + 1,
                ),
            ),
        ),
        web_sessions=((None, web(f"new-{tag}", RU)),),
        challenges=(LoginChallenge(digest(f"challenge-{tag}"), RU, "account", T0, T0 + 300),),
        sessions_ended=(SessionsEnded(EN, "password_changed", T0),),
    )
    return changes, ussd(f"s-{tag}")


async def test_a_change_set_is_written_whole(store: Store, second_store: Store) -> None:
    """Every part of a change set and the new session are there once commit returns, for
    this instance and another one on the same database."""
    en_web = web("en-live", EN)
    await store.commit(ChangeSet(web_sessions=((None, en_web),)))
    changes, session = await _everything(store, "whole")
    before = await footprint(store, changes, sessions=(session.id,), webs=(en_web.digest,))
    await store.commit(changes, session=session)
    for reader in (store, second_store):
        after = await footprint(reader, changes, sessions=(session.id,), webs=(en_web.digest,))
        ru = await subscriber(reader, RU)
        assert (ru.puk_failures, ru.lang, ru.version) == (
            1,
            "en",
            changes.subscribers[0][1].version,
        )
        client = await reader.get_client(ru.client_id)
        assert client is not None and client.account_password_hash == ARGON2
        assert client.version == changes.clients[0][1].version
        assert [e.action for e in await reader.audit_log(msisdn=RU)] == [
            "second-whole",
            "first-whole",
        ]
        assert [m.body for m in await reader.outbox(RU)] == ["body whole"]
        assert (await reader.get_guard("guard-whole")).failures == 1
        codes = await reader.load_codes(RU, "login", T0 + 1)
        assert codes.code is not None and codes.code.digest == digest("code-whole")
        assert codes.sends_last_minute == 1
        assert await reader.mo_received("smsc", "mo-whole")
        assert await reader.get_web_session(digest("new-whole")) == web("new-whole", RU)
        assert await reader.get_challenge(digest("challenge-whole")) is not None
        ended = await reader.get_web_session(en_web.digest)
        assert ended is not None and ended.end_reason == "password_changed"
        assert (await reader.load_hop(session.id, RU))[0] == session
        assert [kind for kind in before if after[kind] == before[kind]] == []  # all seen


@dataclass(frozen=True)
class Conflict:
    """A way one part of a change set conflicts: set up the conflict, then add the part."""

    name: str
    make: Callable[[Store, str], Awaitable[tuple[ChangeSet, Any]]]
    """(the conflicting part, what to commit with it: a USSD session and its hop read)."""


async def _stale_subscriber(store: Store, tag: str) -> tuple[ChangeSet, Any]:
    en = await subscriber(store, EN)
    await store.commit(ChangeSet.write(en, advanced(en, puk_failures=2)))  # someone else
    return ChangeSet.write(en, advanced(en, puk_failures=5)), None


async def _stale_client(store: Store, tag: str) -> tuple[ChangeSet, Any]:
    client = await store.get_client((await subscriber(store, EN)).client_id)
    assert client is not None
    moved = replace(client, account_password_hash=ARGON2, version=client.version + 1)
    await store.commit(ChangeSet(clients=((client.version, moved),)))
    stale = replace(client, account_password_changed_at=T0, version=client.version + 1)
    return ChangeSet(clients=((client.version, stale),)), None


async def _guard_created_meanwhile(store: Store, tag: str) -> tuple[ChangeSet, Any]:
    await store.commit(ChangeSet(guards=((0, OtpGuard(f"raced-{tag}", 1, None, 1)),)))
    return ChangeSet(guards=((0, OtpGuard(f"raced-{tag}", 1, None, 1)),)), None


async def _stale_guard(store: Store, tag: str) -> tuple[ChangeSet, Any]:
    await store.commit(ChangeSet(guards=((0, OtpGuard(f"raced-{tag}", 1, None, 1)),)))
    await store.commit(ChangeSet(guards=((1, OtpGuard(f"raced-{tag}", 2, None, 2)),)))
    return ChangeSet(guards=((1, OtpGuard(f"raced-{tag}", 2, None, 2)),)), None


async def _duplicate_mo(store: Store, tag: str) -> tuple[ChangeSet, Any]:
    await store.commit(ChangeSet(mo_receipts=(MoReceipt("smsc", f"dup-{tag}", T0),)))
    return ChangeSet(mo_receipts=(MoReceipt("smsc", f"dup-{tag}", T0 + 1),)), None


async def _duplicate_web_token(store: Store, tag: str) -> tuple[ChangeSet, Any]:
    await store.commit(ChangeSet(web_sessions=((None, web(f"taken-{tag}", EN)),)))
    return ChangeSet(web_sessions=((None, web(f"taken-{tag}", RU)),)), None


async def _ended_web_session(store: Store, tag: str) -> tuple[ChangeSet, Any]:
    own = web(f"own-{tag}", ACME_1)
    await store.commit(ChangeSet(web_sessions=((None, own),)))
    await store.commit(ChangeSet(sessions_ended=(SessionsEnded(ACME_1, "closed", T0),)))
    # At the version it has now: the write fails because the session ended, not as stale.
    touched = replace(own, last_seen_at=T0 + 5, version=2)
    return ChangeSet(web_sessions=((1, touched),)), None


async def _stale_hop(store: Store, tag: str) -> tuple[ChangeSet, Any]:
    first = ussd(f"hop-{tag}")
    await store.commit(ChangeSet(), session=first)
    await store.commit(ChangeSet(), session=replace(first, hop=2), session_hop_read=1)
    return ChangeSet(), (replace(first, hop=2, state="confirm"), 1)


async def _duplicate_session_id(store: Store, tag: str) -> tuple[ChangeSet, Any]:
    await store.commit(ChangeSet(), session=ussd(f"dup-{tag}"))
    return ChangeSet(), (ussd(f"dup-{tag}", state="other"), None)


async def _swept_session(store: Store, tag: str) -> tuple[ChangeSet, Any]:
    first = ussd(f"swept-{tag}", at=T0 - 1000)
    await store.commit(ChangeSet(), session=first)
    await store.sweep_sessions(T0, idle=60, total=180, keep=3600)
    return ChangeSet(), (replace(first, hop=2, updated_at=T0), 1)


CONFLICTS = [
    Conflict("stale subscriber version", _stale_subscriber),
    Conflict("stale client version", _stale_client),
    Conflict("guard created by another writer", _guard_created_meanwhile),
    Conflict("stale guard version", _stale_guard),
    Conflict("MO receipt already stored", _duplicate_mo),
    Conflict("web session token exists", _duplicate_web_token),
    Conflict("write to an ended web session", _ended_web_session),
    Conflict("stale USSD hop", _stale_hop),
    Conflict("USSD session id exists", _duplicate_session_id),
    Conflict("USSD session ended by the sweeper", _swept_session),
]


@pytest.mark.parametrize("conflict", CONFLICTS, ids=[c.name for c in CONFLICTS])
@pytest.mark.parametrize("where", ["conflict first", "conflict last"])
async def test_a_conflicting_part_writes_nothing_of_the_change_set(
    store: Store, conflict: Conflict, where: str
) -> None:
    """One conflicting part fails the whole commit with ConcurrentUpdate: no subscriber,
    client, audit, outbox, guard, code, send, receipt, web session, challenge or session of
    it is written, wherever the part sits in the change set."""
    en_web = web("en-live", EN)
    acme_web = web("acme-live", ACME_1)
    await store.commit(ChangeSet(web_sessions=((None, en_web), (None, acme_web))))
    tag = unique("conflict")
    part, with_session = await conflict.make(store, tag)
    changes, session = await _everything(store, tag)
    changes = part + changes if where == "conflict first" else changes + part
    hop_read = None
    if with_session is not None:
        session, hop_read = with_session
    sessions = (session.id,)
    webs = (en_web.digest, acme_web.digest)
    before = await footprint(store, changes, sessions=sessions, webs=webs)
    with pytest.raises(ConcurrentUpdate):
        await store.commit(changes, session=session, session_hop_read=hop_read)
    assert await footprint(store, changes, sessions=sessions, webs=webs) == before


async def test_stale_version_fails_and_writes_nothing(store: Store) -> None:
    """A write based on an old snapshot raises ConcurrentUpdate; its audit and outbox are
    rolled back and the row keeps the first writer's change."""
    sub = await subscriber(store, RU)
    first = replace(sub, puk_failures=1, version=sub.version + 1)
    await store.commit(ChangeSet.write(sub, first))
    stale = replace(sub, puk_failures=2, version=sub.version + 1)
    audit = entry(sub.msisdn, "puk_failed", at=1.0)
    with pytest.raises(ConcurrentUpdate):
        await store.commit(
            ChangeSet(((sub.version, stale),), (audit,), (OutboxMessage(RU, "k", "b", 1.0),))
        )
    assert (await subscriber(store, RU)).puk_failures == 1
    assert await store.audit_log(msisdn=RU) == []
    assert await store.outbox() == []


async def test_the_written_row_carries_its_new_version(store: Store) -> None:
    """A subscriber write stores the new row as given, its version the advanced one; the
    next write must read that version."""
    sub = await subscriber(store, RU)
    new = advanced(
        sub,
        closed_by=None,
        puk_failures=3,
        puk_locked_at=T0,
        password_hash=ARGON2,
        password_changed_at=T0,
        temp_password_hash=ARGON2,
        temp_password_expires_at=T0 + 600,
        puk_registration=True,
    )
    await store.commit(ChangeSet.write(sub, new))
    assert await subscriber(store, RU) == new
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet.write(sub, advanced(sub)))
    await store.commit(ChangeSet.write(new, advanced(new, puk_failures=0)))
    assert (await subscriber(store, RU)).version == new.version + 1


async def test_a_write_to_an_unknown_subscriber_is_a_conflict(store: Store) -> None:
    """A subscriber that is not stored (deleted, or never imported) cannot be written."""
    ghost = replace(await subscriber(store, RU), msisdn="375290000000")
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet.write(ghost, advanced(ghost), entry(ghost.msisdn, "x")))
    assert await store.get_subscriber("375290000000") is None
    assert await store.audit_log() == []


async def test_client_version_is_checked(store: Store) -> None:
    """A client written from an old version fails; the current one wins and advances."""
    client = await store.get_client((await subscriber(store, RU)).client_id)
    assert client is not None
    first = replace(
        client,
        account_password_hash=ARGON2,
        account_password_changed_at=T0,
        version=client.version + 1,
    )
    await store.commit(ChangeSet(clients=((client.version, first),)))
    stale = replace(client, account_password_changed_at=T0 + 1, version=client.version + 1)
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet(clients=((client.version, stale),), audit=(entry(RU, "x"),)))
    stored = await store.get_client(client.id)
    assert stored is not None
    assert (stored.account_password_changed_at, stored.version) == (T0, first.version)
    assert stored.account_password_hash == ARGON2
    assert await store.audit_log() == []


# Rule 2 as a property: any interleaving of reads and writes by several callers, on two
# instances of one database, lands exactly the writes whose version read was current.


@dataclass(frozen=True)
class Versioned:
    """How to read and write one versioned row of a kind (subscriber, client, guard)."""

    kind: str

    async def create(self, store: Store) -> str:
        msisdn = unique_msisdn()
        if self.kind == "guard":
            return f"password:{msisdn}"
        await store.import_subscribers([record(msisdn)])
        if self.kind == "client":
            return str((await subscriber(store, msisdn)).client_id)
        return msisdn

    async def read(self, store: Store, key: str) -> Any:
        if self.kind == "subscriber":
            return await subscriber(store, key)
        if self.kind == "client":
            return await store.get_client(int(key))
        return await store.get_guard(key)

    def write(self, row: Any, value: int) -> ChangeSet:
        if self.kind == "subscriber":
            return ChangeSet.write(row, advanced(row, puk_failures=value))
        if self.kind == "client":
            new = replace(row, account_password_changed_at=float(value), version=row.version + 1)
            return ChangeSet(clients=((row.version, new),))
        return ChangeSet(
            guards=((row.version, replace(row, failures=value, version=row.version + 1)),)
        )

    def value(self, row: Any) -> int:
        if self.kind == "subscriber":
            return int(row.puk_failures)
        if self.kind == "client":
            return int(row.account_password_changed_at or 0)
        return int(row.failures)


STEPS = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(["read", "write"]), st.booleans()),
    min_size=1,
    max_size=12,
)


@pytest.mark.parametrize("kind", ["subscriber", "client", "guard"])
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
async def test_exactly_the_writes_from_a_current_version_land(
    store: Store, second_store: Store, kind: str, steps: list[tuple[int, str, bool]]
) -> None:
    """Three callers read and write one row through two instances, in any order: a write
    succeeds if and only if no write landed since its caller's read, and every read (of
    either instance) returns the last write that landed, with the audit of landed writes
    only. (Each example works on a row of its own.)"""
    versioned = Versioned(kind)
    key = await versioned.create(store)
    instances = (store, second_store)
    snapshots = [await versioned.read(store, key) for _ in range(3)]
    landed_version, landed_value = snapshots[0].version, versioned.value(snapshots[0])
    landed_audit: list[str] = []
    for step, (caller, action, on_second) in enumerate(steps, start=1):
        instance = instances[on_second]
        if action == "read":
            snapshots[caller] = await versioned.read(instance, key)
            assert snapshots[caller].version == landed_version
            assert versioned.value(snapshots[caller]) == landed_value
            continue
        read = snapshots[caller]
        changes = versioned.write(read, step) + ChangeSet(audit=(entry(RU, f"{key}:{step}"),))
        if read.version == landed_version:
            await instance.commit(changes)
            landed_version, landed_value = read.version + 1, step
            landed_audit.append(f"{key}:{step}")
        else:
            with pytest.raises(ConcurrentUpdate):
                await instance.commit(changes)
    for instance in instances:
        final = await versioned.read(instance, key)
        assert (final.version, versioned.value(final)) == (landed_version, landed_value)
        actions = [e.action for e in await instance.audit_log(msisdn=RU, limit=1000)]
        assert [a for a in actions if a.startswith(f"{key}:")] == landed_audit[::-1]

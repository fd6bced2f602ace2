"""Rule 14: a backend never lets a driver exception through; after an error nothing of the
call is written."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from contract_support import ARGON2, RU, T0, OpenStore, advanced, entry, record, subscriber, ussd

from state.errors import ConcurrentUpdate, StoreError, StoreUnavailable
from state.models import ChangeSet, OutboxMessage
from state.store import Store

CALLS: dict[str, Callable[[Store], Awaitable[Any]]] = {
    "get_subscriber": lambda s: s.get_subscriber(RU),
    "get_client": lambda s: s.get_client(1),
    "client_by": lambda s: s.client_by(account="1"),
    "client_subscribers": lambda s: s.client_subscribers(1),
    "get_guard": lambda s: s.get_guard(RU),
    "get_web_session": lambda s: s.get_web_session(b"\0" * 32),
    "get_challenge": lambda s: s.get_challenge(b"\0" * 32),
    "load_hop": lambda s: s.load_hop("native:x", RU),
    "load_codes": lambda s: s.load_codes(RU, "login", T0),
    "mo_received": lambda s: s.mo_received("smsc", "m"),
    "commit": lambda s: s.commit(ChangeSet(audit=(entry(RU, "after close"),))),
    "commit a session": lambda s: s.commit(ChangeSet(), session=ussd("native:closed")),
    "outbox": lambda s: s.outbox(),
    "claim_outbox": lambda s: s.claim_outbox(T0, limit=1, lease=30),
    "finish_outbox": lambda s: s.finish_outbox(1, status="sent", now=T0),
    "record_delivery": lambda s: s.record_delivery(delivery="delivered", now=T0, message_id=1),
    "outbox_backlog": lambda s: s.outbox_backlog(T0),
    "sweep_sessions": lambda s: s.sweep_sessions(T0, idle=60, total=180, keep=600),
    "sweep_web": lambda s: s.sweep_web(T0, idle=60, total=180, keep=600),
    "import_subscribers": lambda s: s.import_subscribers([record("375290000000")]),
    "audit_log": lambda s: s.audit_log(),
    "ping": lambda s: s.ping(),
}


@pytest.mark.parametrize("call", list(CALLS))
async def test_a_closed_store_raises_store_error(
    closed_store: Store, store: Store, call: str
) -> None:
    """Every method of a closed instance raises StoreError (never the driver's exception,
    never a hang), and writes nothing the open instance could see."""
    with pytest.raises(StoreError):
        await asyncio.wait_for(CALLS[call](closed_store), timeout=10)
    assert await store.audit_log() == []
    assert (await store.load_hop("native:closed", RU))[0] is None
    assert await store.get_subscriber("375290000000") is None


async def test_an_open_store_answers_ping(store: Store) -> None:
    """ping returns quietly while the database can be reached."""
    await store.ping()
    await store.ping()  # and again: a ping leaves the store as it was
    assert await store.get_subscriber(RU) is not None


async def test_an_unreachable_database_is_store_unavailable(open_unreachable: OpenStore) -> None:
    """Opening a database that cannot be reached raises StoreUnavailable."""
    with pytest.raises(StoreUnavailable):
        await asyncio.wait_for(open_unreachable(), timeout=30)


async def test_plain_password_cannot_be_stored(store: Store) -> None:
    """The schema itself refuses a password column that is not an argon2id hash: StoreError
    (not ConcurrentUpdate, not a driver exception), and nothing of the commit is written."""
    sub = await subscriber(store, RU)
    for plain in (
        replace(sub, password_hash="hunter2hunter2", version=sub.version + 1),
        replace(sub, temp_password_hash="hunter2hunter2", version=sub.version + 1),
    ):
        with pytest.raises(StoreError) as error:
            await store.commit(ChangeSet.write(sub, plain, entry(RU, "password_set")))
        assert not isinstance(error.value, ConcurrentUpdate)
    client = await store.get_client(sub.client_id)
    assert client is not None
    plain_client = replace(client, account_password_hash="hunter2", version=client.version + 1)
    with pytest.raises(StoreError) as error:
        await store.commit(
            ChangeSet(
                clients=((client.version, plain_client),), outbox=(OutboxMessage(RU, "k", "b", T0),)
            )
        )
    assert not isinstance(error.value, ConcurrentUpdate)
    assert await subscriber(store, RU) == sub
    assert await store.get_client(client.id) == client
    assert await store.audit_log() == []
    assert await store.outbox() == []
    good = advanced(sub, password_hash=ARGON2)
    await store.commit(ChangeSet.write(sub, good))  # the store still works afterwards
    assert await subscriber(store, RU) == good

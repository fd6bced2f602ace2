"""Rules 10 and 1: once commit returns, every read of every instance on the database sees
the change, and it outlives the instance that wrote it."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from contract_support import (
    ARGON2,
    RU,
    T0,
    OpenStore,
    advanced,
    digest,
    entry,
    subscriber,
    ussd,
    web,
)

from state.models import (
    ChangeSet,
    Channel,
    CodeSend,
    LoginChallenge,
    MoReceipt,
    OtpCode,
    OtpGuard,
    OutboxMessage,
)
from state.store import Store


async def test_a_committed_change_is_read_at_once(store: Store) -> None:
    """Each write is seen by the very next read of the same instance."""
    before = await subscriber(store, RU)
    for round_ in range(3):
        changed = advanced(before, lang="en" if round_ % 2 == 0 else "ru")
        await store.commit(ChangeSet.write(before, changed))
        before = await subscriber(store, RU)
        assert before == changed


async def test_every_read_of_another_instance_sees_the_commit(
    store: Store, second_store: Store
) -> None:
    """A commit on one instance is seen, through every read, by another instance on the
    same database at once."""
    ru = await subscriber(store, RU)
    client = await store.get_client(ru.client_id)
    assert client is not None
    # Read first on the second instance: a cached read must not hide the write.
    assert await second_store.get_subscriber(RU) == ru
    assert (await second_store.load_hop("native:ryw", RU))[0] is None
    code = OtpCode(RU, "login", digest("code"), T0, T0 + 300)
    challenge = LoginChallenge(digest("challenge"), RU, "account", T0, T0 + 300)
    session = ussd("native:ryw")
    changes = ChangeSet(
        subscribers=((ru.version, advanced(ru, puk_failures=2)),),
        audit=(entry(RU, "ryw"),),
        outbox=(OutboxMessage(RU, "code", "ryw", T0),),
        guards=((0, OtpGuard(RU, 1, None, 1)),),
        codes=(code,),
        code_sends=(CodeSend(RU, "login", Channel.WEB, T0),),
        mo_receipts=(MoReceipt("smsc", "ryw", T0),),
        clients=(
            (
                client.version,
                replace(client, account_password_hash=ARGON2, version=client.version + 1),
            ),
        ),
        web_sessions=((None, web("ryw")),),
        challenges=(challenge,),
    )
    await store.commit(changes, session=session)
    new_ru = changes.subscribers[0][1]
    assert await second_store.get_subscriber(RU) == new_ru
    assert await second_store.load_hop("native:ryw", RU) == (session, new_ru)
    assert [s.msisdn for s in await second_store.client_subscribers(ru.client_id)] == [RU]
    assert (await second_store.client_subscribers(ru.client_id))[0] == new_ru
    assert await second_store.get_client(client.id) == changes.clients[0][1]
    assert await second_store.get_guard(RU) == OtpGuard(RU, 1, None, 1)
    codes = await second_store.load_codes(RU, "login", T0 + 1)
    assert (codes.code, codes.guard, codes.sends_last_minute) == (code, OtpGuard(RU, 1, None, 1), 1)
    assert await second_store.mo_received("smsc", "ryw")
    assert await second_store.get_web_session(digest("ryw")) == web("ryw")
    assert await second_store.get_challenge(digest("challenge")) == challenge
    assert [e.action for e in await second_store.audit_log(msisdn=RU)] == ["ryw"]
    assert [m.body for m in await second_store.outbox(RU)] == ["ryw"]
    moved = replace(session, hop=2, state="next")
    await second_store.commit(ChangeSet(), session=moved, session_hop_read=1)
    assert (await store.load_hop("native:ryw", RU))[0] == moved


async def test_concurrent_writers_on_two_instances_are_all_seen(
    store: Store, second_store: Store
) -> None:
    """Commits racing on two instances are all seen by both once they have returned."""
    await asyncio.gather(
        *(
            (store, second_store)[n % 2].commit(ChangeSet(audit=(entry(RU, f"n{n}"),)))
            for n in range(20)
        )
    )
    for reader in (store, second_store):
        assert sorted(e.action for e in await reader.audit_log()) == sorted(
            f"n{n}" for n in range(20)
        )


async def test_a_commit_outlives_the_instance_that_made_it(
    store: Store, open_store: OpenStore
) -> None:
    """A returned commit is there after its instance is closed, for a store opened on the
    database afterwards (opening a migrated database again changes nothing)."""
    writer = await open_store()
    ru = await subscriber(writer, RU)
    await writer.commit(
        ChangeSet.write(ru, advanced(ru, puk_failures=4), entry(RU, "kept")),
        session=ussd("native:kept"),
    )
    await writer.close()
    await store.close()
    reopened = await open_store()
    assert (await subscriber(reopened, RU)).puk_failures == 4
    assert [e.action for e in await reopened.audit_log()] == ["kept"]
    assert (await reopened.load_hop("native:kept", RU))[0] == ussd("native:kept")

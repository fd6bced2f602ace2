"""Rule 8: a new USSD session is inserted; a later hop moves it only from the hop it read,
only while it is live, and only in the columns that move."""

from __future__ import annotations

from dataclasses import replace

import pytest
from contract_support import EN, RU, T0, entry, subscriber, ussd

from state.errors import ConcurrentUpdate
from state.models import ChangeSet
from state.store import Store


async def test_a_new_session_is_inserted_as_given(store: Store, second_store: Store) -> None:
    """The first hop's session reads back whole (reply and data included), with the
    subscriber, from either instance; an unknown id reads as None."""
    session = ussd("native:new", RU)
    await store.commit(ChangeSet(), session=session, session_hop_read=None)
    for reader in (store, second_store):
        row, sub = await reader.load_hop("native:new", RU)
        assert row == session
        assert sub == await subscriber(store, RU)
    assert await store.load_hop("native:none", RU) == (None, await subscriber(store, RU))
    assert await store.load_hop("native:new", "375290000000") == (session, None)


async def test_session_write_is_checked_by_hop(store: Store) -> None:
    """Two writers of the same session: the second, reading an old hop, loses (and a
    second start of the same id too)."""
    session = ussd("native:s", hop=1)
    await store.commit(ChangeSet(), session=session, session_hop_read=None)
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet(), session=session, session_hop_read=None)
    await store.commit(ChangeSet(), session=replace(session, hop=2), session_hop_read=1)
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet(), session=replace(session, hop=2), session_hop_read=1)


async def test_the_next_hop_moves_the_session(store: Store, second_store: Store) -> None:
    """A hop from the current hop count moves state, data, time, hop, hop key and reply;
    the next instance to take a hop reads the moved session."""
    session = ussd("native:moves")
    await store.commit(ChangeSet(), session=session)
    moved = replace(
        session,
        state="confirm_close",
        data={"step": 2},
        updated_at=T0 + 5,
        hop=2,
        last_hop_length=1,
        last_hop_tag="1",
        last_reply={"text": "Закрыть?", "ends": False},
    )
    await store.commit(ChangeSet(), session=moved, session_hop_read=1)
    row, _ = await second_store.load_hop("native:moves", RU)
    assert row == moved
    last = replace(
        moved, state="closed", hop=3, updated_at=T0 + 9, ended_at=T0 + 9, end_reason="completed"
    )
    await second_store.commit(ChangeSet(), session=last, session_hop_read=2)
    assert (await store.load_hop("native:moves", RU))[0] == last


async def test_a_stale_hop_writes_nothing_of_its_change_set(store: Store) -> None:
    """A hop read before another hop landed fails with ConcurrentUpdate and its decision
    (subscriber write, audit) is undone with it."""
    session = ussd("native:stale")
    await store.commit(ChangeSet(), session=session)
    await store.commit(ChangeSet(), session=replace(session, hop=2, state="a"), session_hop_read=1)
    ru = await subscriber(store, RU)
    decision = ChangeSet.write(
        ru, replace(ru, lang="en", version=ru.version + 1), entry(RU, "lang_changed")
    )
    with pytest.raises(ConcurrentUpdate):
        await store.commit(decision, session=replace(session, hop=2, state="b"), session_hop_read=1)
    assert await subscriber(store, RU) == ru
    assert await store.audit_log() == []
    assert (await store.load_hop("native:stale", RU))[0] == replace(session, hop=2, state="a")


async def test_a_hop_on_an_unknown_session_fails(store: Store) -> None:
    """A hop read given for a session that is not stored (purged) is a conflict."""
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet(), session=ussd("native:gone", hop=4), session_hop_read=3)
    assert (await store.load_hop("native:gone", RU))[0] is None


async def test_a_session_the_sweeper_ended_is_not_brought_back(store: Store) -> None:
    """A hop read before the sweeper ended its session loses its write, whether it moves
    the session on or ends it itself; the row stays as the sweeper left it."""
    session = ussd("native:swept", at=1.0)
    await store.commit(ChangeSet(), session=session, session_hop_read=None)
    await store.sweep_sessions(1000.0, idle=60.0, total=180.0, keep=3600.0)
    swept, _ = await store.load_hop("native:swept", RU)
    assert swept is not None
    for ended_at in (None, 1001.0):  # a later hop, and the engine ending the session itself
        later = replace(
            session,
            state="confirm_close",
            hop=2,
            updated_at=1001.0,
            ended_at=ended_at,
            end_reason="completed" if ended_at else None,
        )
        with pytest.raises(ConcurrentUpdate):
            await store.commit(
                ChangeSet(audit=(entry(RU, "x"),)), session=later, session_hop_read=1
            )
    row, _ = await store.load_hop("native:swept", RU)
    assert row == swept
    assert row is not None and row.end_reason == "expired" and row.state == "menu_open"
    assert await store.audit_log() == []


async def test_a_session_ended_by_its_last_hop_takes_no_more_hops(store: Store) -> None:
    """A session that ended with its last reply is kept for repeats, never moved again."""
    session = ussd("native:done")
    await store.commit(ChangeSet(), session=session)
    done = replace(session, hop=2, state="opened", ended_at=T0 + 1, end_reason="completed")
    await store.commit(ChangeSet(), session=done, session_hop_read=1)
    with pytest.raises(ConcurrentUpdate):
        await store.commit(
            ChangeSet(),
            session=replace(done, hop=3, ended_at=None, end_reason=None),
            session_hop_read=2,
        )
    assert (await store.load_hop("native:done", RU))[0] == done


async def test_a_hop_never_changes_number_service_language_or_start(store: Store) -> None:
    """Only what moves is written: a later hop's msisdn, service, lang and started_at are
    not applied (a live hop and an ending hop alike)."""
    session = ussd("native:fixed", RU)
    await store.commit(ChangeSet(), session=session)
    for hop, ended_at in ((2, None), (3, T0 + 9)):
        await store.commit(
            ChangeSet(),
            session=replace(
                session,
                msisdn=EN,
                service="password",
                lang="en",
                started_at=T0 + 100,
                hop=hop,
                state=f"s{hop}",
                updated_at=T0 + hop,
                ended_at=ended_at,
                end_reason="completed" if ended_at else None,
            ),
            session_hop_read=hop - 1,
        )
        row, _ = await store.load_hop("native:fixed", RU)
        assert row is not None
        assert (row.msisdn, row.service, row.lang, row.started_at) == (RU, "access", "ru", T0)
        assert (row.hop, row.state, row.updated_at, row.ended_at) == (
            hop,
            f"s{hop}",
            T0 + hop,
            ended_at,
        )

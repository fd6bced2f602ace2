"""Rule 7: the request's own web session is written first (only live, at its version), then
``sessions_ended`` ends the numbers' live sessions, then new sessions are created."""

from __future__ import annotations

from dataclasses import replace

import pytest
from contract_support import EN, RU, T0, entry, web

from state.errors import ConcurrentUpdate
from state.models import ChangeSet, SessionsEnded, WebSession
from state.store import Store


async def _read(store: Store, session: WebSession) -> WebSession:
    row = await store.get_web_session(session.digest)
    assert row is not None
    return row


async def test_a_new_web_session_is_stored_as_given(store: Store, second_store: Store) -> None:
    """A session written with no version read is created, every field as given."""
    session = web("new", RU, must_change=True, credential_at=T0 - 100, method="account")
    await store.commit(ChangeSet(web_sessions=((None, session),)))
    assert await _read(store, session) == session
    assert await _read(second_store, session) == session
    assert await store.get_web_session(b"\0" * 32) is None


async def test_the_own_session_is_written_at_its_version_only(store: Store) -> None:
    """A touch from the version read lands and advances; one from an older read fails."""
    session = web("own", RU)
    await store.commit(ChangeSet(web_sessions=((None, session),)))
    touched = replace(session, last_seen_at=T0 + 10, version=1)
    await store.commit(ChangeSet(web_sessions=((0, touched),)))
    assert await _read(store, session) == touched
    stale = replace(session, last_seen_at=T0 + 20, version=1)
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet(web_sessions=((0, stale),), audit=(entry(RU, "x"),)))
    assert await _read(store, session) == touched
    assert await store.audit_log() == []


async def test_a_write_to_an_ended_session_fails_at_any_version(store: Store) -> None:
    """Once a session has ended (here by ``sessions_ended``, which advanced its version),
    a write to it fails even from the version it has now, and writes nothing."""
    session = web("own", RU)
    await store.commit(ChangeSet(web_sessions=((None, session),)))
    await store.commit(ChangeSet(sessions_ended=(SessionsEnded(RU, "closed", T0 + 1),)))
    ended = await _read(store, session)
    assert (ended.ended_at, ended.end_reason, ended.version) == (T0 + 1, "closed", 1)
    revived = replace(ended, ended_at=None, end_reason=None, last_seen_at=T0 + 2, version=2)
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet(web_sessions=((1, revived),), audit=(entry(RU, "x"),)))
    assert await _read(store, session) == ended
    assert await store.audit_log() == []


async def test_a_write_to_an_unknown_session_fails(store: Store) -> None:
    """A version read given for a session that is not stored is a conflict, not a create."""
    ghost = web("ghost", RU, version=1)
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet(web_sessions=((0, ghost),)))
    assert await store.get_web_session(ghost.digest) is None


async def test_sessions_ended_ends_every_live_session_of_the_number_only(store: Store) -> None:
    """Every live session of the number ends (reason, time, version + 1); sessions of other
    numbers and sessions that had ended already keep what they have."""
    live = [web("ru-1", RU), web("ru-2", RU, at=T0 - 50)]
    other = web("en-1", EN)
    over = web("ru-old", RU, at=T0 - 500, ended_at=T0 - 400, end_reason="logout", version=3)
    await store.commit(ChangeSet(web_sessions=tuple((None, s) for s in (*live, other, over))))
    await store.commit(ChangeSet(sessions_ended=(SessionsEnded(RU, "password_changed", T0 + 5),)))
    for session in live:
        assert await _read(store, session) == replace(
            session, ended_at=T0 + 5, end_reason="password_changed", version=1
        )
    assert await _read(store, other) == other
    assert await _read(store, over) == over


async def test_a_password_change_ends_every_session_and_hands_out_a_fresh_one(
    store: Store, second_store: Store
) -> None:
    """One change set with the own session's write, ``sessions_ended`` and a new session:
    the own write is checked while the session is live (so it lands), then it and the
    number's other sessions end, then the new session starts live."""
    own = web("own", RU)
    sibling = web("sibling", RU)
    await store.commit(ChangeSet(web_sessions=((None, own), (None, sibling))))
    touched = replace(own, last_seen_at=T0 + 30, credential_at=T0 + 30, version=1)
    fresh = web("fresh", RU, at=T0 + 30, credential_at=T0 + 30)
    await store.commit(
        ChangeSet(
            # Listed new first: the order of the rule is the store's, not the list's.
            web_sessions=((None, fresh), (0, touched)),
            sessions_ended=(SessionsEnded(RU, "password_changed", T0 + 30),),
        )
    )
    for reader in (store, second_store):
        assert await _read(reader, own) == replace(
            touched, ended_at=T0 + 30, end_reason="password_changed", version=2
        )
        assert await _read(reader, sibling) == replace(
            sibling, ended_at=T0 + 30, end_reason="password_changed", version=1
        )
        assert await _read(reader, fresh) == fresh


async def test_an_ended_own_session_fails_the_password_change_whole(store: Store) -> None:
    """If the own session ended before the change set lands (a logout elsewhere), the
    whole change set fails: no session is ended and none is handed out."""
    own = web("own", RU)
    sibling = web("sibling", RU)
    await store.commit(ChangeSet(web_sessions=((None, own), (None, sibling))))
    logout = replace(own, ended_at=T0 + 1, end_reason="logout", version=1)
    await store.commit(ChangeSet(web_sessions=((0, logout),)))
    touched = replace(own, last_seen_at=T0 + 30, version=2)  # from the version it has now
    fresh = web("fresh", RU, at=T0 + 30)
    with pytest.raises(ConcurrentUpdate):
        await store.commit(
            ChangeSet(
                web_sessions=((1, touched), (None, fresh)),
                sessions_ended=(SessionsEnded(RU, "password_changed", T0 + 30),),
            )
        )
    assert await _read(store, own) == logout
    assert await _read(store, sibling) == sibling
    assert await store.get_web_session(fresh.digest) is None

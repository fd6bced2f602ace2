"""``load_codes``: a number's code and guard, and the send counts the limits read."""

from __future__ import annotations

import pytest
from contract_support import EN, RU, digest

from state.errors import ConcurrentUpdate
from state.models import ChangeSet, Channel, CodeSend, OtpCode, OtpGuard
from state.store import CodeSnapshot, Store

NOW = 10_000.0


async def test_code_snapshot_counts_sends(store: Store) -> None:
    """Per-number minute and 10-minute counts, the global hour count, the last send."""
    sends = [CodeSend(RU, "login", Channel.WEB, NOW - t) for t in (5, 120, 700)]
    sends.append(CodeSend("375330000001", "login", Channel.WEB, NOW - 30))
    await store.commit(ChangeSet(code_sends=tuple(sends)))
    snap = await store.load_codes(RU, "login", NOW)
    assert (snap.sends_last_minute, snap.sends_last_10_minutes, snap.sends_last_hour_all) == (
        1,
        2,
        4,
    )
    assert snap.last_send_at == NOW - 5 and snap.oldest_send_in_10_minutes == NOW - 120
    assert snap.code is None and snap.guard == OtpGuard(RU)


async def test_counts_of_a_number_without_sends(store: Store) -> None:
    """No sends: zero counts, no oldest and no last send, a fresh guard, no code."""
    await store.commit(ChangeSet(code_sends=(CodeSend(EN, "login", Channel.SMS, NOW - 1),)))
    assert await store.load_codes(RU, "login", NOW) == CodeSnapshot(
        guard=OtpGuard(RU),
        code=None,
        sends_last_minute=0,
        sends_last_10_minutes=0,
        sends_last_hour_all=1,
        oldest_send_in_10_minutes=None,
        last_send_at=None,
    )


async def test_the_last_send_is_found_beyond_ten_minutes(store: Store) -> None:
    """A number whose last send is older than ten minutes has zero recent counts but
    still reports when that last send was (the resend interval reads it)."""
    await store.commit(
        ChangeSet(
            code_sends=(
                CodeSend(RU, "login", Channel.WEB, NOW - 9000),
                CodeSend(RU, "login", Channel.WEB, NOW - 4000),
            )
        )
    )
    snap = await store.load_codes(RU, "login", NOW)
    assert (snap.sends_last_minute, snap.sends_last_10_minutes, snap.sends_last_hour_all) == (
        0,
        0,
        0,
    )
    assert (snap.oldest_send_in_10_minutes, snap.last_send_at) == (None, NOW - 4000)


async def test_counts_move_with_now(store: Store) -> None:
    """The windows are relative to the ``now`` asked about."""
    await store.commit(
        ChangeSet(
            code_sends=tuple(CodeSend(RU, "login", Channel.WEB, NOW + t) for t in (0, 100, 200))
        )
    )
    soon = await store.load_codes(RU, "login", NOW + 230)
    assert (soon.sends_last_minute, soon.sends_last_10_minutes, soon.sends_last_hour_all) == (
        1,
        3,
        3,
    )
    assert (soon.oldest_send_in_10_minutes, soon.last_send_at) == (NOW, NOW + 200)
    later = await store.load_codes(RU, "login", NOW + 750)
    assert (later.sends_last_minute, later.sends_last_10_minutes, later.sends_last_hour_all) == (
        0,
        1,
        3,
    )
    assert (later.oldest_send_in_10_minutes, later.last_send_at) == (NOW + 200, NOW + 200)
    gone = await store.load_codes(RU, "login", NOW + 4000)
    assert (gone.sends_last_10_minutes, gone.sends_last_hour_all, gone.last_send_at) == (
        0,
        0,
        NOW + 200,
    )


async def test_a_numbers_counts_cover_every_purpose(store: Store) -> None:
    """The send limits are per number: sends for another purpose count too, while the code
    returned is the purpose's own."""
    code = OtpCode(RU, "register", digest("r"), NOW, NOW + 300)
    await store.commit(
        ChangeSet(
            codes=(code,),
            code_sends=(
                CodeSend(RU, "login", Channel.WEB, NOW - 10),
                CodeSend(RU, "register", Channel.USSD, NOW - 20),
            ),
        )
    )
    login = await store.load_codes(RU, "login", NOW)
    assert (login.sends_last_minute, login.sends_last_10_minutes, login.code) == (2, 2, None)
    register = await store.load_codes(RU, "register", NOW)
    assert (register.sends_last_minute, register.code) == (2, code)
    assert register.oldest_send_in_10_minutes == NOW - 20 and register.last_send_at == NOW - 10


async def test_code_replaced_and_guard_versioned(store: Store) -> None:
    """A code write replaces the number's code; a guard write on a stale version fails."""
    first = OtpCode(RU, "login", b"a" * 32, NOW, NOW + 300)
    guard = OtpGuard(RU, failures=0, version=1)
    await store.commit(ChangeSet(guards=((0, guard),), codes=(first,)))
    second = OtpCode(RU, "login", b"b" * 32, NOW + 1, NOW + 301)
    await store.commit(ChangeSet(guards=((1, OtpGuard(RU, 2, None, 2)),), codes=(second,)))
    snap = await store.load_codes(RU, "login", NOW + 2)
    assert snap.code is not None and snap.code.digest == b"b" * 32
    assert snap.guard.failures == 2 and snap.guard.version == 2
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet(guards=((1, OtpGuard(RU, 9, None, 2)),)))
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet(guards=((0, OtpGuard(RU, 9, None, 1)),)))
    assert (await store.load_codes(RU, "login", NOW)).guard.failures == 2

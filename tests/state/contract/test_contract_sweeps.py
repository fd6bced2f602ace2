"""Rule 11: sweeps end USSD and web sessions past their idle or total time and purge what
ended long ago, and stay exact when several instances sweep at once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from contract_support import EN, RU, T0, digest, ussd, web

from state.models import ChangeSet, LoginChallenge
from state.store import Store, SweepResult

IDLE, TOTAL, KEEP = 60.0, 180.0, 600.0


async def test_sweep_ends_idle_sessions_and_purges_old_ones(store: Store) -> None:
    """Idle sessions end with their data dropped; long-ended ones are deleted."""
    idle = ussd("n:idle", at=100.0, state="confirm_password", data={"pending": "$argon2id$..."})
    old = ussd("n:old", at=0.0, hop=2, ended_at=1.0, end_reason="completed")
    for s in (idle, old):
        await store.commit(ChangeSet(), session=s, session_hop_read=None)
    result = await store.sweep_sessions(1000.0, idle=60, total=180, keep=600)
    assert (result.expired, result.purged) == (1, 1)
    swept, _ = await store.load_hop("n:idle", RU)
    assert swept is not None and swept.data == {} and swept.end_reason == "expired"
    assert (await store.load_hop("n:old", RU))[0] is None


async def test_a_ussd_session_ends_when_idle_or_open_too_long(store: Store) -> None:
    """Idle longer than ``idle`` or open longer than ``total`` ends a session (at the sweep's
    time, reason ``expired``, pending data dropped, the rest kept); a session within both
    limits, and one that ended already, are left alone."""
    sessions = {
        "idle": ussd("n:idle", at=T0 - IDLE - 5),
        "too long": ussd("n:long", started_at=T0 - TOTAL - 5, at=T0 - 1),
        "live": ussd("n:live", started_at=T0 - TOTAL + 5, at=T0 - IDLE + 5),
        "ended": ussd("n:ended", at=T0 - IDLE - 5, ended_at=T0 - 10, end_reason="completed"),
    }
    for session in sessions.values():
        await store.commit(ChangeSet(), session=session)
    assert await store.sweep_sessions(T0, idle=IDLE, total=TOTAL, keep=KEEP) == SweepResult(2, 0)
    for name in ("idle", "too long"):
        row, _ = await store.load_hop(sessions[name].id, RU)
        assert row == replace(sessions[name], data={}, ended_at=T0, end_reason="expired")
    for name in ("live", "ended"):
        assert (await store.load_hop(sessions[name].id, RU))[0] == sessions[name]
    assert await store.sweep_sessions(T0, idle=IDLE, total=TOTAL, keep=KEEP) == SweepResult(0, 0)


async def test_ended_ussd_sessions_are_purged_after_keep(store: Store) -> None:
    """A session ended more than ``keep`` ago is deleted; one ended since is kept (for a
    repeated hop), however it ended."""
    old = ussd("n:old", at=T0 - KEEP - 100, ended_at=T0 - KEEP - 5, end_reason="completed")
    recent = ussd("n:recent", at=T0 - KEEP, ended_at=T0 - KEEP + 5, end_reason="completed")
    for session in (old, recent):
        await store.commit(ChangeSet(), session=session)
    await store.commit(ChangeSet(), session=ussd("n:expired", at=T0 - KEEP - 100))
    # The sweeper ends the idle one at T0 - KEEP + 1: purged only from T0 + 1 on.
    assert await store.sweep_sessions(T0 - KEEP + 1, idle=IDLE, total=TOTAL, keep=KEEP) == (
        SweepResult(1, 0)
    )
    assert await store.sweep_sessions(T0, idle=IDLE, total=TOTAL, keep=KEEP) == SweepResult(0, 1)
    assert (await store.load_hop("n:old", RU))[0] is None
    assert (await store.load_hop("n:recent", RU))[0] == recent
    assert (await store.load_hop("n:expired", RU))[0] is not None
    assert await store.sweep_sessions(T0 + 2, idle=IDLE, total=TOTAL, keep=KEEP) == (
        SweepResult(0, 1)
    )
    assert (await store.load_hop("n:expired", RU))[0] is None
    assert (await store.load_hop("n:recent", RU))[0] == recent


async def test_web_sessions_end_when_idle_or_too_old(store: Store) -> None:
    """A web session unseen longer than ``idle`` or older than ``total`` ends (expired, its
    version advanced); a live one within both, and an ended one, keep what they have."""
    sessions = {
        "idle": web("idle", RU, at=T0 - IDLE - 5),
        "too old": replace(web("old", RU, at=T0 - TOTAL - 5), last_seen_at=T0 - 1),
        "live": replace(web("live", EN, at=T0 - TOTAL + 5), last_seen_at=T0 - IDLE + 5),
        "ended": web("ended", RU, at=T0 - IDLE - 5, ended_at=T0 - 10, end_reason="logout"),
    }
    await store.commit(ChangeSet(web_sessions=tuple((None, s) for s in sessions.values())))
    assert await store.sweep_web(T0, idle=IDLE, total=TOTAL, keep=KEEP) == SweepResult(2, 0)
    for name in ("idle", "too old"):
        assert await store.get_web_session(sessions[name].digest) == replace(
            sessions[name], ended_at=T0, end_reason="expired", version=1
        )
    for name in ("live", "ended"):
        assert await store.get_web_session(sessions[name].digest) == sessions[name]


async def test_old_web_sessions_and_challenges_are_purged(store: Store) -> None:
    """Web sessions ended, and login challenges expired, more than ``keep`` ago are deleted
    (both counted as purged); newer ones are kept."""
    old = web("old", RU, at=T0 - 5000, ended_at=T0 - KEEP - 5, end_reason="logout")
    recent = web("recent", RU, at=T0 - 5000, ended_at=T0 - KEEP + 5, end_reason="logout")
    stale = LoginChallenge(digest("stale"), RU, "account", T0 - 5000, T0 - KEEP - 5)
    expired = LoginChallenge(digest("expired"), RU, "email", T0 - 5000, T0 - KEEP + 5)
    pending = LoginChallenge(digest("pending"), EN, "account", T0, T0 + 300)
    await store.commit(
        ChangeSet(web_sessions=((None, old), (None, recent)), challenges=(stale, expired, pending))
    )
    assert await store.sweep_web(T0, idle=IDLE, total=TOTAL, keep=KEEP) == SweepResult(0, 2)
    assert await store.get_web_session(old.digest) is None
    assert await store.get_web_session(recent.digest) == recent
    assert await store.get_challenge(stale.digest) is None
    assert await store.get_challenge(expired.digest) == expired
    assert await store.get_challenge(pending.digest) == pending


async def test_instances_sweeping_at_once_count_each_session_once(
    store: Store, second_store: Store
) -> None:
    """Four sweeps on two instances at once end every timed-out USSD and web session and
    purge every old one exactly once between them: their counts add up to what there was."""
    ended: dict[str, Any] = {"ended_at": T0 - KEEP - 5, "end_reason": "completed"}
    for n in range(12):
        await store.commit(
            ChangeSet(
                web_sessions=(
                    (None, web(f"idle-{n}", RU, at=T0 - IDLE - 5)),
                    (None, web(f"gone-{n}", EN, at=T0 - 5000, **ended)),
                )
            ),
            session=ussd(f"n:idle-{n}", at=T0 - IDLE - 5),
        )
        await store.commit(ChangeSet(), session=ussd(f"n:gone-{n}", at=T0 - 5000, **ended))
    await store.commit(ChangeSet(), session=ussd("n:live", at=T0))
    instances = (store, second_store, store, second_store)
    ussd_results, web_results = await asyncio.gather(
        asyncio.gather(
            *(i.sweep_sessions(T0, idle=IDLE, total=TOTAL, keep=KEEP) for i in instances)
        ),
        asyncio.gather(*(i.sweep_web(T0, idle=IDLE, total=TOTAL, keep=KEEP) for i in instances)),
    )
    for results in (ussd_results, web_results):
        assert sum(r.expired for r in results) == 12
        assert sum(r.purged for r in results) == 12
    for n in range(12):
        row, _ = await second_store.load_hop(f"n:idle-{n}", RU)
        assert row is not None and (row.ended_at, row.end_reason) == (T0, "expired")
        assert (await store.load_hop(f"n:gone-{n}", RU))[0] is None
        idle = await store.get_web_session(digest(f"idle-{n}"))
        assert idle is not None and (idle.end_reason, idle.version) == ("expired", 1)
        assert await second_store.get_web_session(digest(f"gone-{n}")) is None
    assert (await store.load_hop("n:live", RU))[0] == ussd("n:live", at=T0)

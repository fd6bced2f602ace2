"""retry_conflicts: a unit of work again on every conflict, KeptConflicting when they never stop."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from support import OPEN_RU, PEPPER_HEX, seed

from state.credentials import Pepper
from state.errors import ConcurrentUpdate, KeptConflicting, StoreError
from state.models import AuditEntry, ChangeSet, Channel
from state.retry import ATTEMPTS, retry_conflicts
from state.sqlite import SqliteStore


class _Flaky:
    """An attempt that conflicts ``conflicts`` times, then returns ``value``."""

    def __init__(self, conflicts: int, value: object = "done") -> None:
        self.conflicts = conflicts
        self.value = value
        self.calls = 0

    async def __call__(self) -> object:
        self.calls += 1
        if self.calls <= self.conflicts:
            raise ConcurrentUpdate(f"conflict {self.calls}")
        return self.value


async def test_runs_once_without_a_conflict() -> None:
    """A conflict-free unit of work runs exactly once; on_conflict is never called."""
    attempt = _Flaky(0, value=42)
    seen: list[None] = []
    assert await retry_conflicts(attempt, on_conflict=lambda: seen.append(None)) == 42
    assert attempt.calls == 1
    assert seen == []


@pytest.mark.parametrize("conflicts", [1, 2, 5, ATTEMPTS - 1])
async def test_retries_and_returns_the_value_after_conflicts(conflicts: int) -> None:
    """After k conflicts the (k+1)-th attempt's value is returned; on_conflict counted k."""
    attempt = _Flaky(conflicts, value={"answer": conflicts})
    seen: list[None] = []
    result = await retry_conflicts(attempt, on_conflict=lambda: seen.append(None))
    assert result == {"answer": conflicts}
    assert attempt.calls == conflicts + 1
    assert len(seen) == conflicts


@pytest.mark.parametrize("attempts", [1, 3, ATTEMPTS])
async def test_gives_up_after_exactly_attempts_tries(attempts: int) -> None:
    """Every attempt conflicted: KeptConflicting (a StoreError, not a ConcurrentUpdate),
    naming the contended thing, after exactly ``attempts`` tries."""
    attempt = _Flaky(10**6)
    seen: list[None] = []
    with pytest.raises(KeptConflicting, match="the guard of 375291112233") as info:
        await retry_conflicts(
            attempt,
            attempts=attempts,
            on_conflict=lambda: seen.append(None),
            what="the guard of 375291112233",
        )
    assert attempt.calls == attempts
    assert len(seen) == attempts
    assert isinstance(info.value, StoreError)
    assert not isinstance(info.value, ConcurrentUpdate)


async def test_default_attempts_is_attempts() -> None:
    """Without ``attempts`` the figure is ``ATTEMPTS``; ``what`` defaults to the record."""
    attempt = _Flaky(10**6)
    with pytest.raises(KeptConflicting, match="the record"):
        await retry_conflicts(attempt)
    assert attempt.calls == ATTEMPTS


async def test_other_errors_propagate_at_once() -> None:
    """Anything but a conflict is not retried: it reaches the caller from the first try."""
    calls = 0
    seen: list[None] = []

    async def attempt() -> None:
        nonlocal calls
        calls += 1
        raise StoreError("the database is broken")

    with pytest.raises(StoreError, match="broken") as info:
        await retry_conflicts(attempt, on_conflict=lambda: seen.append(None))
    assert type(info.value) is StoreError
    assert calls == 1
    assert seen == []


async def test_other_error_after_a_conflict_propagates() -> None:
    """A conflict, then a real failure: the failure propagates, no further attempt."""
    calls = 0

    async def attempt() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConcurrentUpdate("first")
        raise ValueError("second")

    with pytest.raises(ValueError, match="second"):
        await retry_conflicts(attempt)
    assert calls == 2


async def test_racing_writers_on_a_real_store_all_finish_exactly(tmp_path: Path) -> None:
    """20 concurrent read-increment-commit units on one subscriber's row in a real SQLite
    store all commit; the count and the version advance by exactly 20."""
    store = await SqliteStore.open(tmp_path / "retry.sqlite3")
    try:
        await seed(store, Pepper.from_hex(PEPPER_HEX), (OPEN_RU,))
        before = await store.get_subscriber(OPEN_RU.msisdn)
        assert before is not None
        racers = 20
        conflicts: list[None] = []
        rounds: list[int] = []

        async def one_increment(n: int) -> int:
            tries = 0

            async def attempt() -> int:
                nonlocal tries
                tries += 1
                sub = await store.get_subscriber(OPEN_RU.msisdn)
                assert sub is not None
                after = replace(sub, puk_failures=sub.puk_failures + 1, version=sub.version + 1)
                entry = AuditEntry(sub.msisdn, "test_increment", f"racer:{n}", Channel.CLI, 0.0)
                await store.commit(ChangeSet.write(sub, after, entry))
                return after.puk_failures

            value = await retry_conflicts(
                attempt, on_conflict=lambda: conflicts.append(None), what="the counter"
            )
            rounds.append(tries)
            return value

        results = await asyncio.gather(*(one_increment(n) for n in range(racers)))

        final = await store.get_subscriber(OPEN_RU.msisdn)
        assert final is not None
        assert final.puk_failures == before.puk_failures + racers
        assert final.version == before.version + racers
        # Each racer saw its own increment committed: the counts seen are all distinct.
        assert sorted(results) == list(range(before.puk_failures + 1, final.puk_failures + 1))
        assert len(rounds) == racers and max(rounds) <= ATTEMPTS
        assert len(conflicts) == sum(rounds) - racers > 0  # they really raced
        log = await store.audit_log(msisdn=OPEN_RU.msisdn, limit=100)
        assert sum(1 for e in log if e.action == "test_increment") == racers
    finally:
        await store.close()


async def test_conflicts_pause_a_short_jittered_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Between conflicted rounds the writer pauses a random time within a doubling bound
    (racers of other processes don't collide again in lockstep); none after the last
    round, none without a conflict."""
    import state.retry as retry

    pauses: list[float] = []

    async def watched(delay: float) -> None:
        pauses.append(delay)

    monkeypatch.setattr(retry, "_sleep", watched)
    assert await retry_conflicts(_Flaky(0)) == "done"
    assert pauses == []
    assert await retry_conflicts(_Flaky(12)) == "done"
    assert len(pauses) == 12
    for round_, delay in enumerate(pauses):
        assert 0.0 <= delay <= min(retry.MAX_BACKOFF, retry.BACKOFF * 2**round_)
    assert len(set(pauses)) > 1  # jittered, not a fixed step
    pauses.clear()
    with pytest.raises(KeptConflicting):
        await retry_conflicts(_Flaky(10**6), attempts=3)
    assert len(pauses) == 2  # no pause after the last attempt
    assert sum(retry.pause(r) for r in range(ATTEMPTS)) <= 0.5

"""One-time codes against a real SQLite file with an injected clock (security.md cases)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from support import CLOSED_SELF, OPEN_EN, OPEN_RU, FakeClock

from account.codes import CodePolicy, CodeService, Purpose, RequestOutcome
from state.credentials import Pepper, Sealer
from state.models import Channel
from state.sqlite import SqliteStore

STRANGER = "375290000000"


@pytest.fixture
def codes(store: SqliteStore, pepper: Pepper, clock: FakeClock) -> CodeService:
    """The code service on the seeded database, with the test clock."""
    return CodeService(store, pepper, clock=clock)


async def _code(codes: CodeService, msisdn: str = OPEN_RU.msisdn,
                purpose: Purpose = Purpose.LOGIN) -> str:
    result = await codes.request(msisdn, purpose, channel=Channel.SMS)
    assert result.outcome is RequestOutcome.REPLY and result.code is not None
    return result.code


async def test_code_is_six_digits_single_use(codes: CodeService) -> None:
    """A code has 6 digits, verifies once, and never again (case 2: replay)."""
    code = await _code(codes)
    assert len(code) == 6 and code.isdigit()
    assert await codes.verify(OPEN_RU.msisdn, Purpose.LOGIN, code)
    assert not await codes.verify(OPEN_RU.msisdn, Purpose.LOGIN, code)


async def test_expiry_to_the_second(codes: CodeService, clock: FakeClock) -> None:
    """Valid until 5 minutes; 1 s after expiry it is refused (case 2, frozen clock)."""
    code = await _code(codes)
    clock.advance(299)
    assert await codes.verify(OPEN_RU.msisdn, Purpose.LOGIN, code)
    clock.advance(61)
    code = await _code(codes)
    clock.advance(301)
    assert not await codes.verify(OPEN_RU.msisdn, Purpose.LOGIN, code)


async def test_code_is_bound_to_number_and_purpose(codes: CodeService, clock: FakeClock) -> None:
    """A registration code does not log in; A's code does not work for B (case 3)."""
    code = await _code(codes, purpose=Purpose.REGISTER)
    assert not await codes.verify(OPEN_RU.msisdn, Purpose.LOGIN, code)
    assert not await codes.verify(OPEN_EN.msisdn, Purpose.REGISTER, code)
    assert await codes.verify(OPEN_RU.msisdn, Purpose.REGISTER, code)


async def test_five_wrong_tries_kill_the_code(codes: CodeService) -> None:
    """After 5 wrong tries the right code is refused too."""
    code = await _code(codes)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        assert not await codes.verify(OPEN_RU.msisdn, Purpose.LOGIN, wrong)
    assert not await codes.verify(OPEN_RU.msisdn, Purpose.LOGIN, code)


async def test_brute_force_across_resends_locks(
    store: SqliteStore, pepper: Pepper, clock: FakeClock
) -> None:
    """5 wrong, resend, 5 wrong → locked; a resend never resets the count (case 1).

    Sends are unlimited here so the lock is seen on its own: with the real 1-a-minute
    limit the 30 s lock has passed before a resend, and the growing lock does the slowing.
    """
    codes = CodeService(store, pepper, clock=clock,
                        policy=CodePolicy(per_minute=100, per_10_minutes=100))
    for _ in range(2):
        code = await _code(codes)
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        for _ in range(5):
            assert not await codes.verify(OPEN_RU.msisdn, Purpose.LOGIN, wrong)
    code = await _code(codes)
    assert not await codes.verify(OPEN_RU.msisdn, Purpose.LOGIN, code)  # locked: not compared
    clock.advance(31)  # the first lock is 30 s
    assert await codes.verify(OPEN_RU.msisdn, Purpose.LOGIN, code)
    snap = await store.load_codes(OPEN_RU.msisdn, Purpose.LOGIN, clock())
    assert snap.guard.failures == 0 and snap.guard.locked_until is None


async def test_lock_grows_with_each_failure(codes: CodeService) -> None:
    """The lock doubles from 30 s and stops at one hour."""
    policy = CodePolicy()
    assert [policy.lock_for(n) for n in (10, 11, 12, 16, 30)] == [30, 60, 120, 1920, 3600]


async def test_parallel_checks_one_success_exact_counters(
    store: SqliteStore, pepper: Pepper, clock: FakeClock
) -> None:
    """20 parallel submissions, right and wrong: exactly one success (case 4)."""
    # No lock in the way, so every one of the 20 is compared and counted.
    codes = CodeService(store, pepper, clock=clock,
                        policy=CodePolicy(failures_before_lock=100, tries_per_code=100))
    code = await _code(codes)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    guesses = [code] * 10 + [wrong] * 10
    results = await asyncio.gather(
        *(codes.verify(OPEN_RU.msisdn, Purpose.LOGIN, g) for g in guesses)
    )
    assert sum(results) == 1
    snap = await store.load_codes(OPEN_RU.msisdn, Purpose.LOGIN, codes.clock())
    # Every check advanced the guard once; the failures after the success are counted.
    assert snap.guard.version == 1 + 20
    assert snap.code is not None and snap.code.used_at is not None


async def test_send_limits_per_number(codes: CodeService, clock: FakeClock) -> None:
    """1 a minute and 5 per 10 minutes, with the wait to report (case 5)."""
    await _code(codes)
    limited = await codes.request(OPEN_RU.msisdn, Purpose.LOGIN, channel=Channel.WEB)
    assert limited.outcome is RequestOutcome.LIMITED and 1 <= limited.retry_after <= 61
    for _ in range(4):
        clock.advance(61)
        assert (await codes.request(OPEN_RU.msisdn, Purpose.LOGIN,
                                    channel=Channel.WEB)).outcome is RequestOutcome.QUEUED
    clock.advance(61)
    limited = await codes.request(OPEN_RU.msisdn, Purpose.LOGIN, channel=Channel.WEB)
    assert limited.outcome is RequestOutcome.LIMITED and limited.retry_after > 60


async def test_global_budget(store: SqliteStore, pepper: Pepper, clock: FakeClock) -> None:
    """The hourly budget across all numbers holds (sequential numbers from one source)."""
    codes = CodeService(store, pepper, clock=clock, policy=CodePolicy(global_per_hour=3))
    outcomes = [
        (await codes.request(f"37529{n:07d}", Purpose.LOGIN, channel=Channel.WEB)).outcome
        for n in range(5)
    ]
    assert outcomes[:3] == [RequestOutcome.UNKNOWN] * 3
    assert outcomes[3:] == [RequestOutcome.LIMITED] * 2


async def test_only_our_ranges(codes: CodeService, store: SqliteStore) -> None:
    """A number outside the configured ranges gets nothing (case 5)."""
    picky = CodeService(store, Pepper(b"p" * 32), policy=CodePolicy(allowed_prefixes=("37544",)))
    result = await picky.request(OPEN_RU.msisdn, Purpose.LOGIN, channel=Channel.WEB)
    assert result.outcome is RequestOutcome.REFUSED
    assert await store.outbox() == []


async def test_unknown_number_is_limited_like_a_subscriber(codes: CodeService,
                                                           store: SqliteStore) -> None:
    """Unknown numbers count sends too: limits never tell who is a subscriber (case 6)."""
    assert (await codes.request(STRANGER, Purpose.LOGIN,
                                channel=Channel.WEB)).outcome is RequestOutcome.UNKNOWN
    assert (await codes.request(STRANGER, Purpose.LOGIN,
                                channel=Channel.WEB)).outcome is RequestOutcome.LIMITED
    assert await store.outbox() == []
    assert not await codes.verify(STRANGER, Purpose.LOGIN, "123456")


async def test_queued_sms_is_sealed(codes: CodeService, store: SqliteStore,
                                    pepper: Pepper) -> None:
    """The outbox holds the code SMS sealed; the database never holds the code in clear."""
    await codes.request(OPEN_RU.msisdn, Purpose.LOGIN, channel=Channel.WEB)
    (row,) = await store.outbox(OPEN_RU.msisdn)
    text = Sealer(pepper).open(row.body)
    code = text.split(": ")[1][:6]
    assert code.isdigit() and code not in row.body
    assert row.expires_at is not None and row.expires_at - row.created_at == 300
    for suffix in ("", "-wal"):
        with open(store.path + suffix, "rb") as raw:
            assert code.encode() not in raw.read()


async def test_number_spellings_hit_the_same_counters(codes: CodeService) -> None:
    """Codes are per normalised number: callers normalise, and the API does (case 15)."""
    from state.msisdn import normalize_msisdn

    await _code(codes, msisdn=normalize_msisdn("+375 29 111-22-33"))
    again = await codes.request(normalize_msisdn("80291112233"), Purpose.LOGIN,
                                channel=Channel.SMS)
    assert again.outcome is RequestOutcome.LIMITED


async def test_used_code_survives_a_restart(codes: CodeService, store: SqliteStore,
                                            pepper: Pepper, clock: FakeClock) -> None:
    """Marked used is committed before the answer: a new process cannot reuse it (case 14)."""
    code = await _code(codes, msisdn=CLOSED_SELF.msisdn)
    assert await codes.verify(CLOSED_SELF.msisdn, Purpose.LOGIN, code)
    reopened = await SqliteStore.open(store.path)
    try:
        fresh = CodeService(reopened, pepper, clock=clock)
        assert not await fresh.verify(CLOSED_SELF.msisdn, Purpose.LOGIN, code)
    finally:
        await reopened.close()
    with sqlite3.connect(store.path) as db:
        (used,) = db.execute("SELECT used_at FROM otp_codes WHERE msisdn = ?",
                             (CLOSED_SELF.msisdn,)).fetchone()
    assert used is not None

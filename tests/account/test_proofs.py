"""The one-verification rule, counted exactly rather than timed: each typed password costs
one argon2 verification whatever there is to check it against, and every failed password
login does the same two (the e2e timing test measures the same rule statistically)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from support import CLOSED_SELF, OPEN_EN, OPEN_RU, PASSWORDS, FakeClock

from account.codes import CodeService, Purpose
from account.errors import InvalidCredentials
from account.front_door import FrontDoor
from account.mail import LetterQueue
from account.proofs import MAX_SECRET_CHARS, Proofs
from state.credentials import PasswordHasher, Pepper
from state.models import Channel
from state.sqlite import SqliteStore

PASSWORD, WRONG = PASSWORDS[0], PASSWORDS[1]
STRANGER = "375290000009"


class CountingHasher(PasswordHasher):
    """A cheap argon2 that records what it was asked to verify and how often it hashed."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost_kib=8)
        self.verified: list[tuple[str, str]] = []
        self.hashed = 0

    async def hash(self, password: str) -> str:
        self.hashed += 1
        return await super().hash(password)

    async def verify(self, encoded: str, password: str) -> bool:
        self.verified.append((encoded, password))
        return await super().verify(encoded, password)


class NoMail:
    async def send(self, message: EmailMessage) -> None:
        raise AssertionError("no letter is sent here")


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def codes(store: SqliteStore, pepper: Pepper, clock: FakeClock) -> CodeService:
    return CodeService(store, pepper, clock=clock)


async def test_one_verification_whatever_there_is_to_check(
    store: SqliteStore, codes: CodeService, hasher: CountingHasher, pepper: Pepper, clock: FakeClock
) -> None:
    """A real hash, none, or a secret too long to hash: one verification each, and the
    over-long secret never reaches argon2; the dummy hash is made once."""
    proofs = Proofs(store, codes, hasher, pepper, clock=clock)
    real = await hasher.hash(PASSWORD)
    huge = "y" * (MAX_SECRET_CHARS + 1)
    cases = [(real, PASSWORD, True), (real, WRONG, False), (None, PASSWORD, False),
             (real, huge, False), (None, huge, False)]
    for encoded, typed, expected in cases:
        before = len(hasher.verified)
        assert await proofs.verify(encoded, typed) is expected
        assert len(hasher.verified) == before + 1, (encoded, typed)
    assert all(password != huge for _, password in hasher.verified)
    dummies = {encoded for encoded, _ in hasher.verified if encoded != real}
    assert len(dummies) == 1 and hasher.hashed == 2  # the real hash, the dummy once


async def test_every_failed_password_login_does_the_same_two_verifications(
    store: SqliteStore, codes: CodeService, hasher: CountingHasher, pepper: Pepper, clock: FakeClock
) -> None:
    """Wrong password, unknown number, no password yet, closed access, a locked guard
    with the right password: one InvalidCredentials each, after two verifications."""
    door = FrontDoor(store, codes, hasher, pepper, LetterQueue(NoMail()), clock=clock)
    code = (await codes.request(OPEN_RU.msisdn, Purpose.REGISTER, channel=Channel.SMS)).code
    assert code is not None
    await door.register_by_sms(OPEN_RU.msisdn, code, PASSWORD, PASSWORD)

    async def verifications(msisdn: str, password: str) -> int:
        before = len(hasher.verified)
        with pytest.raises(InvalidCredentials):
            await door.login_by_password(msisdn, password)
        return len(hasher.verified) - before

    assert await verifications(OPEN_RU.msisdn, WRONG) == 2
    assert await verifications(STRANGER, WRONG) == 2
    assert await verifications(OPEN_EN.msisdn, WRONG) == 2  # no password yet
    assert await verifications(CLOSED_SELF.msisdn, WRONG) == 2
    for _ in range(codes.policy.failures_before_lock - 1):  # the first wrong one counted too
        await verifications(OPEN_RU.msisdn, WRONG)
    assert (await store.get_guard(f"password:{OPEN_RU.msisdn}")).locked_until is not None
    assert await verifications(OPEN_RU.msisdn, PASSWORD) == 2  # locked: the same work

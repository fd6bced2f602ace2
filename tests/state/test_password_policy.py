"""The password policy (NIST SP 800-63B rev 4 as adopted in reference/security.md)."""

from __future__ import annotations

import pytest

from state.credentials import PasswordHasher
from state.passwords import PolicyViolation, check_password

MSISDN = "375291234567"


@pytest.mark.parametrize(
    ("candidate", "violation"),
    [
        ("short", PolicyViolation.TOO_SHORT),
        ("x" * 65, PolicyViolation.TOO_LONG),
        ("Password1", PolicyViolation.COMMON),
        ("QWERTY123", PolicyViolation.COMMON),
        ("375291234567", PolicyViolation.MSISDN),
        ("me1234567!", PolicyViolation.MSISDN),
        ("aaaaaaaaaa", PolicyViolation.REPEATED),
        ("23456789", PolicyViolation.SEQUENTIAL),
        ("98765432", PolicyViolation.SEQUENTIAL),
        ("89012345", PolicyViolation.SEQUENTIAL),
    ],
)
def test_refused(candidate: str, violation: PolicyViolation) -> None:
    """Each rule refuses what it names."""
    assert check_password(candidate, MSISDN) is violation


@pytest.mark.parametrize(
    "candidate",
    ["correct horse", "Ромашка2026", "xy" * 32, "密码很长的一个例子", "24681357", "пароль с пробелами"],
)
def test_accepted(candidate: str) -> None:
    """Long, Unicode and unusual passwords pass; no composition rules."""
    assert check_password(candidate, MSISDN) is None


def test_length_is_counted_in_composed_characters() -> None:
    """A decomposed "й" is one character: 9 code points of NFD text are 6 characters."""
    nfd = "и\u0306ж" * 3
    assert len(nfd) == 9
    assert check_password(nfd, MSISDN) is PolicyViolation.TOO_SHORT


def test_huge_input_is_refused_before_hashing() -> None:
    """A 10 KB input is refused by length; nothing expensive runs."""
    assert check_password("a" * 10_240, MSISDN) is PolicyViolation.TOO_LONG


async def test_argon2id_round_trip_off_the_loop() -> None:
    """Hashes are argon2id with OWASP's parameters and verify only the right password."""
    hasher = PasswordHasher()
    encoded = await hasher.hash("correct horse")
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert await hasher.verify(encoded, "correct horse")
    assert not await hasher.verify(encoded, "wrong horse")
    assert not await hasher.verify("not-a-hash", "correct horse")

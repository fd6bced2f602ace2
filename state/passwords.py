"""The password policy and the decision to set a password.

One policy for every channel (USSD ``*141*0#`` now, the web front end later), after
NIST SP 800-63B rev 4: at least 8 characters, up to 64, any Unicode, no composition
rules; refuse common passwords, the subscriber's own number, one repeated character
and runs of sequential digits.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import replace
from functools import lru_cache
from importlib.resources import files
from itertools import pairwise

from state.models import AuditEntry, ChangeSet, Channel, Client, SessionsEnded, Subscriber

MIN_LENGTH = 8
MAX_LENGTH = 64


class PolicyViolation(enum.StrEnum):
    """Why a candidate password is refused; the value names the message to show."""

    TOO_SHORT = "password_too_short"
    TOO_LONG = "password_too_long"
    COMMON = "password_common"
    MSISDN = "password_msisdn"
    REPEATED = "password_repeated"
    SEQUENTIAL = "password_sequential"


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    text = files("state").joinpath("data/common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().casefold() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def _is_sequential_digits(text: str) -> bool:
    if not (text.isascii() and text.isdigit()):
        return False
    steps = {(int(b) - int(a)) % 10 for a, b in pairwise(text)}
    return steps in ({1}, {9})  # ascending or descending, wrapping 9→0 / 0→9


def check_password(candidate: str, msisdn: str) -> PolicyViolation | None:
    """The first rule ``candidate`` breaks for subscriber ``msisdn``, or None if acceptable."""
    # Length is counted in characters after NFC, so a composed and a decomposed
    # "й" are the same password of the same length; nothing is ever truncated.
    text = unicodedata.normalize("NFC", candidate)
    if len(text) < MIN_LENGTH:
        return PolicyViolation.TOO_SHORT
    if len(text) > MAX_LENGTH:
        return PolicyViolation.TOO_LONG
    if text.casefold() in _common_passwords():
        return PolicyViolation.COMMON
    # The 7-digit local part is inside every spelling of the number (+375, 80…, 29…).
    if msisdn[-7:] in text:
        return PolicyViolation.MSISDN
    if len(set(text)) == 1:
        return PolicyViolation.REPEATED
    if _is_sequential_digits(text):
        return PolicyViolation.SEQUENTIAL
    return None


def normalize_password(candidate: str) -> str:
    """The form a password is hashed in (NFC), so handsets that compose differently agree."""
    return unicodedata.normalize("NFC", candidate)


def set_password(
    sub: Subscriber, password_hash: str, *, actor: str, channel: Channel, now: float
) -> tuple[Subscriber, ChangeSet]:
    """New permanent password (already hashed and checked against the policy)."""
    # A new permanent password also cancels a pending e-mailed temporary one and ends
    # every web session of the subscriber (seed 001 §1.11; reference/security.md).
    after = replace(
        sub,
        password_hash=password_hash,
        password_changed_at=now,
        temp_password_hash=None,
        temp_password_expires_at=None,
        version=sub.version + 1,
    )
    entry = AuditEntry(sub.msisdn, "password_set", actor, channel, now)
    ended = SessionsEnded(sub.msisdn, "password_changed", now)
    return after, ChangeSet.write(sub, after, entry) + ChangeSet(sessions_ended=(ended,))


def issue_temporary_password(
    sub: Subscriber, password_hash: str, *, ttl: float, channel: Channel, now: float
) -> tuple[Subscriber, ChangeSet]:
    """A new e-mailed temporary password (hashed); it replaces any earlier one."""
    after = replace(
        sub,
        temp_password_hash=password_hash,
        temp_password_expires_at=now + ttl,
        version=sub.version + 1,
    )
    entry = AuditEntry(
        sub.msisdn, "temporary_password_issued", "subscriber", channel, now, {"ttl": ttl}
    )
    return after, ChangeSet.write(sub, after, entry)


def use_temporary_password(
    sub: Subscriber, *, channel: Channel, now: float
) -> tuple[Subscriber, ChangeSet]:
    """The temporary password was just used to log in: it is spent (its deadline is now).

    The hash stays until the new password is set, so that one can be refused if it is the
    temporary password again.
    """
    after = replace(sub, temp_password_expires_at=now, version=sub.version + 1)
    entry = AuditEntry(sub.msisdn, "temporary_password_used", "subscriber", channel, now)
    return after, ChangeSet.write(sub, after, entry)


def set_account_password(
    client: Client, password_hash: str, *, msisdn: str, channel: Channel, now: float
) -> tuple[Client, ChangeSet]:
    """The account-number login password replaces the passport number / UNP (seed 001 §1.5)."""
    after = replace(
        client,
        account_password_hash=password_hash,
        account_password_changed_at=now,
        version=client.version + 1,
    )
    entry = AuditEntry(
        msisdn, "account_password_set", msisdn, channel, now, {"client_id": client.id}
    )
    ended = SessionsEnded(msisdn, "password_changed", now)
    return after, ChangeSet(
        clients=((client.version, after),), audit=(entry,), sessions_ended=(ended,)
    )

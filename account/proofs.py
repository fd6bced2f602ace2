"""What every way into the account shares: checking a proof, counting it, opening after it.

Seeds 000, 001 §1.3–1.6, 002; reference/security.md. One :class:`Proofs` is built per
front door and handed to each use case (registration, login, recovery, sessions, the
client's administration), so they all check secrets the same way and share one dummy hash.

Uniformity: every failed login — unknown number or account, no password yet, wrong
password, wrong code, a locked PUK1 — is one :class:`InvalidCredentials`, after the same
work (one argon2 verification per password typed, against a dummy hash when there is
nothing real to check). What depends on the account (closed access, an option not
enabled, a client kind) is said only after the caller's proof succeeded. :meth:`verify`
and :meth:`counted` are where that is enforced; the use cases call them on every path.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from account.codes import CodeService
from account.errors import AccessClosed, InvalidCredentials, PasswordRejected
from state.credentials import PasswordHasher, Pepper
from state.errors import ConcurrentUpdate
from state.models import ChangeSet, Client, OtpGuard, Subscriber
from state.passwords import PolicyViolation, check_password, normalize_password
from state.retry import retry_conflicts
from state.store import AccountStore

MAX_SECRET_CHARS = 256
"""Longer typed secrets are refused without hashing them (no hashing DoS)."""
T = TypeVar("T")

VIOLATION_MESSAGES = {
    PolicyViolation.TOO_SHORT: "the password must have at least 8 characters",
    PolicyViolation.TOO_LONG: "the password must have at most 64 characters",
    PolicyViolation.COMMON: "this password is too common; choose another",
    PolicyViolation.MSISDN: "the password must not contain the phone number",
    PolicyViolation.REPEATED: "the password must not be one character repeated",
    PolicyViolation.SEQUENTIAL: "the password must not be a run of sequential digits",
}


class Proofs:
    """The store, hasher, pepper, code service and clock, with the checks built on them."""

    def __init__(
        self,
        store: AccountStore,
        codes: CodeService,
        hasher: PasswordHasher,
        pepper: Pepper,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.codes = codes
        self.hasher = hasher
        self.pepper = pepper
        self.clock = clock
        self._dummy_hash: str | None = None

    def digest(self, kind: str, token: str) -> bytes:
        """The keyed digest a token is stored under (the token itself never is)."""
        return bytes.fromhex(self.pepper.tag(f"web:{kind}", token))

    async def _dummy(self) -> str:
        # Hashed once, lazily, with the real hasher's cost: checking against it takes the
        # same time as against a subscriber's hash.
        if self._dummy_hash is None:
            self._dummy_hash = await self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    async def verify(self, encoded: str | None, typed: str) -> bool:
        """One argon2 verification, always: against a dummy hash when there is none."""
        bounded = len(typed) <= MAX_SECRET_CHARS
        target = encoded if encoded is not None and bounded else await self._dummy()
        ok = await self.hasher.verify(target, normalize_password(typed) if bounded else "x")
        return ok and encoded is not None and bounded

    async def counted(self, key: str, ok: bool) -> bool:
        """Count a password check against ``key``'s guard; False while checks are locked.

        The same figures as codes: 10 consecutive failures lock checks for 30 s, doubling up
        to 1 h (reference/security.md). Callers verify first and count after, so a locked
        key costs the same work as an open one, and strangers' keys are counted the same.
        """
        policy = self.codes.policy

        async def attempt() -> bool:
            now = self.clock()
            guard = await self.store.get_guard(key)
            if guard.locked_until is not None and now < guard.locked_until:
                return False
            if ok and guard.failures == 0:
                return True
            failures = 0 if ok else guard.failures + 1
            locked_until = (
                now + policy.lock_for(failures) if failures >= policy.failures_before_lock else None
            )
            new = OtpGuard(key, failures, locked_until, guard.version + 1)
            await self.commit(ChangeSet(guards=((guard.version, new),)))
            return ok

        return await retry_conflicts(attempt, what="the check guard")

    async def commit(self, changes: ChangeSet) -> None:
        """Commit ``changes`` as one unit of work; nothing at all when there are none."""
        if not changes.empty:
            await self.store.commit(changes)

    async def retried(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """``attempt`` again on every conflict; :class:`KeptConflicting` if they never stop."""
        return await retry_conflicts(attempt, what="the account")

    def new_password_or_refuse(self, password: str, confirmation: str, msisdn: str) -> str:
        """The new password in the form it is hashed in, or :class:`PasswordRejected`."""
        if len(password) > MAX_SECRET_CHARS:
            raise PasswordRejected(
                str(PolicyViolation.TOO_LONG), VIOLATION_MESSAGES[PolicyViolation.TOO_LONG]
            )
        if password != confirmation:
            raise PasswordRejected("password_mismatch", "the password and its confirmation differ")
        violation = check_password(password, msisdn)
        if violation is not None:
            raise PasswordRejected(str(violation), VIOLATION_MESSAGES[violation])
        return normalize_password(password)

    async def open_account(self, msisdn: str) -> Subscriber:
        """The subscriber whose proof just succeeded, refused if its access is closed."""
        sub = await self.store.get_subscriber(msisdn)
        if sub is None:
            raise InvalidCredentials
        if sub.closed_by is not None:
            raise AccessClosed(sub.closed_by)
        return sub

    async def client(self, sub: Subscriber) -> Client:
        """The client ``sub`` belongs to."""
        client = await self.store.get_client(sub.client_id)
        if client is None:  # a foreign key guarantees it; a clear error if not
            raise ConcurrentUpdate("subscriber without a client")
        return client

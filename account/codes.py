"""One-time codes: issue, limit, verify (seed 001 §1.3; reference/security.md).

Policy: 6 digits from ``secrets``; valid 5 minutes; single use; bound to the number and
the purpose; a resend replaces the previous code and never resets the failure counter;
5 wrong tries kill a code; 10 consecutive failures lock checks with a growing delay
(30 s doubling to 1 h); at most 1 send a minute and 5 per 10 minutes per number, and a
global budget per hour; codes only to the operator's own number ranges.

Unknown numbers go through the same reads, limits and guarded write as subscribers (they
just get no code), so neither the answer, its timing nor the rate limits tell who exists.
Every operation on a number advances that number's guard version: concurrent requests
and checks serialise exactly (20 parallel checks: one success, exact counters).
Codes are stored as keyed digests; an SMS carrying one is sealed in the outbox. What each
request and check came to goes to a :class:`~account.counters.CodeCounters` (the service's
metrics); the caller's answer stays the one uniform answer it always was.

Over 300 lines (a few): the policy, the request and the check are one concept, read
together (the check's lock figures are the request's guard).
"""

from __future__ import annotations

import enum
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache

from account.counters import NO_COUNTERS, CodeCounters
from sms.commands import Reply, SmsCommands, load_commands, shipped_commands_path
from state.credentials import Pepper, Sealer
from state.models import (
    AuditEntry,
    ChangeSet,
    Channel,
    CodeSend,
    OtpCode,
    OtpGuard,
    OutboxMessage,
)
from state.msisdn import BELARUS
from state.retry import retry_conflicts
from state.store import CodeSnapshot, CodeStore


class Purpose(enum.StrEnum):
    """What a code may be used for; a code of one purpose is useless for another."""

    LOGIN = "login"
    REGISTER = "register"
    EMAIL_LOGIN = "email-login"


class RequestOutcome(enum.StrEnum):
    """What a request for a code came to."""

    QUEUED = "queued"
    """An SMS with the code is in the outbox."""
    REPLY = "reply"
    """The code is in ``CodeRequest.code`` for the caller's own reply (an MO answer)."""
    LIMITED = "limited"
    REFUSED = "refused"
    """Not one of the operator's number ranges: nothing is sent."""
    UNKNOWN = "unknown"
    """Not a subscriber: nothing is sent (callers facing the public must not say so)."""


class CheckOutcome(enum.StrEnum):
    """What a code check came to (for the counters: every caller gets one answer)."""

    VERIFIED = "verified"
    WRONG = "wrong"
    """A live code, and another one typed (or no digits at all)."""
    NO_CODE = "no_code"
    """No live code to compare: none issued, used, expired, or out of tries."""
    LOCKED = "locked"
    """Checks of the number are locked after repeated failures: nothing was compared."""


CODE_MAX_CHARS = 32
"""A typed code longer than this is refused unread (codes have ``CodePolicy.digits``)."""


@dataclass(frozen=True, slots=True)
class CodeRequest:
    """The result of a request; ``code`` only for ``REPLY``, and never in ``repr``."""

    outcome: RequestOutcome
    retry_after: int = 0
    code: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class CodeIssue:
    """A request decided and not yet committed: its result, and the changes to commit."""

    result: CodeRequest
    changes: ChangeSet


@dataclass(frozen=True, slots=True)
class CodePolicy:
    """The figures of the code policy."""

    digits: int = 6
    ttl: float = 300.0
    tries_per_code: int = 5
    failures_before_lock: int = 10
    first_lock: float = 30.0
    longest_lock: float = 3600.0
    per_minute: int = 1
    per_10_minutes: int = 5
    global_per_hour: int = 2000
    allowed_prefixes: tuple[str, ...] = BELARUS.own_prefixes  # the default plan's ranges

    def lock_for(self, failures: int) -> float:
        """The lock after ``failures`` consecutive failures: 30 s doubling up to 1 h."""
        steps = failures - self.failures_before_lock
        return float(min(self.first_lock * 2.0**steps, self.longest_lock))


Compose = Callable[[Purpose, str, str], str]
"""(purpose, language, code) → the SMS text carrying the code."""


@lru_cache(maxsize=1)
def _shipped_commands() -> SmsCommands:
    return load_commands(shipped_commands_path())


def default_compose(purpose: Purpose, lang: str, code: str) -> str:
    """The code SMS from the shipped ``menus/sms.yaml`` (one segment in either language)."""
    return _shipped_commands().reply(Reply.CODE, lang, code=code)


class CodeService:
    """Issue and check one-time codes for numbers."""

    def __init__(
        self,
        store: CodeStore,
        pepper: Pepper,
        *,
        policy: CodePolicy | None = None,
        clock: Callable[[], float] = time.time,
        compose: Compose = default_compose,
        counters: CodeCounters = NO_COUNTERS,
    ) -> None:
        self.store = store
        self.policy = policy or CodePolicy()
        self.clock = clock
        self._pepper = pepper
        self._sealer = Sealer(pepper)
        self._compose = compose
        self._counters = counters

    def _digest(self, msisdn: str, purpose: Purpose, code: str) -> bytes:
        return bytes.fromhex(self._pepper.tag(f"otp:{purpose}:{msisdn}", code))

    async def request(self, msisdn: str, purpose: Purpose, *, channel: Channel) -> CodeRequest:
        """Issue a new code for ``msisdn`` (normalised) unless a limit says no.

        With ``Channel.SMS`` the code is returned for the caller's reply; otherwise an SMS
        carrying it is queued (sealed) in the outbox.

        Raises:
            KeptConflicting: requests for this number kept colliding on every attempt.
        """

        async def attempt() -> CodeRequest:
            issue = await self.decide(msisdn, purpose, channel=channel)
            if not issue.changes.empty:
                await self.store.commit(issue.changes)
            return issue.result

        result = await retry_conflicts(attempt, what="code requests for this number")
        self.record(purpose, result)
        return result

    async def decide(self, msisdn: str, purpose: Purpose, *, channel: Channel) -> CodeIssue:
        r"""What a request for a code comes to now, and the changes that make it so, not
        committed: for a caller that commits them with changes of its own in one change set
        (an MO's reply and receipt), in its own ``retry_conflicts`` round, then
        :meth:`record`\s the result. The changes carry the number's guard version: a
        concurrent request makes their commit a ``ConcurrentUpdate``.
        """
        if not msisdn.startswith(self.policy.allowed_prefixes):
            return CodeIssue(CodeRequest(RequestOutcome.REFUSED), ChangeSet())
        now = self.clock()
        subscriber = await self.store.get_subscriber(msisdn)
        snap = await self.store.load_codes(msisdn, purpose, now)
        wait = self._wait(snap, now)
        if wait:
            return CodeIssue(CodeRequest(RequestOutcome.LIMITED, retry_after=wait), ChangeSet())
        code = f"{secrets.randbelow(10**self.policy.digits):0{self.policy.digits}d}"
        # The guard advances for everyone: a concurrent request for this number loses
        # its write and re-reads the send counts, so the limits hold exactly.
        guard = replace(snap.guard, version=snap.guard.version + 1)
        changes = ChangeSet(
            guards=((snap.guard.version, guard),),
            code_sends=(CodeSend(msisdn, str(purpose), channel, now),),
        )
        if subscriber is None:
            return CodeIssue(CodeRequest(RequestOutcome.UNKNOWN), changes)
        row = OtpCode(
            msisdn, purpose, self._digest(msisdn, purpose, code), now, now + self.policy.ttl
        )
        audit = AuditEntry(
            msisdn, "code_issued", "subscriber", channel, now, {"purpose": str(purpose)}
        )
        changes = changes + ChangeSet(codes=(row,), audit=(audit,))
        if channel is Channel.SMS:
            return CodeIssue(CodeRequest(RequestOutcome.REPLY, code=code), changes)
        body = self._sealer.seal(self._compose(purpose, subscriber.lang, code))
        message = OutboxMessage(msisdn, f"code:{purpose}", body, now, now + self.policy.ttl)
        return CodeIssue(CodeRequest(RequestOutcome.QUEUED), changes + ChangeSet(outbox=(message,)))

    def record(self, purpose: Purpose, result: CodeRequest) -> None:
        """Count a committed request (the service's metrics)."""
        self._counters.code_requested(str(purpose), str(result.outcome))

    def _wait(self, snap: CodeSnapshot, now: float) -> int:
        """Seconds until a send is allowed again (0: allowed now)."""
        policy = self.policy
        waits = [0.0]
        if snap.sends_last_minute >= policy.per_minute and snap.last_send_at is not None:
            waits.append(snap.last_send_at + 60 - now)
        if snap.sends_last_10_minutes >= policy.per_10_minutes and snap.oldest_send_in_10_minutes:
            waits.append(snap.oldest_send_in_10_minutes + 600 - now)
        if snap.sends_last_hour_all >= policy.global_per_hour:
            waits.append(60.0)
        longest = max(waits)
        return int(longest) + 1 if longest > 0 else 0

    async def verify(self, msisdn: str, purpose: Purpose, code: str) -> bool:
        """Whether ``code`` is the live code of ``msisdn`` for ``purpose``; uses it up if so.

        Every wrong answer counts against the code (5 kill it) and against the number
        (10 in a row lock checks); while locked nothing is compared or counted.

        Raises:
            KeptConflicting: checks of this number kept colliding on every attempt.
        """

        async def attempt() -> CheckOutcome:
            now = self.clock()
            snap = await self.store.load_codes(msisdn, purpose, now)
            guard = snap.guard
            if guard.locked_until is not None and now < guard.locked_until:
                return CheckOutcome.LOCKED
            live = snap.code
            usable = (
                live is not None
                and live.used_at is None
                and now < live.expires_at
                and live.attempts < self.policy.tries_per_code
            )
            well_formed = len(code) == self.policy.digits and code.isascii() and code.isdigit()
            right = (
                usable
                and well_formed
                and live is not None
                and hmac.compare_digest(self._digest(msisdn, purpose, code), live.digest)
            )
            changes = self._after_check(msisdn, purpose, snap, right=bool(right), now=now)
            await self.store.commit(changes)
            if right:
                return CheckOutcome.VERIFIED
            return CheckOutcome.WRONG if usable else CheckOutcome.NO_CODE

        outcome = await retry_conflicts(attempt, what="code checks for this number")
        self._counters.code_checked(str(purpose), str(outcome))
        return outcome is CheckOutcome.VERIFIED

    def _after_check(
        self, msisdn: str, purpose: Purpose, snap: CodeSnapshot, *, right: bool, now: float
    ) -> ChangeSet:
        guard, live = snap.guard, snap.code
        version = guard.version + 1
        if right and live is not None:
            used = replace(live, used_at=now)
            entry = AuditEntry(
                msisdn, "code_used", "subscriber", Channel.WEB, now, {"purpose": str(purpose)}
            )
            cleared = OtpGuard(msisdn, 0, None, version)
            return ChangeSet(guards=((guard.version, cleared),), codes=(used,), audit=(entry,))
        failures = guard.failures + 1
        locked_until = None
        audit: tuple[AuditEntry, ...] = ()
        if failures >= self.policy.failures_before_lock:
            locked_until = now + self.policy.lock_for(failures)
            audit = (
                AuditEntry(
                    msisdn,
                    "code_checks_locked",
                    "system",
                    Channel.WEB,
                    now,
                    {"failures": failures, "seconds": locked_until - now},
                ),
            )
        changes = ChangeSet(
            guards=((guard.version, OtpGuard(msisdn, failures, locked_until, version)),),
            audit=audit,
        )
        if live is not None and live.used_at is None:
            changes = changes + ChangeSet(codes=(replace(live, attempts=live.attempts + 1),))
        return changes

"""The account front door: every way into the self-service account, and what a session may do.

Seeds 000, 001 §1–1.13, 002, 003 §1; reference/security.md. The shared core decides
(``state/passwords.py``, ``state/access.py``, ``state/roles.py``, ``state/websessions.py``);
this module reads, hashes off the loop, asks the code service and commits.

Uniformity: every failed login — unknown number or account, no password yet, wrong
password, wrong code, a locked PUK1 — is one :class:`InvalidCredentials`, after the same
work (one argon2 verification per password typed, against a dummy hash when there is
nothing real to check). What depends on the account (closed access, an option not
enabled, a client kind) is said only after the caller's proof succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import secrets
import string
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from account.codes import CodeService, Purpose
from account.errors import (
    AccessClosed,
    EmailLoginUnavailable,
    Forbidden,
    InvalidCredentials,
    NotPermitted,
    PasswordChangeRequired,
    PasswordRejected,
    PukRegistrationDisabled,
    SessionOver,
    UnknownTarget,
)
from account.letters import temporary_password_letter
from account.mail import LetterQueue
from state import access, roles
from state.access import Decision, PukOutcome
from state.credentials import PasswordHasher, Pepper, identity_digest
from state.errors import ConcurrentUpdate
from state.models import (
    BUSINESS_KINDS,
    AuditEntry,
    ChangeSet,
    Channel,
    Client,
    ClosedBy,
    LoginChallenge,
    OtpGuard,
    Role,
    Subscriber,
    WebSession,
)
from state.passwords import (
    PolicyViolation,
    check_password,
    issue_temporary_password,
    normalize_password,
    set_account_password,
    set_password,
    use_temporary_password,
)
from state.retry import retry_conflicts
from state.store import AccountStore
from state.websessions import EndReason, SessionTimes, credential_epoch, ended, touched, why_over

MAX_SECRET_CHARS = 256
"""Longer typed secrets are refused without hashing them (no hashing DoS)."""
TEMP_PASSWORD_ALPHABET = string.ascii_letters + string.digits
TEMP_PASSWORD_LENGTH = 12
"""12 characters of 62: about 71 bits, plenty for a secret that lives 24 hours."""
TEMP_PASSWORD_MIN_INTERVAL = 60.0
"""At most one temporary-password letter a minute per number (no mail flooding)."""
CHALLENGE_TTL = 300.0
T = TypeVar("T")
Build = Callable[[], Awaitable[tuple[str, ChangeSet]]]
"""Reads and decides one change made in a session: (outcome, what to commit)."""

_VIOLATION_MESSAGES = {
    PolicyViolation.TOO_SHORT: "the password must have at least 8 characters",
    PolicyViolation.TOO_LONG: "the password must have at most 64 characters",
    PolicyViolation.COMMON: "this password is too common; choose another",
    PolicyViolation.MSISDN: "the password must not contain the phone number",
    PolicyViolation.REPEATED: "the password must not be one character repeated",
    PolicyViolation.SEQUENTIAL: "the password must not be a run of sequential digits",
}


class Method:
    """How a session was opened (it decides which password a change replaces)."""

    PASSWORD = "password"  # noqa: S105 - a method's name
    TEMPORARY = "temporary_password"
    SMS = "sms"
    ACCOUNT = "account"
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just opened: the token is shown once, to the caller, and never stored."""

    token: str
    msisdn: str
    method: str
    must_change_password: bool
    expires_at: float
    idle_seconds: float


@dataclass(frozen=True, slots=True)
class Context:
    """A live session with its principal, read at the start of a request."""

    session: WebSession
    subscriber: Subscriber
    client: Client
    role: Role | None


@dataclass(frozen=True, slots=True)
class SubscriberView:
    """What an administrator or supervisor sees of a subscriber of the client."""

    msisdn: str
    access_open: bool
    closed_by: str | None
    role: str | None
    puk_registration: bool
    has_password: bool


class FrontDoor:
    """Registration, login, sessions and the roles' management of a client's subscribers."""

    def __init__(
        self,
        store: AccountStore,
        codes: CodeService,
        hasher: PasswordHasher,
        pepper: Pepper,
        letters: LetterQueue,
        *,
        times: SessionTimes | None = None,
        temporary_password_ttl: float = 24 * 3600.0,
        mail_sender: str = "noreply@example.by",
        portal_url: str = "https://my.example.by",
        lock_alert: Callable[[str], str] = lambda _lang: "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.codes = codes
        self.hasher = hasher
        self.times = times or SessionTimes()
        self.temporary_password_ttl = temporary_password_ttl
        self.letters = letters
        self.clock = clock
        self._pepper = pepper
        self._mail_sender = mail_sender
        self._portal_url = portal_url
        self._lock_alert = lock_alert
        self._dummy_hash: str | None = None

    # --- helpers -----------------------------------------------------------------------

    def _digest(self, kind: str, token: str) -> bytes:
        return bytes.fromhex(self._pepper.tag(f"web:{kind}", token))

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    async def _verify(self, encoded: str | None, typed: str) -> bool:
        """One argon2 verification, always: against a dummy hash when there is none."""
        bounded = len(typed) <= MAX_SECRET_CHARS
        target = encoded if encoded is not None and bounded else await self._dummy()
        ok = await self.hasher.verify(target, normalize_password(typed) if bounded else "x")
        return ok and encoded is not None and bounded

    async def _counted(self, key: str, ok: bool) -> bool:
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
            await self._commit(ChangeSet(guards=((guard.version, new),)))
            return ok

        return await retry_conflicts(attempt, what="the check guard")

    async def _commit(self, changes: ChangeSet) -> None:
        if not changes.empty:
            await self.store.commit(changes)

    async def _retried(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """``attempt`` again on every conflict; :class:`KeptConflicting` if they never stop."""
        return await retry_conflicts(attempt, what="the account")

    def _new_password_or_refuse(self, password: str, confirmation: str, msisdn: str) -> str:
        if len(password) > MAX_SECRET_CHARS:
            raise PasswordRejected(
                str(PolicyViolation.TOO_LONG), _VIOLATION_MESSAGES[PolicyViolation.TOO_LONG]
            )
        if password != confirmation:
            raise PasswordRejected("password_mismatch", "the password and its confirmation differ")
        violation = check_password(password, msisdn)
        if violation is not None:
            raise PasswordRejected(str(violation), _VIOLATION_MESSAGES[violation])
        return normalize_password(password)

    async def _open_account(self, msisdn: str) -> Subscriber:
        """The subscriber whose proof just succeeded, refused if its access is closed."""
        sub = await self.store.get_subscriber(msisdn)
        if sub is None:
            raise InvalidCredentials
        if sub.closed_by is not None:
            raise AccessClosed(sub.closed_by)
        return sub

    async def _client(self, sub: Subscriber) -> Client:
        client = await self.store.get_client(sub.client_id)
        if client is None:  # a foreign key guarantees it; a clear error if not
            raise ConcurrentUpdate("subscriber without a client")
        return client

    def _session_for(
        self, sub: Subscriber, client: Client, method: str, *, must_change: bool, now: float
    ) -> tuple[NewSession, WebSession, AuditEntry]:
        token = secrets.token_urlsafe(32)  # 256 bits
        row = WebSession(
            digest=self._digest("session", token),
            msisdn=sub.msisdn,
            method=method,
            created_at=now,
            last_seen_at=now,
            must_change=must_change,
            credential_at=credential_epoch(sub, client),
        )
        entry = AuditEntry(sub.msisdn, "login", sub.msisdn, Channel.WEB, now, {"method": method})
        new = NewSession(
            token,
            sub.msisdn,
            method,
            must_change,
            now + self.times.total,
            self.times.idle,
        )
        return new, row, entry

    async def _open_session(
        self,
        msisdn: str,
        method: str,
        *,
        must_change: bool,
        also: Callable[[Subscriber, float], ChangeSet] | None = None,
    ) -> NewSession:
        """Open a session for ``msisdn`` once its proof succeeded (refused if closed)."""

        async def attempt() -> NewSession:
            now = self.clock()
            sub = await self._open_account(msisdn)
            extra = also(sub, now) if also else ChangeSet()
            after = extra.subscribers[-1][1] if extra.subscribers else sub
            client = await self._client(after)
            new, row, entry = self._session_for(
                after, client, method, must_change=must_change, now=now
            )
            await self._commit(extra + ChangeSet(audit=(entry,), web_sessions=((None, row),)))
            return new

        return await self._retried(attempt)

    # --- registration (seed 000) ---------------------------------------------------------

    async def register_by_sms(
        self, msisdn: str, code: str, password: str, confirmation: str
    ) -> None:
        """Set the permanent password with a registration code sent by SMS."""
        normalized = self._new_password_or_refuse(password, confirmation, msisdn)
        if not await self.codes.verify(msisdn, Purpose.REGISTER, code):
            raise InvalidCredentials
        await self._register(msisdn, normalized, "sms")

    async def register_by_puk(
        self, msisdn: str, puk: str, password: str, confirmation: str
    ) -> None:
        """Set the permanent password with the SIM's PUK1 (needs the option, seed 001 §1.4)."""
        normalized = self._new_password_or_refuse(password, confirmation, msisdn)

        async def attempt() -> None:
            now = self.clock()
            sub = await self.store.get_subscriber(msisdn)
            if sub is None:
                self._pepper.matches(puk, bytes(32))  # the same work as a real comparison
                raise InvalidCredentials
            decision = access.check_puk(
                sub,
                puk[:MAX_SECRET_CHARS],
                pepper=self._pepper,
                channel=Channel.WEB,
                now=now,
                lock_alert=self._lock_alert(sub.lang),
            )
            await self._commit(decision.changes)
            if decision.outcome is not PukOutcome.ACCEPTED:
                # Locked, or wrong (counted towards the same lock as *141*3*6#).
                raise InvalidCredentials
            if not sub.puk_registration:
                raise PukRegistrationDisabled

        await self._retried(attempt)
        await self._register(msisdn, normalized, "puk1")

    async def _register(self, msisdn: str, normalized: str, proof: str) -> None:
        password_hash = await self.hasher.hash(normalized)

        async def attempt() -> None:
            now = self.clock()
            sub = await self._open_account(msisdn)
            _after, changes = set_password(
                sub, password_hash, actor="subscriber", channel=Channel.WEB, now=now
            )
            entry = AuditEntry(
                msisdn, "registered", "subscriber", Channel.WEB, now, {"proof": proof}
            )
            await self._commit(changes + ChangeSet(audit=(entry,)))

        await self._retried(attempt)

    # --- login (seed 000, 001 §1.3–1.6, 002) ---------------------------------------------

    async def login_by_password(self, msisdn: str, password: str) -> NewSession:
        """Permanent password, or the e-mailed temporary one (then a change is forced)."""
        now = self.clock()
        sub = await self.store.get_subscriber(msisdn)
        permanent = sub.password_hash if sub else None
        temporary = None
        if sub and sub.temporary_password_live(now):
            temporary = sub.temp_password_hash
        # Two verifications, always, side by side: the work never depends on what exists.
        ok_permanent, ok_temporary = await asyncio.gather(
            self._verify(permanent, password), self._verify(temporary, password)
        )
        allowed = await self._counted(f"password:{msisdn}", ok_permanent or ok_temporary)
        if sub is None or not allowed or not (ok_permanent or ok_temporary):
            raise InvalidCredentials
        if ok_permanent:
            return await self._open_session(msisdn, Method.PASSWORD, must_change=False)

        def spend(current: Subscriber, at: float) -> ChangeSet:
            if current.temp_password_hash != temporary or not current.temporary_password_live(at):
                raise InvalidCredentials  # spent or replaced meanwhile
            return use_temporary_password(current, channel=Channel.WEB, now=at)[1]

        return await self._open_session(msisdn, Method.TEMPORARY, must_change=True, also=spend)

    async def login_by_sms(self, msisdn: str, code: str) -> NewSession:
        """A one-time login code; the permanent password stays as it is (seed 001 §1.3)."""
        if not await self.codes.verify(msisdn, Purpose.LOGIN, code):
            raise InvalidCredentials
        return await self._open_session(msisdn, Method.SMS, must_change=False)

    async def start_account_login(self, account: str, password: str) -> str:
        """Account number with passport number / UNP (or the account password that replaced
        it): an identity claim only. Always answered with a challenge; an SMS code goes to
        the account's contact number only if the claim holds (seed 001 §1.5)."""
        now = self.clock()
        client = await self.store.client_by(account=account)
        principal = await self._principal(client)
        must_change = False
        if client is not None and client.account_password_hash is not None:
            ok = await self._verify(client.account_password_hash, password)
        else:
            await self._verify(None, password)  # the same argon2 work as a real check
            digits = client.identity_digits if client else 7
            ok = (
                client is not None
                and client.identity_digest is not None
                and len(password) == digits
                and password.isascii()
                and password.isdigit()
                and hmac.compare_digest(
                    identity_digest(self._pepper, password), client.identity_digest
                )
            )
            must_change = True
        allowed = await self._counted(f"account:{account}", bool(ok))
        return await self._challenge(
            principal if ok and allowed else None, Method.ACCOUNT, Purpose.LOGIN, must_change, now
        )

    async def start_email_login(self, email: str, password: str) -> str:
        """E-mail and password; an M-code goes to the client's single contact number at
        every login (seed 001 §1.6). Always answered with a challenge."""
        now = self.clock()
        client = await self.store.client_by(email=email) if len(email) <= 254 else None
        principal = await self._principal(client)
        ok = await self._verify(principal.password_hash if principal else None, password)
        ok = await self._counted(f"email:{email.lower()}", ok) and ok
        if not ok or client is None or principal is None:
            return await self._challenge(None, Method.EMAIL, Purpose.EMAIL_LOGIN, False, now)
        if not client.email_login_allowed:
            raise EmailLoginUnavailable
        if principal.closed_by is not None:
            raise AccessClosed(principal.closed_by)
        return await self._challenge(principal, Method.EMAIL, Purpose.EMAIL_LOGIN, False, now)

    async def _principal(self, client: Client | None) -> Subscriber | None:
        """The subscriber an account's session belongs to: its contact number if that is
        one of its subscribers, else its only subscriber."""
        if client is None:
            return None
        if client.contact_msisdn is not None:
            sub = await self.store.get_subscriber(client.contact_msisdn)
            if sub is not None and sub.client_id == client.id:
                return sub
        subs = await self.store.client_subscribers(client.id)
        return subs[0] if len(subs) == 1 else None

    async def _challenge(
        self,
        principal: Subscriber | None,
        method: str,
        purpose: Purpose,
        must_change: bool,
        now: float,
    ) -> str:
        token = secrets.token_urlsafe(32)
        if principal is None:
            return token  # a challenge nobody can answer: it was never stored
        if principal.closed_by is not None:
            raise AccessClosed(principal.closed_by)
        # Limited means a code went out moments ago and is still live: the challenge can be
        # answered with it. Saying 429 here would tell a guesser that the proof was right.
        await self.codes.request(principal.msisdn, purpose, channel=Channel.WEB)
        row = LoginChallenge(
            self._digest("challenge", token),
            principal.msisdn,
            method,
            now,
            now + CHALLENGE_TTL,
            must_change,
        )
        await self._commit(ChangeSet(challenges=(row,)))
        return token

    async def finish_login(self, challenge: str, code: str, method: str) -> NewSession:
        """The second step of an account-number or e-mail login: the code sent by SMS."""
        now = self.clock()
        row = await self.store.get_challenge(
            self._digest("challenge", challenge[:MAX_SECRET_CHARS])
        )
        if row is None or row.method != method or row.used_at is not None or now >= row.expires_at:
            raise InvalidCredentials
        purpose = Purpose.EMAIL_LOGIN if method == Method.EMAIL else Purpose.LOGIN
        if not await self.codes.verify(row.msisdn, purpose, code):
            raise InvalidCredentials

        def spend(current: Subscriber, at: float) -> ChangeSet:
            return ChangeSet(challenges=(replace(row, used_at=at),))

        return await self._open_session(row.msisdn, method, must_change=row.must_change, also=spend)

    # --- forgotten password by e-mail (seed 002) -----------------------------------------

    async def forgot_password(self, msisdn: str) -> None:
        """Send a temporary password to the client's e-mail; the same answer for everyone."""
        password = "".join(
            secrets.choice(TEMP_PASSWORD_ALPHABET) for _ in range(TEMP_PASSWORD_LENGTH)
        )
        password_hash = await self.hasher.hash(password)  # hashed for strangers too: same time

        async def attempt() -> None:
            now = self.clock()
            sub = await self.store.get_subscriber(msisdn)
            if sub is None or sub.closed_by is not None:
                return
            client = await self._client(sub)
            if client.email is None:
                return
            issued_at = (sub.temp_password_expires_at or 0) - self.temporary_password_ttl
            if sub.temp_password_hash and now - issued_at < TEMP_PASSWORD_MIN_INTERVAL:
                return
            _after, changes = issue_temporary_password(
                sub, password_hash, ttl=self.temporary_password_ttl, channel=Channel.WEB, now=now
            )
            await self._commit(changes)
            letter = temporary_password_letter(
                to=client.email,
                sender=self._mail_sender,
                msisdn=msisdn,
                password=password,
                lang=sub.lang,
                hours=round(self.temporary_password_ttl / 3600),
                portal=self._portal_url,
            )
            self.letters.submit(letter, kind="temporary_password")

        await self._retried(attempt)

    # --- sessions (seed 001 §1.9) --------------------------------------------------------

    async def context(self, token: str | None, *, allow_must_change: bool = False) -> Context:
        """The live session of ``token`` with its principal, or :class:`SessionOver`."""
        if not token or len(token) > MAX_SECRET_CHARS:
            raise SessionOver("missing")
        now = self.clock()
        session = await self.store.get_web_session(self._digest("session", token))
        if session is None:
            raise SessionOver("unknown")
        sub = await self.store.get_subscriber(session.msisdn)
        client = await self._client(sub) if sub else None
        reason = why_over(session, sub, client, now, self.times)
        if reason is not None:
            if session.ended_at is None:
                # Ended by someone else meanwhile: over either way.
                with contextlib.suppress(ConcurrentUpdate):
                    await self._commit(
                        ChangeSet(web_sessions=((session.version, ended(session, reason, now)),))
                    )
            raise SessionOver(str(reason))
        if session.must_change and not allow_must_change:
            raise PasswordChangeRequired
        assert sub is not None and client is not None  # why_over said GONE otherwise
        # Only a business client's single subscriber holds a role by default: count then.
        count = 0
        if sub.role is None and client.kind in BUSINESS_KINDS:
            count = len(await self.store.client_subscribers(client.id))
        return Context(session, sub, client, roles.effective_role(sub, client, count))

    async def _in_session(self, ctx: Context, build: Build) -> str:
        """Commit what ``build`` decides together with a versioned write of the session.

        A write conflict is looked at, not assumed: if the session has ended meanwhile the
        request is annulled (:class:`SessionOver`); if only the target row or the session's
        idle clock moved (another tab, a USSD hop), ``build`` decides again on fresh reads.
        """
        session = ctx.session

        async def attempt() -> str:
            nonlocal session
            outcome, changes = await build()
            touch = (session.version, touched(session, self.clock()))
            try:
                await self._commit(changes + ChangeSet(web_sessions=(touch,)))
            except ConcurrentUpdate:
                fresh = await self.store.get_web_session(session.digest)
                if fresh is None or fresh.ended_at is not None:
                    raise SessionOver("ended while the request was running") from None
                session = fresh
                raise  # decide again, on fresh reads, against the session as it is now
            return outcome

        return await self._retried(attempt)

    async def touch(self, ctx: Context) -> None:
        """Restart the idle clock of a session that did something."""

        async def nothing() -> tuple[str, ChangeSet]:
            return "touched", ChangeSet()

        await self._in_session(ctx, nothing)

    async def logout(self, ctx: Context) -> None:
        """End this session."""
        now = self.clock()
        entry = AuditEntry(ctx.subscriber.msisdn, "logout", ctx.subscriber.msisdn, Channel.WEB, now)
        try:
            await self._commit(
                ChangeSet(
                    audit=(entry,),
                    web_sessions=(
                        (ctx.session.version, ended(ctx.session, EndReason.LOGOUT, now)),
                    ),
                )
            )
        except ConcurrentUpdate:
            raise SessionOver("already over") from None

    async def change_password(
        self, ctx: Context, current: str | None, password: str, confirmation: str
    ) -> NewSession:
        """A new password for the credential the session was opened with; every session
        of the subscriber ends and this caller gets a new one."""
        sub, client, session = ctx.subscriber, ctx.client, ctx.session
        normalized = self._new_password_or_refuse(password, confirmation, sub.msisdn)
        account = session.method == Method.ACCOUNT
        if not session.must_change:
            held = client.account_password_hash if account else sub.password_hash
            if current is None or not await self._verify(held, current):
                raise PasswordRejected(
                    "current_password_wrong", "the current password is not right"
                )
        elif session.method == Method.TEMPORARY and sub.temp_password_hash is not None:
            if await self._verify(sub.temp_password_hash, password):
                raise PasswordRejected(
                    "password_reused", "the temporary password can't become the password"
                )
        elif (
            account
            and client.identity_digest is not None
            and hmac.compare_digest(
                identity_digest(self._pepper, normalized), client.identity_digest
            )
        ):
            raise PasswordRejected(
                "password_reused", "the passport number or UNP can't be the password"
            )
        password_hash = await self.hasher.hash(normalized)
        opened: list[NewSession] = []

        async def build() -> tuple[str, ChangeSet]:
            now = self.clock()
            sub = await self._open_account(ctx.subscriber.msisdn)
            client = await self._client(sub)
            if account:
                after_client, changes = set_account_password(
                    client, password_hash, msisdn=sub.msisdn, channel=Channel.WEB, now=now
                )
                after_sub = sub
            else:
                after_sub, changes = set_password(
                    sub, password_hash, actor=sub.msisdn, channel=Channel.WEB, now=now
                )
                after_client = client
            new, row, _entry = self._session_for(
                after_sub, after_client, session.method, must_change=False, now=now
            )
            opened[:] = [new]
            return "changed", changes + ChangeSet(web_sessions=((None, row),))

        await self._in_session(ctx, build)
        return opened[0]

    # --- roles: a client's subscribers (seed 001 §1.2) -----------------------------------

    def _require_role(self, ctx: Context) -> Role:
        if ctx.role is None:
            raise Forbidden("only the account's administrator or supervisor may do this")
        return ctx.role

    async def subscribers(self, ctx: Context) -> list[SubscriberView]:
        """The client's subscribers, for its administrator or supervisor."""
        self._require_role(ctx)
        subs = await self.store.client_subscribers(ctx.client.id)
        await self.touch(ctx)
        return [
            SubscriberView(
                s.msisdn,
                s.access_open,
                str(s.closed_by) if s.closed_by else None,
                str(r) if (r := roles.effective_role(s, ctx.client, len(subs))) else None,
                s.puk_registration,
                s.has_password,
            )
            for s in subs
        ]

    async def _target(self, ctx: Context, msisdn: str) -> Subscriber:
        self._require_role(ctx)
        target = await self.store.get_subscriber(msisdn)
        if target is None or not roles.manages(ctx.subscriber, ctx.role, target):
            raise UnknownTarget
        return target

    async def _on_target(
        self, ctx: Context, msisdn: str, decide: Callable[[Subscriber, float], Decision]
    ) -> str:
        """Decide on a subscriber of the caller's client and commit it in the session."""

        async def build() -> tuple[str, ChangeSet]:
            decision = decide(await self._target(ctx, msisdn), self.clock())
            return str(decision.outcome), decision.changes

        return await self._in_session(ctx, build)

    async def set_access(self, ctx: Context, msisdn: str, *, open_: bool) -> str:
        """Close or open a subscriber's access on the organisation's behalf (§1.2.3–1.2.4)."""
        change = access.open_access if open_ else access.close_access

        def decide(target: Subscriber, now: float) -> Decision:
            decision = change(
                target,
                by=ClosedBy.ORGANISATION,
                actor=ctx.subscriber.msisdn,
                channel=Channel.WEB,
                reason="organisation",
                now=now,
            )
            if decision.outcome == access.AccessOutcome.NOT_PERMITTED:
                raise NotPermitted(
                    "access was closed by the operator; only the operator can open it"
                )
            return decision

        return await self._on_target(ctx, msisdn, decide)

    async def grant_administrator(self, ctx: Context, msisdn: str) -> str:
        """Make another subscriber of the same client an administrator (§1.2.2)."""

        def decide(target: Subscriber, now: float) -> Decision:
            decision = roles.set_role(
                target,
                ctx.client,
                Role.ADMINISTRATOR,
                actor=ctx.subscriber.msisdn,
                channel=Channel.WEB,
                now=now,
            )
            if decision.outcome == roles.RoleOutcome.NOT_ELIGIBLE:
                raise NotPermitted(
                    "administrators exist only for legal entities and sole proprietors"
                )
            return decision

        return await self._on_target(ctx, msisdn, decide)

    async def set_puk_registration(self, ctx: Context, msisdn: str, enabled: bool) -> str:
        """The client's administrator switches "registration by PUK1" (seed 001 §1.4 names
        the administrator, not the supervisor)."""
        if ctx.role is not Role.ADMINISTRATOR:
            raise Forbidden("only the account's administrator may switch registration by PUK1")
        return await self._on_target(
            ctx,
            msisdn,
            lambda target, now: roles.set_puk_registration(
                target, enabled, actor=ctx.subscriber.msisdn, channel=Channel.WEB, now=now
            ),
        )

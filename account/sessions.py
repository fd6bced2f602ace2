"""Web sessions: opening one after a proof, reading it, keeping it alive, ending it, and
changing the password it was opened with (seed 001 §1.9, §1.11; reference/security.md).

A session's token is shown once and stored only as a keyed digest. Every change made in a
session commits together with a versioned write of the session's row, so a change never
outlives the session it was made in.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from account.errors import PasswordChangeRequired, PasswordRejected, SessionOver
from account.proofs import MAX_SECRET_CHARS, Proofs
from state import roles
from state.credentials import identity_digest
from state.errors import ConcurrentUpdate
from state.models import (
    BUSINESS_KINDS,
    AuditEntry,
    ChangeSet,
    Channel,
    Client,
    Role,
    Subscriber,
    WebSession,
)
from state.passwords import set_account_password, set_password
from state.websessions import EndReason, SessionTimes, credential_epoch, ended, touched, why_over

Build = Callable[[], Awaitable[tuple[str, ChangeSet]]]
"""Reads and decides one change made in a session: (outcome, what to commit)."""
Also = Callable[[Subscriber, float], ChangeSet]
"""What a login commits with its new session (a spent challenge or temporary password)."""


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


class Sessions:
    """Open, read, touch and end web sessions; change the session's password."""

    def __init__(self, proofs: Proofs, times: SessionTimes) -> None:
        self.proofs = proofs
        self.times = times

    def session_for(
        self, sub: Subscriber, client: Client, method: str, *, must_change: bool, now: float
    ) -> tuple[NewSession, WebSession, AuditEntry]:
        """A new session's token, its row and its audit entry (nothing committed)."""
        token = secrets.token_urlsafe(32)  # 256 bits
        row = WebSession(
            digest=self.proofs.digest("session", token),
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

    async def open_session(
        self, msisdn: str, method: str, *, must_change: bool, also: Also | None = None
    ) -> NewSession:
        """Open a session for ``msisdn`` once its proof succeeded (refused if closed)."""
        proofs = self.proofs

        async def attempt() -> NewSession:
            now = proofs.clock()
            sub = await proofs.open_account(msisdn)
            extra = also(sub, now) if also else ChangeSet()
            after = extra.subscribers[-1][1] if extra.subscribers else sub
            client = await proofs.client(after)
            new, row, entry = self.session_for(
                after, client, method, must_change=must_change, now=now
            )
            await proofs.commit(extra + ChangeSet(audit=(entry,), web_sessions=((None, row),)))
            return new

        return await proofs.retried(attempt)

    async def context(self, token: str | None, *, allow_must_change: bool = False) -> Context:
        """The live session of ``token`` with its principal, or :class:`SessionOver`."""
        if not token or len(token) > MAX_SECRET_CHARS:
            raise SessionOver("missing")
        proofs = self.proofs
        now = proofs.clock()
        session = await proofs.store.get_web_session(proofs.digest("session", token))
        if session is None:
            raise SessionOver("unknown")
        sub = await proofs.store.get_subscriber(session.msisdn)
        client = await proofs.client(sub) if sub else None
        reason = why_over(session, sub, client, now, self.times)
        if reason is not None:
            if session.ended_at is None:
                # Ended by someone else meanwhile: over either way.
                with contextlib.suppress(ConcurrentUpdate):
                    await proofs.commit(
                        ChangeSet(web_sessions=((session.version, ended(session, reason, now)),))
                    )
            raise SessionOver(str(reason))
        if session.must_change and not allow_must_change:
            raise PasswordChangeRequired
        assert sub is not None and client is not None  # why_over said GONE otherwise
        # Only a business client's single subscriber holds a role by default: count then.
        count = 0
        if sub.role is None and client.kind in BUSINESS_KINDS:
            count = len(await proofs.store.client_subscribers(client.id))
        return Context(session, sub, client, roles.effective_role(sub, client, count))

    async def in_session(self, ctx: Context, build: Build) -> str:
        """Commit what ``build`` decides together with a versioned write of the session.

        A write conflict is looked at, not assumed: if the session has ended meanwhile the
        request is annulled (:class:`SessionOver`); if only the target row or the session's
        idle clock moved (another tab, a USSD hop), ``build`` decides again on fresh reads.
        """
        proofs = self.proofs
        session = ctx.session

        async def attempt() -> str:
            nonlocal session
            outcome, changes = await build()
            touch = (session.version, touched(session, proofs.clock()))
            try:
                await proofs.commit(changes + ChangeSet(web_sessions=(touch,)))
            except ConcurrentUpdate:
                fresh = await proofs.store.get_web_session(session.digest)
                if fresh is None or fresh.ended_at is not None:
                    raise SessionOver("ended while the request was running") from None
                session = fresh
                raise  # decide again, on fresh reads, against the session as it is now
            return outcome

        return await proofs.retried(attempt)

    async def touch(self, ctx: Context) -> None:
        """Restart the idle clock of a session that did something."""

        async def nothing() -> tuple[str, ChangeSet]:
            return "touched", ChangeSet()

        await self.in_session(ctx, nothing)

    async def logout(self, ctx: Context) -> None:
        """End this session."""
        now = self.proofs.clock()
        entry = AuditEntry(ctx.subscriber.msisdn, "logout", ctx.subscriber.msisdn, Channel.WEB, now)
        ending = ended(ctx.session, EndReason.LOGOUT, now)
        try:
            await self.proofs.commit(
                ChangeSet(audit=(entry,), web_sessions=((ctx.session.version, ending),))
            )
        except ConcurrentUpdate:
            raise SessionOver("already over") from None

    async def change_password(
        self, ctx: Context, current: str | None, password: str, confirmation: str
    ) -> NewSession:
        """A new password for the credential the session was opened with; every session
        of the subscriber ends and this caller gets a new one."""
        proofs = self.proofs
        sub, client, session = ctx.subscriber, ctx.client, ctx.session
        normalized = proofs.new_password_or_refuse(password, confirmation, sub.msisdn)
        account = session.method == Method.ACCOUNT
        if not session.must_change:
            held = client.account_password_hash if account else sub.password_hash
            if current is None or not await proofs.verify(held, current):
                raise PasswordRejected(
                    "current_password_wrong", "the current password is not right"
                )
        elif session.method == Method.TEMPORARY and sub.temp_password_hash is not None:
            if await proofs.verify(sub.temp_password_hash, password):
                raise PasswordRejected(
                    "password_reused", "the temporary password can't become the password"
                )
        elif (
            account
            and client.identity_digest is not None
            and hmac.compare_digest(
                identity_digest(proofs.pepper, normalized), client.identity_digest
            )
        ):
            raise PasswordRejected(
                "password_reused", "the passport number or UNP can't be the password"
            )
        password_hash = await proofs.hasher.hash(normalized)
        opened: list[NewSession] = []

        async def build() -> tuple[str, ChangeSet]:
            now = proofs.clock()
            sub = await proofs.open_account(ctx.subscriber.msisdn)
            client = await proofs.client(sub)
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
            new, row, _entry = self.session_for(
                after_sub, after_client, session.method, must_change=False, now=now
            )
            opened[:] = [new]
            return "changed", changes + ChangeSet(web_sessions=((None, row),))

        await self.in_session(ctx, build)
        return opened[0]

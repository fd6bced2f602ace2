"""The four logins: number and password, number and SMS code, account number with passport
number / UNP, e-mail and password; the last two answer with a challenge that an SMS code
finishes (seed 000, 001 §1.3–1.6, 002; reference/security.md).

Uniformity: every failed login is one :class:`InvalidCredentials` after the same work (one
argon2 verification per password typed, against a dummy hash when there is nothing real;
see ``account/proofs.py``). The two-step logins always answer with a challenge, one nobody
can answer when the claim failed, so the first step tells nobody whether it held.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from dataclasses import replace

from account.codes import Purpose
from account.errors import AccessClosed, EmailLoginUnavailable, InvalidCredentials
from account.proofs import MAX_SECRET_CHARS, Proofs
from account.sessions import Method, NewSession, Sessions
from state.credentials import identity_digest
from state.models import ChangeSet, Channel, Client, LoginChallenge, Subscriber
from state.passwords import use_temporary_password

CHALLENGE_TTL = 300.0
"""5 minutes to answer a challenge: as long as the SMS code it waits for lives."""
MAX_EMAIL_CHARS = 254
"""The longest address SMTP carries (RFC 5321 path limit); longer ones are never looked up."""


class Login:
    """Every login; each opens a session only after its proof succeeded."""

    def __init__(self, proofs: Proofs, sessions: Sessions) -> None:
        self.proofs = proofs
        self.sessions = sessions

    async def login_by_password(self, msisdn: str, password: str) -> NewSession:
        """Permanent password, or the e-mailed temporary one (then a change is forced)."""
        proofs = self.proofs
        now = proofs.clock()
        sub = await proofs.store.get_subscriber(msisdn)
        permanent = sub.password_hash if sub else None
        temporary = None
        if sub and sub.temporary_password_live(now):
            temporary = sub.temp_password_hash
        # Two verifications, always, side by side: the work never depends on what exists.
        ok_permanent, ok_temporary = await asyncio.gather(
            proofs.verify(permanent, password), proofs.verify(temporary, password)
        )
        allowed = await proofs.counted(f"password:{msisdn}", ok_permanent or ok_temporary)
        if sub is None or not allowed or not (ok_permanent or ok_temporary):
            raise InvalidCredentials
        if ok_permanent:
            return await self.sessions.open_session(msisdn, Method.PASSWORD, must_change=False)

        def spend(current: Subscriber, at: float) -> ChangeSet:
            if current.temp_password_hash != temporary or not current.temporary_password_live(at):
                raise InvalidCredentials  # spent or replaced meanwhile
            return use_temporary_password(current, channel=Channel.WEB, now=at)[1]

        return await self.sessions.open_session(
            msisdn, Method.TEMPORARY, must_change=True, also=spend
        )

    async def login_by_sms(self, msisdn: str, code: str) -> NewSession:
        """A one-time login code; the permanent password stays as it is (seed 001 §1.3)."""
        if not await self.proofs.codes.verify(msisdn, Purpose.LOGIN, code):
            raise InvalidCredentials
        return await self.sessions.open_session(msisdn, Method.SMS, must_change=False)

    async def start_account_login(self, account: str, password: str) -> str:
        """Account number with passport number / UNP (or the account password that replaced
        it): an identity claim only. Always answered with a challenge; an SMS code goes to
        the account's contact number only if the claim holds (seed 001 §1.5)."""
        proofs = self.proofs
        now = proofs.clock()
        client = await proofs.store.client_by(account=account)
        principal = await self._principal(client)
        must_change = False
        if client is not None and client.account_password_hash is not None:
            ok = await proofs.verify(client.account_password_hash, password)
        else:
            await proofs.verify(None, password)  # the same argon2 work as a real check
            # A passport number has 7 digits: strangers are measured against that.
            digits = client.identity_digits if client else 7
            ok = (
                client is not None
                and client.identity_digest is not None
                and len(password) == digits
                and password.isascii()
                and password.isdigit()
                and hmac.compare_digest(
                    identity_digest(proofs.pepper, password), client.identity_digest
                )
            )
            must_change = True
        allowed = await proofs.counted(f"account:{account}", bool(ok))
        return await self._challenge(
            principal if ok and allowed else None, Method.ACCOUNT, Purpose.LOGIN, must_change, now
        )

    async def start_email_login(self, email: str, password: str) -> str:
        """E-mail and password; an M-code goes to the client's single contact number at
        every login (seed 001 §1.6). Always answered with a challenge."""
        proofs = self.proofs
        now = proofs.clock()
        too_long = len(email) > MAX_EMAIL_CHARS
        client = None if too_long else await proofs.store.client_by(email=email)
        principal = await self._principal(client)
        ok = await proofs.verify(principal.password_hash if principal else None, password)
        ok = await proofs.counted(f"email:{email.lower()}", ok) and ok
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
        store = self.proofs.store
        if client.contact_msisdn is not None:
            sub = await store.get_subscriber(client.contact_msisdn)
            if sub is not None and sub.client_id == client.id:
                return sub
        subs = await store.client_subscribers(client.id)
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
        await self.proofs.codes.request(principal.msisdn, purpose, channel=Channel.WEB)
        row = LoginChallenge(
            self.proofs.digest("challenge", token),
            principal.msisdn,
            method,
            now,
            now + CHALLENGE_TTL,
            must_change,
        )
        await self.proofs.commit(ChangeSet(challenges=(row,)))
        return token

    async def finish_login(self, challenge: str, code: str, method: str) -> NewSession:
        """The second step of an account-number or e-mail login: the code sent by SMS."""
        proofs = self.proofs
        now = proofs.clock()
        row = await proofs.store.get_challenge(
            proofs.digest("challenge", challenge[:MAX_SECRET_CHARS])
        )
        if row is None or row.method != method or row.used_at is not None or now >= row.expires_at:
            raise InvalidCredentials
        purpose = Purpose.EMAIL_LOGIN if method == Method.EMAIL else Purpose.LOGIN
        if not await proofs.codes.verify(row.msisdn, purpose, code):
            raise InvalidCredentials

        def spend(current: Subscriber, at: float) -> ChangeSet:
            return ChangeSet(challenges=(replace(row, used_at=at),))

        return await self.sessions.open_session(
            row.msisdn, method, must_change=row.must_change, also=spend
        )

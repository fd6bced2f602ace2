"""The account front door: every way into the self-service account, and what a session may do.

Seeds 000, 001 §1–1.13, 002, 003 §1; reference/security.md. The shared core decides
(``state/passwords.py``, ``state/access.py``, ``state/roles.py``, ``state/websessions.py``);
the use cases read, hash off the loop, ask the code service and commit, one module per
family:

- ``account/proofs.py``: what they share — one argon2 verification always, the counted
  guard, the new-password check, opening the account after a proof (the uniformity rule:
  every failed login is one :class:`InvalidCredentials` after the same work);
- ``account/registration.py``: the first password, by SMS code or PUK1;
- ``account/login.py``: the four logins and their challenges;
- ``account/recovery.py``: a temporary password by e-mail;
- ``account/sessions.py``: web sessions and the password change;
- ``account/clients.py``: a client's administration by its administrator or supervisor.

:class:`FrontDoor` builds them on one store, hasher, pepper and clock and hands each call
to the one that holds it; callers (the HTTP layer) see only this module: the facade and the
types it re-exports (:class:`Method`, :class:`NewSession`, :class:`Context`,
:class:`SubscriberView`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from account.clients import Clients, SubscriberView
from account.codes import CodeService
from account.login import Login
from account.mail import LetterQueue
from account.proofs import Proofs
from account.recovery import TEMPORARY_PASSWORD_TTL, Recovery
from account.registration import Registration
from account.sessions import Context, Method, NewSession, Sessions
from state.credentials import PasswordHasher, Pepper
from state.store import AccountStore
from state.websessions import SessionTimes

__all__ = ["Context", "FrontDoor", "Method", "NewSession", "SubscriberView"]


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
        temporary_password_ttl: float = TEMPORARY_PASSWORD_TTL,
        mail_sender: str = "noreply@example.by",
        portal_url: str = "https://my.example.by",
        lock_alert: Callable[[str], str] = lambda _lang: "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        proofs = Proofs(store, codes, hasher, pepper, clock=clock)
        sessions = Sessions(proofs, times or SessionTimes())
        self._proofs = proofs
        self._sessions = sessions
        self._registration = Registration(proofs, lock_alert)
        self._login = Login(proofs, sessions)
        self._recovery = Recovery(
            proofs,
            letters,
            ttl=temporary_password_ttl,
            mail_sender=mail_sender,
            portal_url=portal_url,
        )
        self._clients = Clients(proofs, sessions)

    # --- what it was built with (read-only: the use cases hold the same objects) ---------

    @property
    def store(self) -> AccountStore:
        return self._proofs.store

    @property
    def codes(self) -> CodeService:
        return self._proofs.codes

    @property
    def hasher(self) -> PasswordHasher:
        return self._proofs.hasher

    @property
    def clock(self) -> Callable[[], float]:
        return self._proofs.clock

    @property
    def times(self) -> SessionTimes:
        return self._sessions.times

    @property
    def letters(self) -> LetterQueue:
        return self._recovery.letters

    @property
    def temporary_password_ttl(self) -> float:
        return self._recovery.ttl

    # --- registration (seed 000, 001 §1.4) -----------------------------------------------

    async def register_by_sms(
        self, msisdn: str, code: str, password: str, confirmation: str
    ) -> None:
        """See :meth:`Registration.register_by_sms`."""
        await self._registration.register_by_sms(msisdn, code, password, confirmation)

    async def register_by_puk(
        self, msisdn: str, puk: str, password: str, confirmation: str
    ) -> None:
        """See :meth:`Registration.register_by_puk`."""
        await self._registration.register_by_puk(msisdn, puk, password, confirmation)

    # --- login (seed 000, 001 §1.3–1.6, 002) ---------------------------------------------

    async def login_by_password(self, msisdn: str, password: str) -> NewSession:
        """See :meth:`Login.login_by_password`."""
        return await self._login.login_by_password(msisdn, password)

    async def login_by_sms(self, msisdn: str, code: str) -> NewSession:
        """See :meth:`Login.login_by_sms`."""
        return await self._login.login_by_sms(msisdn, code)

    async def start_account_login(self, account: str, password: str) -> str:
        """See :meth:`Login.start_account_login`."""
        return await self._login.start_account_login(account, password)

    async def start_email_login(self, email: str, password: str) -> str:
        """See :meth:`Login.start_email_login`."""
        return await self._login.start_email_login(email, password)

    async def finish_login(self, challenge: str, code: str, method: str) -> NewSession:
        """See :meth:`Login.finish_login`."""
        return await self._login.finish_login(challenge, code, method)

    # --- forgotten password by e-mail (seed 002) -----------------------------------------

    async def forgot_password(self, msisdn: str) -> None:
        """See :meth:`Recovery.forgot_password`."""
        await self._recovery.forgot_password(msisdn)

    # --- sessions (seed 001 §1.9) --------------------------------------------------------

    async def context(self, token: str | None, *, allow_must_change: bool = False) -> Context:
        """See :meth:`Sessions.context`."""
        return await self._sessions.context(token, allow_must_change=allow_must_change)

    async def touch(self, ctx: Context) -> None:
        """See :meth:`Sessions.touch`."""
        await self._sessions.touch(ctx)

    async def logout(self, ctx: Context) -> None:
        """See :meth:`Sessions.logout`."""
        await self._sessions.logout(ctx)

    async def change_password(
        self, ctx: Context, current: str | None, password: str, confirmation: str
    ) -> NewSession:
        """See :meth:`Sessions.change_password`."""
        return await self._sessions.change_password(ctx, current, password, confirmation)

    # --- roles: a client's subscribers (seed 001 §1.2) -----------------------------------

    async def subscribers(self, ctx: Context) -> list[SubscriberView]:
        """See :meth:`Clients.subscribers`."""
        return await self._clients.subscribers(ctx)

    async def set_access(self, ctx: Context, msisdn: str, *, open_: bool) -> str:
        """See :meth:`Clients.set_access`."""
        return await self._clients.set_access(ctx, msisdn, open_=open_)

    async def grant_administrator(self, ctx: Context, msisdn: str) -> str:
        """See :meth:`Clients.grant_administrator`."""
        return await self._clients.grant_administrator(ctx, msisdn)

    async def set_puk_registration(self, ctx: Context, msisdn: str, enabled: bool) -> str:
        """See :meth:`Clients.set_puk_registration`."""
        return await self._clients.set_puk_registration(ctx, msisdn, enabled)

"""Registration: the first permanent password, proven by a registration code sent by SMS or
by the SIM's PUK1 (seed 000, 001 §1.4; reference/security.md).

The new password is checked against the policy before the proof is looked at, so a
refused password costs no code try and no PUK1 try; a failed proof is one
:class:`InvalidCredentials`, whatever failed (see ``account/proofs.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from account.codes import Purpose
from account.errors import InvalidCredentials, PukRegistrationDisabled
from account.proofs import MAX_SECRET_CHARS, Proofs
from state import access
from state.access import PukOutcome
from state.models import AuditEntry, ChangeSet, Channel
from state.passwords import set_password


class Registration:
    """Set the permanent password with a registration code or with PUK1."""

    def __init__(self, proofs: Proofs, lock_alert: Callable[[str], str]) -> None:
        self.proofs = proofs
        self._lock_alert = lock_alert

    async def register_by_sms(
        self, msisdn: str, code: str, password: str, confirmation: str
    ) -> None:
        """Set the permanent password with a registration code sent by SMS."""
        normalized = self.proofs.new_password_or_refuse(password, confirmation, msisdn)
        if not await self.proofs.codes.verify(msisdn, Purpose.REGISTER, code):
            raise InvalidCredentials
        await self._register(msisdn, normalized, "sms")

    async def register_by_puk(
        self, msisdn: str, puk: str, password: str, confirmation: str
    ) -> None:
        """Set the permanent password with the SIM's PUK1 (needs the option, seed 001 §1.4)."""
        proofs = self.proofs
        normalized = proofs.new_password_or_refuse(password, confirmation, msisdn)

        async def attempt() -> None:
            now = proofs.clock()
            sub = await proofs.store.get_subscriber(msisdn)
            if sub is None:
                # The same work as a real comparison, against 32 zero bytes (an HMAC-SHA-256).
                proofs.pepper.matches(puk, bytes(32))
                raise InvalidCredentials
            decision = access.check_puk(
                sub,
                puk[:MAX_SECRET_CHARS],
                pepper=proofs.pepper,
                channel=Channel.WEB,
                now=now,
                lock_alert=self._lock_alert(sub.lang),
            )
            await proofs.commit(decision.changes)
            if decision.outcome is not PukOutcome.ACCEPTED:
                # Locked, or wrong (counted towards the same lock as *141*3*6#).
                raise InvalidCredentials
            if not sub.puk_registration:
                raise PukRegistrationDisabled

        await proofs.retried(attempt)
        await self._register(msisdn, normalized, "puk1")

    async def _register(self, msisdn: str, normalized: str, proof: str) -> None:
        proofs = self.proofs
        password_hash = await proofs.hasher.hash(normalized)

        async def attempt() -> None:
            now = proofs.clock()
            sub = await proofs.open_account(msisdn)
            _after, changes = set_password(
                sub, password_hash, actor="subscriber", channel=Channel.WEB, now=now
            )
            entry = AuditEntry(
                msisdn, "registered", "subscriber", Channel.WEB, now, {"proof": proof}
            )
            await proofs.commit(changes + ChangeSet(audit=(entry,)))

        await proofs.retried(attempt)

"""A forgotten password: a temporary one by e-mail to the client's address (seed 002;
reference/security.md).

The answer is the same for everyone — a stranger, a closed account, a client without an
e-mail address, a second request within the minute — and so is the work: the temporary
password is drawn and hashed before anything is read. It logs in once and forces a change
(``account/login.py``, ``account/sessions.py``).
"""

from __future__ import annotations

import secrets
import string

from account.letters import temporary_password_letter
from account.mail import LetterQueue
from account.proofs import Proofs
from state.models import Channel
from state.passwords import issue_temporary_password

TEMPORARY_PASSWORD_TTL = 24 * 3600.0
"""24 hours: what seed 002's letter promises ("действителен в течение 24 часов") and the most
reference/security.md allows for an e-mailed secret (≤ 24 h, ASVS 6.4.1). The setting
``temporary_password_hours`` may change it; the letter states the figure in force."""
TEMP_PASSWORD_ALPHABET = string.ascii_letters + string.digits
TEMP_PASSWORD_LENGTH = 12
"""12 characters of 62: about 71 bits, plenty for a secret that lives 24 hours."""
TEMP_PASSWORD_MIN_INTERVAL = 60.0
"""At most one temporary-password letter a minute per number (no mail flooding)."""


class Recovery:
    """Send a temporary password to the client's e-mail address."""

    def __init__(
        self,
        proofs: Proofs,
        letters: LetterQueue,
        *,
        ttl: float = TEMPORARY_PASSWORD_TTL,
        mail_sender: str,
        portal_url: str,
    ) -> None:
        self.proofs = proofs
        self.letters = letters
        self.ttl = ttl
        self._mail_sender = mail_sender
        self._portal_url = portal_url

    async def forgot_password(self, msisdn: str) -> None:
        """Send a temporary password to the client's e-mail; the same answer for everyone."""
        proofs = self.proofs
        password = "".join(
            secrets.choice(TEMP_PASSWORD_ALPHABET) for _ in range(TEMP_PASSWORD_LENGTH)
        )
        password_hash = await proofs.hasher.hash(password)  # hashed for strangers too: same time

        async def attempt() -> None:
            now = proofs.clock()
            sub = await proofs.store.get_subscriber(msisdn)
            if sub is None or sub.closed_by is not None:
                return
            client = await proofs.client(sub)
            if client.email is None:
                return
            issued_at = (sub.temp_password_expires_at or 0) - self.ttl
            if sub.temp_password_hash and now - issued_at < TEMP_PASSWORD_MIN_INTERVAL:
                return
            _after, changes = issue_temporary_password(
                sub, password_hash, ttl=self.ttl, channel=Channel.WEB, now=now
            )
            await proofs.commit(changes)
            letter = temporary_password_letter(
                to=client.email,
                sender=self._mail_sender,
                msisdn=msisdn,
                password=password,
                lang=sub.lang,
                hours=round(self.ttl / 3600),
                portal=self._portal_url,
            )
            self.letters.submit(letter, kind="temporary_password")

        await proofs.retried(attempt)

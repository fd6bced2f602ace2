"""E-mail by SMTP (aiosmtplib): the account's mail port with the configured relay."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from account.mail import MailNotSent
from ussd_gateway.config import AccountSettings


@dataclass(frozen=True)
class SmtpMailer:
    """SMTP delivery with the configured relay (STARTTLS, implicit TLS and AUTH optional)."""

    settings: AccountSettings

    async def send(self, message: EmailMessage) -> None:
        """Deliver ``message``, or :class:`MailNotSent` (``OSError``/``TimeoutError`` for
        the network)."""
        s = self.settings
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username or None,
                password=s.smtp_password.reveal() if s.smtp_password else None,
                start_tls=s.smtp_starttls,
                use_tls=s.smtp_tls,
                timeout=s.smtp_timeout,
            )
        except aiosmtplib.SMTPException as exc:
            raise MailNotSent(type(exc).__name__) from exc

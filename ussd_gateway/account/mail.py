"""E-mail out: the temporary password letter (seed 002), sent by SMTP with aiosmtplib.

The letter necessarily carries the temporary password; it is built here and handed to
the SMTP client, and never logged. Sending happens after the temporary password is
committed, in the background, with a few retries: the API's answer must not depend on
whether the number exists (so not on whether a letter was sent either).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

import aiosmtplib
import structlog

from ussd_gateway.config import AccountSettings

log = structlog.get_logger("ussd_gateway.mail")

RETRY_DELAYS = (1.0, 5.0, 30.0)


class Mailer(Protocol):
    """Something that delivers an e-mail or raises."""

    async def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class SmtpMailer:
    """SMTP delivery with the configured relay (STARTTLS, implicit TLS and AUTH optional)."""

    settings: AccountSettings

    async def send(self, message: EmailMessage) -> None:
        s = self.settings
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


_TEXT = {
    "ru": (
        "Восстановление данных для доступа в Личный кабинет",
        "Вы отправили запрос на сброс пароля. Для входа в Личный кабинет используйте данные:\n"
        "Номер телефона: {msisdn}\n"
        "Временный пароль: {password}\n"
        "Временный пароль действует {hours} ч и только для одного входа. "
        "Измените его на новый при первом входе в систему.\n\n"
        "Перейти в Личный кабинет: {portal}\n",
    ),
    "en": (
        "Restoring access to your self-service account",
        "You asked to reset your password. To log in to your self-service account use:\n"
        "Phone number: {msisdn}\n"
        "Temporary password: {password}\n"
        "The temporary password is valid for {hours} h and for one login only. "
        "Change it to a new one when you first log in.\n\n"
        "Go to your account: {portal}\n",
    ),
}


def temporary_password_letter(
    *,
    to: str,
    sender: str,
    msisdn: str,
    password: str,
    lang: str,
    hours: int,
    portal: str,
) -> EmailMessage:
    """The letter of seed 002, in the subscriber's language."""
    subject, body = _TEXT.get(lang, _TEXT["ru"])
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="ussd-gateway")
    message.set_content(body.format(msisdn=msisdn, password=password, hours=hours, portal=portal))
    return message


class LetterQueue:
    """Background delivery with retries; ``drain`` waits for what is in flight."""

    def __init__(self, mailer: Mailer, delays: tuple[float, ...] = RETRY_DELAYS) -> None:
        self._mailer = mailer
        self._delays = delays
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, message: EmailMessage, *, kind: str) -> None:
        """Deliver ``message`` in the background."""
        task = asyncio.create_task(self._deliver(message, kind))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, message: EmailMessage, kind: str) -> None:
        for attempt, delay in enumerate((0.0, *self._delays), start=1):
            await asyncio.sleep(delay)
            try:
                await self._mailer.send(message)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                log.warning("mail_failed", kind=kind, attempt=attempt, error=type(exc).__name__)
                continue
            log.info("mail_sent", kind=kind, attempt=attempt)
            return
        log.error("mail_given_up", kind=kind)

    async def drain(self, wait_seconds: float = 10.0) -> None:
        """Wait for letters in flight (at shutdown), then stop trying."""
        pending = set(self._tasks)
        if not pending:
            return
        _done, late = await asyncio.wait(pending, timeout=wait_seconds)
        for task in late:
            task.cancel()

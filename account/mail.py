"""The mail port: what the account needs of e-mail, and background delivery with retries.

Sending happens after what the letter announces is committed, in the background, with a
few retries: the API's answer must not depend on whether the number exists (so not on
whether a letter was sent either). The SMTP adapter is the service's
(``ussd_gateway/smtp.py``). Each attempt's result goes to a
:class:`~account.counters.MailCounters` (the service's metrics and its readiness check:
whether the relay took the last letter).
"""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from typing import Protocol

import structlog

from account.counters import NO_COUNTERS, MailCounters

log = structlog.get_logger("ussd_gateway.mail")

RETRY_DELAYS = (1.0, 5.0, 30.0)
"""Seconds before each retry: a relay's brief outage, then a restart, then give up."""


class MailNotSent(Exception):
    """The relay refused or failed the letter (its own error's class is the cause)."""


class Mailer(Protocol):
    """Something that delivers an e-mail, or raises :class:`MailNotSent`, ``OSError`` or
    ``TimeoutError``."""

    async def send(self, message: EmailMessage) -> None: ...


class LetterQueue:
    """Background delivery with retries; ``drain`` waits for what is in flight."""

    def __init__(
        self,
        mailer: Mailer,
        delays: tuple[float, ...] = RETRY_DELAYS,
        *,
        counters: MailCounters = NO_COUNTERS,
    ) -> None:
        self._mailer = mailer
        self._delays = delays
        self._counters = counters
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
            except (MailNotSent, OSError, TimeoutError) as exc:
                error = _cause(exc)
                self._counters.mail_attempted(kind, delivered=False, error=error)
                log.warning("mail_failed", kind=kind, attempt=attempt, error=error)
                continue
            self._counters.mail_attempted(kind, delivered=True, error="")
            log.info("mail_sent", kind=kind, attempt=attempt)
            return
        self._counters.mail_given_up(kind)
        log.error("mail_given_up", kind=kind)

    async def drain(self, wait_seconds: float = 10.0) -> None:
        """Wait for letters in flight (at shutdown), then stop trying."""
        pending = set(self._tasks)
        if not pending:
            return
        _done, late = await asyncio.wait(pending, timeout=wait_seconds)
        for task in late:
            task.cancel()


def _cause(exc: BaseException) -> str:
    """The failure's class name (the relay's, for a :class:`MailNotSent`), never its text."""
    inner = exc.__cause__ if isinstance(exc, MailNotSent) and exc.__cause__ else exc
    return type(inner).__name__

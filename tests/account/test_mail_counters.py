"""The mail queue tells its counters about every attempt, and about a letter given up."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage

from account.mail import LetterQueue, MailNotSent


@dataclass
class Relay:
    """Refuses the first ``refusals`` letters, then takes them."""

    refusals: int
    taken: list[EmailMessage] = field(default_factory=list)

    async def send(self, message: EmailMessage) -> None:
        if self.refusals:
            self.refusals -= 1
            raise MailNotSent("refused") from ConnectionRefusedError()
        self.taken.append(message)


@dataclass
class Counted:
    attempts: list[tuple[str, bool, str]] = field(default_factory=list)
    given_up: list[str] = field(default_factory=list)

    def mail_attempted(self, kind: str, *, delivered: bool, error: str) -> None:
        self.attempts.append((kind, delivered, error))

    def mail_given_up(self, kind: str) -> None:
        self.given_up.append(kind)


async def test_attempts_and_given_up_letters_are_counted() -> None:
    counted = Counted()
    queue = LetterQueue(Relay(refusals=1), delays=(0.0,), counters=counted)
    queue.submit(EmailMessage(), kind="temporary_password")
    await queue.drain()
    assert counted.attempts == [
        ("temporary_password", False, "ConnectionRefusedError"),
        ("temporary_password", True, ""),
    ]
    refusing = LetterQueue(Relay(refusals=5), delays=(0.0,), counters=counted)
    refusing.submit(EmailMessage(), kind="temporary_password")
    await refusing.drain()
    assert counted.given_up == ["temporary_password"]
    assert len(counted.attempts) == 4

"""What every sender promises, and the settings they are built from.

A sender hands one SMS to a provider and says what happened; it never raises for a
provider's or the network's failure, it returns a :class:`SendResult` the outbox worker
turns into ``sent``, a retry, or ``failed``. A sender never logs: the worker logs one line
per send, without the text. ``detail`` is safe to log and store: a status and a short
reply line, with the text and the password cut out should a provider echo them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiohttp

DETAIL_CHARS = 80
"""The longest provider reply kept in ``SendResult.detail``."""


@dataclass(frozen=True, slots=True)
class SendResult:
    """How one send went."""

    accepted: bool
    """The provider took the message (it may still fail to deliver: see delivery reports)."""
    provider_ref: str | None = None
    """The provider's id of the message, when it gives one (Jasmin's uuid)."""
    retryable: bool = False
    """Not accepted, but trying again later may work (5xx, timeout, connection refused)."""
    detail: str = ""
    """A short, loggable reason: never the text, never a credential."""


class Sender(Protocol):
    """Hands SMS to a provider."""

    async def send(self, msisdn: str, text: str, *, message_id: int) -> SendResult:
        """Send ``text`` to ``msisdn`` (digits, country code first, no ``+``).

        ``message_id`` is the outbox id: it goes into the delivery-report URL.
        """
        ...


class SecretValue(Protocol):
    """A configured secret (``ussd_gateway.config.Secret``): revealed only to be used."""

    def reveal(self) -> str:
        """The value."""
        ...


class SenderSettings(Protocol):
    """The settings a sender is built from (``ussd_gateway.config.SmsSettings`` has them).

    A protocol rather than the class itself: ``sms`` does not import the gateway.
    """

    @property
    def sender(self) -> str:
        """``file``, ``kannel`` or ``jasmin``."""
        ...

    @property
    def sender_id(self) -> str:
        """The ``from`` of MT messages."""
        ...

    @property
    def outbox_file(self) -> Path:
        """Where the file sender appends."""
        ...

    @property
    def kannel_sendsms_url(self) -> str:
        """Kannel smsbox's ``cgi-bin/sendsms``."""
        ...

    @property
    def kannel_username(self) -> str:
        """The ``sendsms-user`` name."""
        ...

    @property
    def kannel_password(self) -> SecretValue | None:
        """The ``sendsms-user`` password."""
        ...

    @property
    def jasmin_send_url(self) -> str:
        """Jasmin's HTTP API ``/send``."""
        ...

    @property
    def jasmin_username(self) -> str:
        """The Jasmin user."""
        ...

    @property
    def jasmin_password(self) -> SecretValue | None:
        """The Jasmin user's password."""
        ...

    @property
    def dlr_url(self) -> str | None:
        """The gateway's ``/sms/dlr`` as the provider can reach it; None: no reports."""
        ...

    @property
    def mo_secret(self) -> SecretValue | None:
        """The token the provider presents when calling back (``?token=``)."""
        ...


def international(msisdn: str) -> str:
    """``msisdn`` with a leading ``+`` (Kannel's ``to``)."""
    return msisdn if msisdn.startswith("+") else "+" + msisdn


def digits(msisdn: str) -> str:
    """``msisdn`` without a leading ``+``."""
    return msisdn.removeprefix("+")


def with_query(url: str, query: str) -> str:
    """``url`` with ``query`` (already encoded) appended to any query it has."""
    return f"{url}{'&' if '?' in url else '?'}{query}"


def safe_detail(status: int | None, reply: str, *hide: str) -> str:
    """A loggable summary of a provider's reply: its status and first line, shortened,
    with every value in ``hide`` (the text, the password) cut out."""
    line = reply.strip().splitlines()[0] if reply.strip() else ""
    for value in hide:
        if value:
            line = line.replace(value, "[hidden]")
    line = line[:DETAIL_CHARS]
    prefix = f"http {status}" if status is not None else "reply"
    return f"{prefix}: {line}" if line else prefix


DEFAULT_TIMEOUT = 10.0
"""Seconds an SMSC gets to accept one message."""


class HttpSender:
    """What the HTTP senders (Kannel, Jasmin) hold: the endpoint, credentials, DLR target."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        url: str,
        username: str,
        password: str,
        sender_id: str,
        dlr_url: str | None = None,
        dlr_token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._http = http
        self._url = url
        self._username = username
        self._password = password
        self._sender_id = sender_id
        self._dlr_url = dlr_url
        self._dlr_token = dlr_token
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def __repr__(self) -> str:
        # Never the password.
        return f"{type(self).__name__}(url={self._url!r}, username={self._username!r})"

"""Senders of MT messages: Kannel, Jasmin, and a file for development.

:func:`build_sender` picks one from the SMS settings; the outbox worker
(``sms/outbox.py``) is the only caller of :meth:`Sender.send`.
"""

from __future__ import annotations

import aiohttp

from sms.senders.base import SecretValue, Sender, SenderSettings, SendResult
from sms.senders.file import FileSender
from sms.senders.jasmin import JasminSender
from sms.senders.kannel import KannelSender

__all__ = [
    "FileSender",
    "JasminSender",
    "KannelSender",
    "SecretValue",
    "SendResult",
    "Sender",
    "SenderSettings",
    "build_sender",
]


def _reveal(secret: SecretValue | None) -> str:
    return secret.reveal() if secret is not None else ""


def build_sender(settings: SenderSettings, http: aiohttp.ClientSession) -> Sender:
    """The sender ``settings.sender`` names, sending through ``http``.

    Raises:
        ValueError: an unknown sender name.
    """
    token = settings.mo_secret.reveal() if settings.mo_secret is not None else None
    if settings.sender == "file":
        return FileSender(settings.outbox_file, sender_id=settings.sender_id)
    if settings.sender == "kannel":
        return KannelSender(
            http,
            url=settings.kannel_sendsms_url,
            username=settings.kannel_username,
            password=_reveal(settings.kannel_password),
            sender_id=settings.sender_id,
            dlr_url=settings.dlr_url,
            dlr_token=token,
        )
    if settings.sender == "jasmin":
        return JasminSender(
            http,
            url=settings.jasmin_send_url,
            username=settings.jasmin_username,
            password=_reveal(settings.jasmin_password),
            sender_id=settings.sender_id,
            dlr_url=settings.dlr_url,
            dlr_token=token,
        )
    raise ValueError(f"unknown SMS sender {settings.sender!r}")

"""A development mailbox: an aiosmtpd handler that prints each letter decoded.

``make run`` starts ``python -m aiosmtpd -n -l 127.0.0.1:8025 -c simulators.mailbox.PrintLetters``
so a newcomer reads the temporary-password letters in plain text (aiosmtpd's own debugging
handler prints them base64-encoded).
"""

from __future__ import annotations

import sys
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any


class PrintLetters:
    """Print every letter received: From, To, Subject and the text, decoded."""

    # The name is aiosmtpd's hook.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        letter = message_from_bytes(envelope.original_content or envelope.content, policy=default)
        print(render(letter), flush=True, file=sys.stdout)
        return "250 OK"


def render(letter: Any) -> str:
    """A letter as the console shows it."""
    body = letter.get_body(preferencelist=("plain",)) if isinstance(letter, EmailMessage) else None
    text = body.get_content() if body is not None else letter.get_payload()
    return (
        f"--- e-mail from {letter['From']} to {letter['To']}\n"
        f"Subject: {letter['Subject']}\n\n{str(text).rstrip()}\n---"
    )
